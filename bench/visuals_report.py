"""The visuals benchmark's section of RESULTS.md: tables of medians over runs."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING

from bench.results import machine

if TYPE_CHECKING:
    from bench.visuals_bench import Delivery, RenderRun, Result

AIM_SECONDS = 10.0  # the seed: media on the phone within 10 seconds of a code change


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _list(values: list[float], digits: int = 2) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


def _render_row(runs: list[RenderRun], n: int) -> str:
    sent = [r.sent[n].seconds for r in runs]
    every = [r.every[n].seconds for r in runs]
    cells = [
        f"{n}",
        f"{_med(sent):.2f} ({runs[0].sent[n].images} picture(s))",
        f"{_med(every):.2f} ({runs[0].every[n].images} pages)",
    ]
    d2h = [r.d2h[n] for r in runs if n in r.d2h]
    if d2h:
        total = [d.seconds for d in d2h]
        last = d2h[-1]
        cells += [
            f"{_med([d.cli_seconds for d in d2h]):.2f}",
            f"{_med([d.shot_seconds for d in d2h]):.2f}",
            f"{_med(total):.2f}",
            f"{last.width}×{last.height}, {last.bytes / 1e6:.1f} MB",
            f"{_med([d.seconds / r.every[n].seconds for r, d in zip(runs, d2h, strict=True)]):.2f}",
            f"{_med([d.seconds / r.sent[n].seconds for r, d in zip(runs, d2h, strict=True)]):.2f}",
        ]
    else:
        cells += ["–"] * 6
    return "| " + " | ".join(cells) + " |"


def render_table(result: Result) -> list[str]:
    """Diff pictures: cockpit against diff2html + Chromium, by size of the change."""
    runs = result.renders
    if not runs:
        return []
    return [
        "### Diff pictures: cockpit vs `diff2html-cli` + Chromium (seconds, median of runs)",
        "",
        "| files changed | cockpit: what the phone is sent | cockpit: every file's pages "
        "| diff2html CLI | its Chromium PNG | diff2html total | its picture "
        "| diff2html ÷ cockpit every file | diff2html ÷ cockpit sent |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
        *(_render_row(runs, n) for n in result.opts.sizes),
        "",
        "Per-run cockpit every-file seconds: "
        + "; ".join(
            f"{n} files: {_list([r.every[n].seconds for r in runs])}" for n in result.opts.sizes
        ),
        "",
    ]


def shot_table(result: Result) -> list[str]:
    """Screenshot latency: cold and warm."""
    shots = result.shots
    if not shots:
        return []
    cold = [s.cold for s in shots]
    mobile = [_med(s.warm_mobile) for s in shots]
    desktop = [_med(s.warm_desktop) for s in shots]
    burst_m = [_med(s.burst_mobile) for s in shots]
    burst_d = [_med(s.burst_desktop) for s in shots]
    before_m = [_med(s.before_mobile) for s in shots]
    before_d = [_med(s.before_desktop) for s in shots]
    ratio_m = [_med(s.warm_mobile) / _med(s.before_mobile) for s in shots]
    ratio_d = [_med(s.warm_desktop) / _med(s.before_desktop) for s in shots]
    return [
        "### Screenshots with the host's `Screenshotter` (seconds)",
        "",
        "| shot | median of runs | per run |",
        "| --- | ---: | --- |",
        f"| cold: new Screenshotter, Chromium launch + first mobile shot | {_med(cold):.2f} "
        f"| {_list(cold)} |",
        f"| warm, mobile 390×844 @2× (median of {result.opts.warm} per run) | {_med(mobile):.2f} "
        f"| {_list(mobile)} |",
        f"| warm, desktop 1440×900 @1.5× (median of {result.opts.warm} per run) "
        f"| {_med(desktop):.2f} | {_list(desktop)} |",
        f"| back to back, mobile (each waits for the last one's clean-up) | {_med(burst_m):.2f} "
        f"| {_list(burst_m)} |",
        f"| back to back, desktop | {_med(burst_d):.2f} | {_list(burst_d)} |",
        *_shot_baseline_rows(result.opts.warm, before_m, before_d, ratio_m, ratio_d),
        "",
    ]


def _shot_baseline_rows(
    warm: int, mobile: list[float], desktop: list[float], rm: list[float], rd: list[float]
) -> list[str]:
    """The same run's shots taken as before issue 15, and warm ÷ before within each run."""
    return [
        f"| before issue 15 (new context, network idle), mobile, warm Chromium (median of {warm}) "
        f"| {_med(mobile):.2f} | {_list(mobile)} |",
        f"| before issue 15, desktop, warm Chromium (median of {warm}) "
        f"| {_med(desktop):.2f} | {_list(desktop)} |",
        f"| warm mobile ÷ before, within each run | {_med(rm):.2f} | {_list(rm)} |",
        f"| warm desktop ÷ before, within each run | {_med(rd):.2f} | {_list(rd)} |",
    ]


