"""Decoding and recognition in a child process that keeps the model loaded.

PocketSphinx holds Python's GIL while it decodes (measured: the event loop of the
same process froze for 20 s during a 28 s note), so a thread is not enough: the
note is heard in one long-lived child process (started with `spawn` on the first
note, never forked from the running host), and the host's event loop, its other
sessions and its HTTP API go on meanwhile. The child loads its model once; if it
dies, the next note starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from cockpit.errors import VoiceError
from cockpit.log import get_logger
from cockpit.voice.transcribers import Transcriber, make_transcriber

log = get_logger(__name__)

_transcriber: Transcriber | None = None  # in the child: its one recogniser


def _start(kind: str, whisper_model: str, data_dir: str) -> None:
    """The child's initializer: make (not yet load) its recogniser."""
    global _transcriber
    _transcriber = make_transcriber(kind, whisper_model, Path(data_dir))


def _hear(data: bytes, max_seconds: float) -> tuple[str, float]:
    """In the child: the words of one note and how long it plays."""
    # Imported in the child only: the host that starts it never loads PyAV (voice/pcm.py).
    from cockpit.voice.decode import decode, seconds

    assert _transcriber is not None
    pcm = decode(data, max_seconds)
    return _transcriber.transcribe(pcm), seconds(pcm)


def _load() -> None:
    """In the child: load the model now (for benchmarks and warm-up)."""
    assert _transcriber is not None
    load = getattr(_transcriber, "load", None)
    if load is not None:
        load()


class Hearing:
    """One child process that hears notes, one at a time, for a host."""

    def __init__(self, kind: str, whisper_model: str, data_dir: Path):
        self.kind = kind
        self._args = (kind, whisper_model, str(data_dir))
        self._pool: ProcessPoolExecutor | None = None
        self._child: int | None = None  # the child's pid, to end it with the host

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=self._args,
            )
        return self._pool

    async def hear(self, data: bytes, max_seconds: float) -> tuple[str, float]:
        """The words of a note and its length in seconds; `VoiceError` when it cannot be."""
        loop = asyncio.get_running_loop()
        try:
            if self._child is None:
                await self.pid()
            return await loop.run_in_executor(self._executor(), _hear, data, max_seconds)
        except BrokenProcessPool:
            self._pool = self._child = None  # the child died (out of memory?): start anew
            raise VoiceError("the transcriber process stopped") from None
        except VoiceError:
            raise
        except Exception as exc:  # a recogniser's own error: still a plain answer
            log.error("host.voice_failed", exc=True)
            raise VoiceError(f"transcriber failed: {type(exc).__name__}") from exc

    async def load(self) -> None:
        """Start the child and load its model (the first note would do it anyway)."""
        await asyncio.get_running_loop().run_in_executor(self._executor(), _load)

    async def pid(self) -> int:
        """The child's process id (started if need be)."""
        loop = asyncio.get_running_loop()
        self._child = await loop.run_in_executor(self._executor(), os.getpid)
        return self._child

    def close(self) -> None:
        """Stop the child (the host is shutting down), even in the middle of a note."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._child, signal.SIGTERM)
            self._child = None
