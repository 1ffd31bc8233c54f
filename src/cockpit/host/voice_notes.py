"""A turn with a voice note becomes a turn with its transcript, before Claude starts.

The runner calls `VoiceNotes.prepare` when the turn's session gets to it, so notes
are heard in the order they were sent and a note never overtakes a typed message.
Decoding and recognition run in a child process (`worker.py`): other sessions go on.
The phone first gets `🎙️ "…"` with what was heard; Claude then gets the transcript
as the user's text, with a note that it was dictated, and no audio file to open.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from cockpit.errors import UnheardError, VoiceError
from cockpit.host import failures
from cockpit.host.db import Turn
from cockpit.host.events import EventLog
from cockpit.host.failures import Failure
from cockpit.log import get_logger
from cockpit.voice.worker import Hearing

log = get_logger(__name__)

DICTATED = (
    "(The user dictated this message as a WhatsApp voice note; it was transcribed "
    "automatically, so a word may be mis-heard.)"
)
OFF = (
    "🎙️ Voice notes are off on your workspace, so Claude gets the recording as a file "
    "and cannot hear it. Type your message, or ask the operator to turn voice on."
)
MAX_HEARD_CHARS = 1000  # the phone's copy of the transcript; Claude gets all of it


def is_audio(item: dict[str, str]) -> bool:
    """Whether a stored attachment of a turn is a voice note (any `audio/*` type)."""
    return item.get("content_type", "").lower().startswith("audio/")


def heard_line(transcript: str) -> str:
    """The line the phone gets first: `🎙️ "what was heard"`."""
    if len(transcript) > MAX_HEARD_CHARS:
        transcript = transcript[: MAX_HEARD_CHARS - 1].rstrip() + "…"
    return f'🎙️ "{transcript}"'


def dictated(typed: str, transcript: str) -> str:
    """The user's text as Claude reads it: the transcript (after any typed caption)."""
    return "\n\n".join(part for part in (DICTATED, typed.strip(), transcript) if part)


class VoiceNotes:
    """Transcribes a turn's voice notes with one recogniser, kept loaded between notes."""

    def __init__(self, hearing: Hearing, events: EventLog, max_seconds: float):
        self.hearing = hearing
        self._events = events
        self._max_seconds = max_seconds

    async def prepare(self, turn: Turn, cwd: Path) -> Turn | Failure:
        """The turn Claude should get, or the failure the phone should see instead."""
        notes = [m for m in turn.media if is_audio(m)]
        if not notes:
            return turn
        if self.hearing.kind == "off":
            self._events.emit("notice", turn.turn_id, turn.session, text=OFF)
            return turn
        try:
            heard = [await self._hear(turn.turn_id, cwd / m["path"]) for m in notes]
        except VoiceError as exc:
            log.info("host.voice_refused", turn_id=turn.turn_id, reason=str(exc)[:200])
            return failures.voice(exc.user_message)
        transcript = " ".join(heard)
        self._events.emit("notice", turn.turn_id, turn.session, text=heard_line(transcript))
        others = [m for m in turn.media if not is_audio(m)]
        return replace(turn, text=dictated(turn.text, transcript), media=others)

    async def _hear(self, turn_id: str, path: Path) -> str:
        """Decode and transcribe one stored note (in the transcriber's process)."""
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise UnheardError(f"cannot read {path.name}: {exc}") from exc
        text, length = await self.hearing.hear(data, self._max_seconds)
        log.info(
            "host.voice_heard", turn_id=turn_id, backend=self.hearing.kind,
            seconds=round(length, 1), words=len(text.split()),
        )  # fmt: skip
        if not text.strip():
            raise UnheardError("no words recognised")
        return text.strip()

    def close(self) -> None:
        """Stop the transcriber's process."""
        self.hearing.close()
