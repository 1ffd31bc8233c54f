"""Benchmarks of the cockpit, run with `python -m bench [NAME] [OPTIONS]`.

Each benchmark is a function registered in `bench.__main__.BENCHMARKS`; it parses
its own options, runs bounded in count and time, and writes its own section of
`bench/RESULTS.md` (see `bench.results.write_section`).
"""
