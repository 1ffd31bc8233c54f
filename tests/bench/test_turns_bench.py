"""A tiny run of the turn-latency benchmark through the real stack; nothing about speed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, main
from bench.claude_stack import BareRun
from bench.turns import Turn, bare_figures
from tests.requirements import require_claude_cli


@pytest.mark.slow
@pytest.mark.claude
@pytest.mark.timeout(600)
def test_turns_benchmark_times_a_turn_and_the_bare_cli(tmp_path: Path) -> None:
    """`python -m bench turns` runs a turn phone → relay → host → CLI and writes its section."""
    require_claude_cli()
    out = tmp_path / "RESULTS.md"
    out.write_text("# Results\n\n<!-- bench:webhook -->\nkept\n<!-- /bench:webhook -->\n")
    args = ["--runs", "1", "--turns", "1", "--warmup", "0", "--bare", "1", "--memory-turns", "2"]
    args += ["--output", str(out)]
    status = main(["turns", *args])
    text = out.read_text()
    assert status == 0, text
    assert "kept" in text and "Aborted" not in text
    assert "| **warm turn: webhook → first request at the Anthropic stand-in** |" in text
    assert "| **first turn of a session: webhook → first request** |" in text
    assert "| bare CLI: spawn → first request at the stand-in |" in text
    assert "first turn webhook → first request ÷ bare spawn → first request" in text
    assert "| host started, no turn yet: 0 live clients |" in text
    assert "one client for 2 turns (1 process(es) seen)" in text


def test_turn_figures_subtract_the_right_clock_readings() -> None:
    """Overhead is webhook → Done minus the CLI's own duration; the bare CLI's likewise."""
    turn = Turn(
        webhook=100.0, ack=100.05, first_request=101.0, first_main_request=101.2,
        last_answer_sent=102.0, result=102.5, done=102.6, cli_ms=1000.0,
    )  # fmt: skip
    figures = turn.figures()
    assert round(figures["to_first"]) == 1000 and round(figures["result_to_done"]) == 100
    assert round(figures["overhead"]) == 1600 and round(figures["ack_to_first"]) == 950
    bare = bare_figures(BareRun(10.0, 11.5, 12.0, 12.25, cli_ms=1500.0))
    assert (round(bare["to_first"]), round(bare["result_to_exit"]), round(bare["overhead"])) == (
        1500,
        250,
        750,
    )
    assert "turns" in BENCHMARKS
