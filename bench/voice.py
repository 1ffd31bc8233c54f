"""Voice notes: seconds to hear 5, 30 and 120 s notes, and the host's extra memory.

`python -m bench voice [--runs 3] [--lengths 5,30,120] [--backends pocketsphinx,whisper]`

Notes are made here as the tests make them: espeak-ng reads a paragraph, cut to the
length, encoded as Ogg/Opus at 24 kb/s as WhatsApp sends them. Each backend runs
in the host's own transcriber process (`cockpit.voice.Hearing`: a spawned
child that keeps its model loaded), exactly as on a host. Per run and note:

- decode: PyAV decoding and resampling alone (`decode.py`), the baseline;
- hear: decode + recognition through the child process, as a turn waits for it;
- real-time factor: hear seconds / note seconds (under 1: faster than the note plays).

Memory (VmRSS of the child, /proc): after start-up (Python, PyAV and cockpit's
imports; no model), after loading the model, and after the longest note. A host
without voice notes has no child at all, so all of it is the host's extra memory.

A backend whose model cannot be loaded here (Whisper's is downloaded from a hub
these machines cannot reach) is reported with the reason instead of figures.
Figures are medians over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.results import RESULTS, load_average, machine, write_section
from bench.soak import rss_mib
from cockpit.errors import VoiceError
from cockpit.voice import Hearing
from cockpit.voice.decode import decode

PARAGRAPH = (
    "Please check the status of the tests. Then open the login page and fix the button "
    "that does not submit the form. Run the tests again, and if they pass, commit the "
    "change with a short message. After that, show me the diff of the main file. "
)


@dataclass(frozen=True)
class Options:
    runs: int = 3
    lengths: tuple[int, ...] = (5, 30, 120)
    backends: tuple[str, ...] = ("pocketsphinx", "whisper")
    output: Path | None = RESULTS


@dataclass
class BackendResult:
    name: str
    skipped: str | None = None
    decode: dict[int, list[float]] = field(default_factory=dict)
    hear: dict[int, list[float]] = field(default_factory=dict)
    words: dict[int, int] = field(default_factory=dict)
    rss_started: list[float] = field(default_factory=list)
    rss_loaded: list[float] = field(default_factory=list)
    rss_after: list[float] = field(default_factory=list)


def make_note(folder: Path, seconds: int) -> bytes:
    """An Ogg/Opus note of exactly `seconds` of espeak-ng speech."""
    words_needed = seconds * 3  # espeak-ng at 140 wpm: about 2.3 words a second
    text = (PARAGRAPH * (words_needed // len(PARAGRAPH.split()) + 1)).strip()
    wav, ogg = folder / f"note-{seconds}.wav", folder / f"note-{seconds}.ogg"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(wav), text], check=True)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-t", str(seconds),
         "-c:a", "libopus", "-b:a", "24k", str(ogg)],
        check=True,
    )  # fmt: skip
    return ogg.read_bytes()


async def _one_run(backend: str, notes: dict[int, bytes], data_dir: Path, r: BackendResult) -> None:
    hearing = Hearing(backend, "base", data_dir)
    try:
        pid = await hearing.pid()
        r.rss_started.append(rss_mib(pid))
        await hearing.load()
        r.rss_loaded.append(rss_mib(pid))
        for length, data in notes.items():
            started = time.perf_counter()
            decode(data, 10_000)
            r.decode.setdefault(length, []).append(time.perf_counter() - started)
            started = time.perf_counter()
            text, _ = await hearing.hear(data, 10_000)
            r.hear.setdefault(length, []).append(time.perf_counter() - started)
            r.words[length] = len(text.split())
        r.rss_after.append(rss_mib(pid))
    finally:
        hearing.close()


def run(opts: Options) -> list[BackendResult]:
    """Measure every backend asked for; returns one result each."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        folder = Path(tmp)
        notes = {n: make_note(folder, n) for n in opts.lengths}
        for backend in opts.backends:
            result = BackendResult(backend)
            try:
                for _ in range(opts.runs):
                    asyncio.run(_one_run(backend, notes, folder / backend, result))
            except VoiceError as exc:
                result = BackendResult(backend, skipped=str(exc))
            results.append(result)
    return results


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(opts: Options, results: list[BackendResult], load_before: str) -> str:
    """RESULTS.md's section for this benchmark."""
    lines = [
        "## voice: hearing voice notes on the host",
        "",
        machine(),
        f"- load average before: {load_before}; after: {load_average()} "
        "(the machine was shared with other engineers' tests: absolute times are "
        "pessimistic, the real-time factors within a run are the figures to compare)",
        f"- runs: {opts.runs}; medians; notes: espeak-ng speech, Ogg/Opus 24 kb/s",
        "",
        "| backend | note | decode alone (s) | hear: decode + recognise (s) "
        "| real-time factor | words heard |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.skipped:
            lines.append(f"| {r.name} | — | — | not measured: {r.skipped} | — | — |")
            continue
        for length in opts.lengths:
            hear = _median(r.hear[length])
            lines.append(
                f"| {r.name} | {length} s | {_median(r.decode[length]):.3f} | {hear:.2f} "
                f"| {hear / length:.2f} | {r.words[length]} |"
            )
    lines += [
        "",
        "| backend | child at start (MiB) | model loaded (MiB) | after the longest note (MiB) |",
    ]
    lines.append("| --- | --- | --- | --- |")
    for r in results:
        if not r.skipped:
            lines.append(
                f"| {r.name} | {_median(r.rss_started):.0f} | {_median(r.rss_loaded):.0f} "
                f"| {_median(r.rss_after):.0f} |"
            )
    return "\n".join(lines)


def parse(argv: list[str]) -> Options:
    """Options from the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench voice", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lengths", default="5,30,120", help="note lengths in seconds")
    parser.add_argument("--backends", default="pocketsphinx,whisper")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    return Options(
        runs=args.runs,
        lengths=tuple(int(x) for x in args.lengths.split(",")),
        backends=tuple(args.backends.split(",")),
        output=args.output,
    )


def main(argv: list[str]) -> int:
    """Run the benchmark and write its section of RESULTS.md."""
    opts = parse(argv)
    # Whisper's model hub is not loopback: the benchmark never fetches it (a model already
    # in the cache would still load, but the benchmark's data folder is new each time).
    os.environ["HF_HUB_OFFLINE"] = "1"
    load_before = load_average()
    results = run(opts)
    text = report(opts, results, load_before)
    print(text)
    if opts.output is not None:
        write_section(opts.output, "voice", text)
    return 0
