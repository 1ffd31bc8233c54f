"""A tiny run of the voice benchmark: real notes, the real transcriber process; no timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, main
from tests.voice import require_speech_tools


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_voice_benchmark_times_each_backend_and_reads_the_child_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m bench voice` times PocketSphinx and says why Whisper was not measured."""
    require_speech_tools()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the benchmark sets it too; keep this test's env
    out = tmp_path / "RESULTS.md"
    status = main(["voice", "--runs", "1", "--lengths", "3", "--output", str(out)])
    text = out.read_text()
    assert status == 0 and "voice" in BENCHMARKS
    assert "| pocketsphinx | 3 s |" in text
    assert "| whisper | — | — | not measured: speech model whisper base unavailable" in text
    assert "| pocketsphinx | " in text.split("child at start")[1]
