"""A tiny run of each benchmark: the harness starts real servers, loads them and reports.

These prove the benchmarks work; they assert nothing about speed.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, ON_DEMAND, main
from bench.load import no_collector_pauses, percentile
from bench.memory import Readings
from bench.results import write_section
from bench.soak import slope_per_hour
from bench.webhook import Options, run
from tests.requirements import postgres_url

TINY = ["--runs", "1", "--requests", "10", "--concurrency", "2", "--rate", "20"]
TINY += ["--seconds", "0.5", "--warmup", "2", "--senders", "2"]


@pytest.mark.slow
def test_webhook_benchmark_runs_on_sqlite_and_writes_only_its_section(tmp_path: Path) -> None:
    """`python -m bench webhook` measures relay and bare endpoint and rewrites its own section."""
    out = tmp_path / "RESULTS.md"
    out.write_text("# Results\n\n<!-- bench:other -->\nkept\n<!-- /bench:other -->\n")
    status = main(["webhook", *TINY, "--databases", "sqlite", "--output", str(out)])
    text = out.read_text()
    assert status == 0
    assert "kept" in text
    assert "| throughput, 2 in flight (req/s) |" in text
    assert "failed requests (not 200), all runs and phases: 0;" in text


@pytest.mark.slow
@pytest.mark.postgres
def test_webhook_benchmark_answers_every_request_on_postgres() -> None:
    """On PostgreSQL, every webhook sent to either server is answered 200 in each phase."""
    opts = Options(
        runs=1, requests=10, concurrency=2, rate=20, seconds=0.5, warmup=2, senders=2,
        databases=("postgres",), postgres_url=postgres_url(), output=None,
    )  # fmt: skip
    (result,) = run(opts)
    assert result.skipped is None
    phases = [*result.runs[0].throughput.values(), *result.runs[0].latency.values()]
    assert [(s.ok, s.failed) for s in phases] == [(10, 0)] * 4


def test_runner_knows_the_webhook_benchmark_and_refuses_unknown_names() -> None:
    """`python -m bench` lists its benchmarks and fails on a name it does not know."""
    assert "webhook" in BENCHMARKS
    assert main(["--list"]) == 0
    assert main(["no-such-benchmark"]) == 2


def test_percentile_is_nearest_rank() -> None:
    """The p50 and p99 of 1..100 ms are 50 and 99 ms, and an empty sample reads 0."""
    values = [i / 1000 for i in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile([], 99)) == (
        0.05,
        0.099,
        0.0,
    )


def test_results_section_is_replaced_in_place(tmp_path: Path) -> None:
    """Writing a benchmark's section twice keeps one copy, the newest, and other sections."""
    out = tmp_path / "RESULTS.md"
    write_section(out, "a", "first")
    write_section(out, "b", "other")
    write_section(out, "a", "second")
    text = out.read_text()
    assert (text.count("second"), text.count("first"), text.count("other")) == (1, 0, 1)


def test_soak_slope_is_the_least_squares_fit_per_hour() -> None:
    """A value growing 1 MiB a minute reads +60 per hour; a flat one 0; a lone point 0."""
    rising = [(float(m), 100.0 + m) for m in range(10)]
    flat = [(float(m), 42.0) for m in range(10)]
    assert (slope_per_hour(rising), slope_per_hour(flat), slope_per_hour([(0.0, 1.0)])) == (
        60.0,
        0.0,
        0.0,
    )


def test_soak_is_not_part_of_a_run_of_every_benchmark() -> None:
    """`python -m bench` alone never starts the half-hour soak; `python -m bench soak` does."""
    assert "soak" in BENCHMARKS and "soak" in ON_DEMAND


def test_memory_ratios_are_taken_within_each_run() -> None:
    """relay / bare is divided run by run (not medians divided), so a drifting machine
    cannot skew it; the median of the readings is reported beside it."""
    readings = Readings({"relay": [100.0, 120.0, 110.0], "bare": [50.0, 40.0, 55.0]})
    assert readings.ratio("relay", "bare") == [2.0, 3.0, 2.0]
    assert (readings.median("relay"), readings.median("bare")) == (110.0, 50.0)


def test_the_load_generator_does_not_collect_while_it_times_a_phase() -> None:
    """A full collection of the generator's heap stopped it for up to 294 ms, and the
    requests due meanwhile would be charged to the server: while a phase is timed the
    collector is off, and on again afterwards."""
    with no_collector_pauses():
        assert not gc.isenabled()
    assert gc.isenabled()