E2E_FIGURES: list[tuple[str, Callable[[Delivery], float], bool]] = [
    ("**CLI result (stand-in's last answer sent) → overview picture on the phone**",
     lambda d: d.image_fetched - d.last_answer_sent, True),
    ("**code change (stand-in's Write answer sent) → overview picture on the phone**",
     lambda d: d.image_fetched - d.write_sent, True),
    ("CLI result → host `image` event (turn ended, change found, overview drawn)",
     lambda d: d.image_event - d.last_answer_sent, False),
    ("host `image` event → relay sends it to the simulator's Messages API",
     lambda d: d.image_sent - d.image_event, False),
    ("Messages API request → picture fetched through the signed media URL",
     lambda d: d.image_fetched - d.image_sent, False),
    ("webhook → overview picture on the phone", lambda d: d.image_fetched - d.webhook, False),
    ("webhook → ✅ Done on the phone", lambda d: d.done - d.webhook, False),
]  # fmt: skip


def e2e_table(result: Result) -> list[str]:
    """Media on the phone after a code change, end to end."""
    turns = result.e2e
    if not turns:
        return []
    rows = []
    for label, figure, judged in E2E_FIGURES:
        values = [figure(d) for d in turns]
        met = ("met" if _med(values) < AIM_SECONDS else "**not met**") if judged else ""
        aim = f"< {AIM_SECONDS:.0f} s: {met}" if judged else ""
        rows.append(f"| {label} | {_med(values):.2f} | {_list(values)} | {aim} |")
    sizes = sorted({d.images for d in turns})
    return [
        f"### End to end: Claude writes {result.opts.e2e_files} files, the phone gets the "
        "overview (seconds)",
        "",
        "| figure | median of runs | per run | aim |",
        "| --- | ---: | --- | --- |",
        *rows,
        "",
        f"- pictures the phone got per turn: {', '.join(map(str, sizes))}; overview "
        f"{_med([float(d.image_bytes) for d in turns]) / 1000:.0f} kB; announced as: "
        f"“{turns[-1].text.splitlines()[0] if turns[-1].text else '(no 📝 text)'}”",
        "",
    ]


def report(result: Result) -> str:
    """The markdown section of RESULTS.md for the visuals benchmark."""
    opts = result.opts
    loads = "; ".join(f"{part}: {load}" for part, load in result.load)
    lines = [
        "## Visuals: diff pictures, screenshots, media on the phone",
        "",
        machine(),
        f"- {opts.runs} runs of each part ({', '.join(opts.parts)}); render sizes "
        f"{', '.join(map(str, opts.sizes))} changed files, each file 60 lines edited in 3 "
        "places; one untimed warm-up pass or turn before the runs",
        f"- load average (1, 5, 15 min) at the start of each part: {loads}",
        "",
        *render_table(result),
        *shot_table(result),
        *e2e_table(result),
    ]
    lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines)
