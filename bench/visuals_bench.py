"""Visuals benchmark (issue 4): diff pictures against diff2html, screenshots, media on the phone.

`python -m bench visuals [--runs 5] [--sizes 1,10,100] [--parts render,screenshots,e2e]`:

1. render — per run and change size (a real git repository, `bench.visuals_render`):
   cockpit's pictures, and in the same run `diff2html-cli` (npm, installed into a
   temporary folder unless `--diff2html` names a node_modules) plus a full-page
   Chromium PNG of its HTML; the ratio is taken within each run.
2. screenshots — per run a new `Screenshotter` (cold: Chromium launches) on a page
   served on loopback, then warm shots with the same one (each after a 0.3 s pause, as a
   person asks for them), and as many back to back.
3. e2e — the real stack (`bench.claude_stack`): per run Claude writes 10 new files in
   one turn; timed from the CLI's result (the stand-in's last answer sent) and from
   the code change (the stand-in's Write answer sent) to the overview picture
   fetched by the simulated phone.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import visuals_report
from bench.claude_stack import ClaudeStack, claude_stack, is_done, stamp
from bench.results import RESULTS, load_average, write_section
from bench.visuals_render import (
    Diff2Html,
    Diff2HtmlRun,
    Rendered,
    ShotTimes,
    commit_all,
    install_diff2html,
    launch_browser,
    make_change,
    scratch_dir,
    screenshot_app,
    sources,
    time_ours,
    time_screenshots,
)
from tests.fakes.anthropic import has_tool_result, say, tool
from tests.live import serve

NAME = "visuals"
PARTS = ("render", "screenshots", "e2e")


@dataclass(frozen=True)
class Options:
    """What to measure, and how much of it."""

    runs: int = 5
    sizes: tuple[int, ...] = (1, 10, 100)
    warm: int = 5
    e2e_files: int = 10
    parts: tuple[str, ...] = PARTS
    diff2html: Path | None = None
    skip_diff2html: bool = False
    output: Path | None = RESULTS


@dataclass
class RenderRun:
    """One run of the renderers, by number of changed files."""

    sent: dict[int, Rendered] = field(default_factory=dict)
    every: dict[int, Rendered] = field(default_factory=dict)
    d2h: dict[int, Diff2HtmlRun] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """One turn of the end-to-end run: clock readings (epoch s) and what arrived."""

    webhook: float
    write_sent: float
    last_answer_sent: float
    image_event: float
    image_sent: float
    image_fetched: float
    done: float
    images: int
    image_bytes: int
    text: str


@dataclass
class Result:
    """Everything measured, and what could not be."""

    opts: Options
    renders: list[RenderRun] = field(default_factory=list)
    shots: list[ShotTimes] = field(default_factory=list)
    e2e: list[Delivery] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load: list[tuple[str, str]] = field(default_factory=list)  # (part, load average)


# --- render: cockpit vs diff2html -----------------------------------------------------------


async def _renders(opts: Options, root: Path, result: Result) -> None:
    repos = {n: make_change(root, n) for n in opts.sizes}
    d2h, closers = await _diff2html(opts, root, result)
    try:
        for repo in repos.values():  # warm-up, untimed: imports, caches, the page renderer
            time_ours(repo)
            if d2h:
                await d2h.render(repo, root)
        for number in range(opts.runs):
            result.renders.append(await _render_run(repos, d2h, root, first=number % 2 == 0))
            print(f"visuals: render run {number + 1}/{opts.runs} done", file=sys.stderr)
    finally:
        for close in closers:
            await close()


async def _render_run(
    repos: dict[int, Path], d2h: Diff2Html | None, root: Path, *, first: bool
) -> RenderRun:
    """Both renderers on every size; who goes first alternates between runs."""
    run = RenderRun()
    for n, repo in repos.items():
        if d2h and not first:
            run.d2h[n] = await d2h.render(repo, root)
        run.sent[n], run.every[n] = time_ours(repo)
        if d2h and first:
            run.d2h[n] = await d2h.render(repo, root)
    return run


async def _diff2html(
    opts: Options, root: Path, result: Result
) -> tuple[Diff2Html | None, list[Callable[[], Any]]]:
    if opts.skip_diff2html:
        result.notes.append("diff2html baseline not run: --skip-diff2html")
        return None, []
    try:
        modules = opts.diff2html
        if modules is None:
            start = time.perf_counter()
            modules = await asyncio.to_thread(install_diff2html, root / "npm")
            result.notes.append(
                f"`npm install diff2html-cli` into a temporary folder took "
                f"{time.perf_counter() - start:.1f} s (not counted)"
            )
        if not (modules / ".bin" / "diff2html").exists():
            raise RuntimeError(f"no diff2html-cli in {modules}")
        pw, browser = await launch_browser()
    except Exception as exc:  # the baseline is optional: record why it is missing
        result.notes.append(f"diff2html baseline not run: {type(exc).__name__}: {exc}")
        return None, []
    return Diff2Html(modules, browser), [browser.close, pw.stop]


# --- screenshots ----------------------------------------------------------------------------


async def _screenshots(opts: Options, url: str, result: Result) -> None:
    for number in range(opts.runs):
        result.shots.append(await time_screenshots(url, opts.warm))
        print(f"visuals: screenshot run {number + 1}/{opts.runs} done", file=sys.stderr)


# --- end to end: media on the phone ---------------------------------------------------------


def _seed(cs: ClaudeStack) -> None:
    """Commit something to the workspace, so the runs start from a clean tree."""
    (cs.workspace / "README.md").write_text("# bench workspace\n")
    commit_all(cs.workspace, "bench: start")


def measure_delivery(cs: ClaudeStack, number: int, files: int, after: int) -> tuple[Delivery, int]:
    """Claude writes `files` new files in one turn; time the overview picture to the phone."""
    first_exchange, first_received = len(cs.fake.exchanges), len(cs.stack.received())
    made = sources(cs.workspace / f"change{number}", files, edited=True, salt=number)
    calls = [("Write", {"file_path": str(path), "content": text}) for path, text in made]
    cs.fake.script(
        [tool(*calls[0], *calls[1:]), say(f"I wrote {files} files.", when=has_tool_result)]
    )
    sent = cs.send(f"write the {files} files of change {number}")
    image = cs.wait_message(first_received, lambda m: bool(m.media and m.media[0].data))
    fetched = time.time()  # within one poll (5 ms) of the simulator storing the fetched image
    done = cs.wait_message(first_received, is_done)
    events = cs.host_events(after, lambda e: e["type"] in ("result", "error"))
    if events[-1]["type"] != "result":
        raise RuntimeError(f"the turn failed on the host: {events[-1]}")
    main = [x for x in cs.fake.exchanges[first_exchange:] if not x.side]
    received = cs.received_since(first_received)
    delivery = Delivery(
        webhook=stamp(sent),
        write_sent=main[0].finished or main[0].arrived,
        last_answer_sent=max(x.finished or x.arrived for x in main),
        image_event=next(float(e["ts"]) for e in events if e["type"] == "image"),
        image_sent=stamp(image),
        image_fetched=fetched,
        done=stamp(done),
        images=sum(1 for m in received if m.media),
        image_bytes=len(image.media[0].data or b""),
        # the 📝 summary may be joined to the answer and its ✅ line: find its line
        text=next(
            (line for m in received for line in m.body.splitlines() if line.startswith("📝")), ""
        ),
    )
    commit_all(cs.workspace, f"bench: change {number}")  # the next turn starts clean
    return delivery, int(events[-1]["seq"])


def _e2e(opts: Options, root: Path, result: Result) -> None:
    with claude_stack(root / "stack") as cs:
        _seed(cs)
        after = 0
        for number in range(opts.runs + 1):  # the first turn warms the host up, untimed
            delivery, after = measure_delivery(cs, number, opts.e2e_files, after)
            if number:
                result.e2e.append(delivery)
            print(f"visuals: e2e turn {number}/{opts.runs} done", file=sys.stderr)


# --- running --------------------------------------------------------------------------------


def run(opts: Options) -> Result:
    """Every part asked for, each bounded; a part that fails leaves a note, not a crash."""
    result = Result(opts)
    with scratch_dir() as tmp:
        root = Path(tmp)
        for part in opts.parts:
            result.load.append((part, load_average()))
            try:
                _run_part(part, opts, root, result)
            except Exception as exc:  # keep what was measured, say why the part stopped
                result.notes.append(f"**{part} aborted:** {type(exc).__name__}: {exc}"[:500])
        result.load.append(("end", load_average()))
    return result


def _run_part(part: str, opts: Options, root: Path, result: Result) -> None:
    if part == "render":
        asyncio.run(_renders(opts, root, result))
    elif part == "screenshots":
        with serve(screenshot_app()) as url:
            asyncio.run(_screenshots(opts, url + "/", result))
    else:
        _e2e(opts, root, result)


def parse_options(argv: list[str]) -> Options:
    """The command line of `python -m bench visuals`."""
    parser = argparse.ArgumentParser(prog="python -m bench visuals", description=__doc__)
    parser.add_argument("--runs", type=int, default=Options.runs)
    parser.add_argument("--sizes", default="1,10,100", help="changed files per diff, by comma")
    parser.add_argument("--warm", type=int, default=Options.warm, help="warm shots per run")
    parser.add_argument("--e2e-files", type=int, default=Options.e2e_files)
    parser.add_argument("--parts", default=",".join(PARTS), help="render,screenshots,e2e")
    parser.add_argument("--diff2html", type=Path, help="a node_modules with diff2html-cli")
    parser.add_argument("--skip-diff2html", action="store_true", help="no baseline (offline)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the RESULTS.md to update")
    a = parser.parse_args(argv)
    parts = tuple(p for p in a.parts.split(",") if p)
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    sizes = tuple(int(n) for n in a.sizes.split(",") if n)
    return Options(
        a.runs, sizes, a.warm, a.e2e_files, parts, a.diff2html, a.skip_diff2html, a.output
    )


def main(argv: list[str]) -> int:
    """Entry point of `python -m bench visuals`; 1 when a part was aborted."""
    opts = parse_options(argv)
    result = run(opts)
    text = visuals_report.report(result)
    if opts.output is not None:
        write_section(opts.output, NAME, text)
    print(text, file=sys.stderr)
    return 1 if any("aborted" in note for note in result.notes) else 0
