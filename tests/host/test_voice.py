"""Voice notes heard on the host: real notes (espeak-ng, FFmpeg), real decoders, PocketSphinx."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.errors import TooLongError, UnheardError, VoiceError
from cockpit.host.db import HostDB, Turn
from cockpit.host.events import EventLog
from cockpit.host.failures import Failure
from cockpit.host.voice_notes import DICTATED, OFF, VoiceNotes, heard_line
from cockpit.voice import Hearing
from cockpit.voice.decode import decode, seconds
from cockpit.voice.transcribers import PocketSphinx
from tests.live import wait_until
from tests.voice import CONTENT_TYPES, encode, long_note, silence, spoken_wav, voice_note

UNHEARD = "I couldn't hear anything in that voice note."


@pytest.fixture
def db(tmp_path: Path) -> Iterator[HostDB]:
    """A host database on a real SQLite file."""
    db = HostDB(tmp_path / "host.db")
    yield db
    db.close()


@pytest.fixture
def log(db: HostDB) -> EventLog:
    """The host's event log."""
    return EventLog(db)


@pytest.fixture
def hearing(tmp_path: Path) -> Iterator[Hearing]:
    """A PocketSphinx transcriber process, stopped at the end."""
    hearing = Hearing("pocketsphinx", "base", tmp_path)
    yield hearing
    hearing.close()


def _turn(folder: Path, data: bytes, content_type: str = "audio/ogg", text: str = "") -> Turn:
    """A stored turn whose only attachment is `data`, saved under `folder`."""
    path = folder / ".cockpit" / "inbox" / "t1" / "attachment1.ogg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    media = [
        {"filename": path.name, "content_type": content_type, "path": str(path.relative_to(folder))}
    ]
    return Turn("t1", "main", text, None, media, "running", time.time(), None, None, None)


def _notices(db: HostDB) -> list[str]:
    return [str(e.payload.get("text")) for e in db.events_after(0) if e.type == "notice"]


@pytest.mark.parametrize("kind", sorted(CONTENT_TYPES))
def test_every_audio_type_whatsapp_sends_decodes_to_its_whole_length(
    tmp_path: Path, kind: str
) -> None:
    """Ogg/Opus, AMR, AAC, M4A and MPEG notes all decode to 16 kHz PCM as long as the speech."""
    wav = spoken_wav(tmp_path, "please run the tests")
    spoken = seconds(decode(wav.read_bytes(), 300))
    assert abs(seconds(decode(encode(wav, kind).read_bytes(), 300)) - spoken) < 0.3


def test_a_spoken_opus_note_is_heard_word_for_word(tmp_path: Path) -> None:
    """PocketSphinx (model from its wheel, offline) hears the key words of a real voice note."""
    pcm = decode(voice_note(tmp_path, "please run the tests"), 300)
    assert "please run the tests" in PocketSphinx().transcribe(pcm)


async def test_the_turn_claude_gets_is_the_transcript_marked_as_dictated(
    tmp_path: Path, db: HostDB, log: EventLog, hearing: Hearing
) -> None:
    """The phone is told what was heard first; Claude gets the words, not a file to open."""
    notes = VoiceNotes(hearing, log, 300)
    turn = _turn(tmp_path, voice_note(tmp_path, "please run the tests"))
    prepared = await notes.prepare(turn, tmp_path)
    assert isinstance(prepared, Turn)
    assert prepared.media == [] and prepared.text.startswith(DICTATED)
    assert "please run the tests" in prepared.text
    assert _notices(db) == [heard_line(prepared.text.removeprefix(DICTATED).strip())]
    assert _notices(db)[0].startswith('🎙️ "please run')


@pytest.mark.parametrize("what", ["corrupt", "empty", "silent", "truncated"])
async def test_a_note_with_nothing_to_hear_gets_one_plain_sentence(
    tmp_path: Path, db: HostDB, log: EventLog, hearing: Hearing, what: str
) -> None:
    """Garbage, zero bytes, a silent recording or a cut-off file: the same plain answer."""
    note = voice_note(tmp_path, "please run the tests")
    data = {
        "corrupt": b"OggS" + bytes(range(256)) * 20,
        "empty": b"",
        "silent": silence(tmp_path, 3),
        "truncated": note[:60],
    }[what]
    notes = VoiceNotes(hearing, log, 300)
    failed = await notes.prepare(_turn(tmp_path, data), tmp_path)
    assert isinstance(failed, Failure) and failed.message == UNHEARD
    assert _notices(db) == []


def test_a_note_longer_than_the_limit_is_refused_with_the_limit(tmp_path: Path) -> None:
    """Over COCKPIT_VOICE_MAX_SECONDS the note is refused, saying how long is allowed."""
    with pytest.raises(TooLongError) as refused:
        decode(silence(tmp_path, 4), max_seconds=3)
    assert "longer than 3 seconds" in refused.value.user_message
    with pytest.raises(TooLongError) as five_minutes:
        decode(silence(tmp_path, 4), max_seconds=2.5)
    assert TooLongError(300).user_message.startswith("That voice note is longer than 5 minutes")
    assert "2.5 seconds" in five_minutes.value.user_message


def test_a_file_that_is_not_audio_is_unheard() -> None:
    """A PNG sent as audio/ogg is not decoded as sound."""
    with pytest.raises(UnheardError):
        decode(b"\x89PNG\r\n\x1a\n" + b"\0" * 400, 300)


async def test_voice_off_keeps_the_note_as_an_attachment_and_says_so(
    tmp_path: Path, db: HostDB, log: EventLog
) -> None:
    """COCKPIT_TRANSCRIBER=off: the turn is unchanged and the phone hears voice is off."""
    notes = VoiceNotes(Hearing("off", "base", tmp_path), log, 300)
    turn = _turn(tmp_path, b"not even audio")
    assert await notes.prepare(turn, tmp_path) is turn
    assert _notices(db) == [OFF]


def test_whisper_whose_model_cannot_be_fetched_says_so_plainly(tmp_path: Path) -> None:
    """With the model hub unreachable, Whisper's first note gets a sentence about the model."""
    script = (
        "from pathlib import Path\n"
        "from cockpit.errors import SpeechModelError\n"
        "from cockpit.voice.transcribers import Whisper\n"
        f"w = Whisper('base', Path({str(tmp_path / 'models')!r}))\n"
        "try:\n    w.transcribe(bytes(32000))\n"
        "except SpeechModelError as exc:\n    print(exc.user_message)\n"
    )
    env = {
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=90
    )
    assert "I couldn't load the speech model (whisper base)" in done.stdout, done.stderr[-2000:]
    assert "could not be downloaded" in done.stdout


def _gone(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie awaiting its parent counts)."""
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


async def test_the_transcriber_process_ends_with_the_host_even_mid_note(tmp_path: Path) -> None:
    """Closing (host shutdown) ends the child at once; the note being heard gets an answer."""
    hearing = Hearing("pocketsphinx", "base", tmp_path)
    pid = await hearing.pid()
    heard = asyncio.ensure_future(hearing.hear(long_note(tmp_path, 8), 300))
    await asyncio.sleep(1.0)
    hearing.close()
    await asyncio.to_thread(wait_until, lambda: _gone(pid), timeout=5)
    with pytest.raises(VoiceError):
        await asyncio.wait_for(heard, 10)
