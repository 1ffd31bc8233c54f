"""Tiny runs of the visuals benchmark: real git, real Chromium, the real stack; no timing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, main
from bench.visuals_render import make_change
from tests.requirements import require_chromium, require_claude_cli


def test_a_made_change_has_the_asked_number_of_changed_files(tmp_path: Path) -> None:
    """The benchmark's repository differs from HEAD in exactly the files it was asked for."""
    repo = make_change(tmp_path, 4)
    names = subprocess.run(
        ["git", "-C", str(repo), "diff", "--name-only", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(names) == 4 and {Path(n).suffix for n in names} == {".py", ".ts", ".css"}
    assert "visuals" in BENCHMARKS


@pytest.mark.slow
@pytest.mark.chromium
@pytest.mark.timeout(600)
def test_visuals_benchmark_renders_diffs_and_takes_screenshots(tmp_path: Path) -> None:
    """`python -m bench visuals` times cockpit's diff pictures and cold and warm screenshots."""
    require_chromium()
    out = tmp_path / "RESULTS.md"
    args = ["--runs", "1", "--sizes", "1,6", "--warm", "1", "--parts", "render,screenshots"]
    status = main(["visuals", *args, "--skip-diff2html", "--output", str(out)])
    text = out.read_text()
    assert status == 0, text
    assert "| 6 | " in text and "(1 picture(s))" in text and "(6 pages)" in text
    assert "| cold: new Screenshotter" in text
    assert "| warm mobile ÷ before, within each run |" in text
    assert "diff2html baseline not run: --skip-diff2html" in text


@pytest.mark.slow
@pytest.mark.claude
@pytest.mark.timeout(600)
def test_visuals_benchmark_times_the_overview_to_the_phone(tmp_path: Path) -> None:
    """Claude writes 6 files; the simulated phone gets one overview picture, and it is timed."""
    require_claude_cli()
    out = tmp_path / "RESULTS.md"
    args = ["--runs", "1", "--parts", "e2e", "--e2e-files", "6", "--output", str(out)]
    status = main(["visuals", *args])
    text = out.read_text()
    assert status == 0, text
    assert (
        "| **CLI result (stand-in's last answer sent) → overview picture on the phone** |" in text
    )
    assert "pictures the phone got per turn: 1;" in text and "6 files changed" in text
