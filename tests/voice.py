"""Real voice notes made on this machine: espeak-ng speaks, FFmpeg encodes as WhatsApp does.

PocketSphinx mis-hears espeak-ng's voice on many sentences; the ones here are
heard well enough to carry their key words (checked on this project's machines).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av

from tests.requirements import require

# sentence → words PocketSphinx hears in it (a fresh recogniser, Ogg/Opus at 24 kb/s)
HEARD = {
    "please run the tests": "please run the tests",
    "please check the status of the tests": "please check the status",
    "stop": "stop",
}
CONTENT_TYPES = {
    "ogg": "audio/ogg", "amr": "audio/amr", "aac": "audio/aac", "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
}  # fmt: skip


def require_speech_tools() -> None:
    """espeak-ng and ffmpeg (Debian packages; .ci/run installs them)."""
    for tool in ("espeak-ng", "ffmpeg"):
        require(shutil.which(tool) is not None, f"{tool} is not installed")


def spoken_wav(folder: Path, sentence: str, name: str = "note") -> Path:
    """`sentence` spoken by espeak-ng (US English, 140 words a minute) as a WAV file."""
    require_speech_tools()
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(wav), sentence], check=True)
    return wav


def encode(wav: Path, kind: str) -> Path:
    """`wav` encoded as WhatsApp delivers audio: ogg (Opus), amr, aac (ADTS), m4a or mp3."""
    out = wav.with_suffix(f".{kind}")
    if kind == "amr":  # Debian's ffmpeg has no AMR encoder; PyAV's bundled FFmpeg has one
        _amr(wav, out)
        return out
    codec = {
        "ogg": ["-c:a", "libopus", "-b:a", "24k"],
        "aac": ["-c:a", "aac"],
        "m4a": ["-c:a", "aac"],
    }.get(kind, ["-c:a", "libmp3lame"])
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), *codec, str(out)], check=True
    )
    return out


def voice_note(folder: Path, sentence: str, kind: str = "ogg", name: str = "note") -> bytes:
    """The bytes of a voice note saying `sentence`."""
    return encode(spoken_wav(folder, sentence, name), kind).read_bytes()


def silence(folder: Path, seconds: float, kind: str = "ogg") -> bytes:
    """A note of `seconds` of silence (what a pocket records)."""
    require_speech_tools()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"silence-{seconds:g}.{kind}"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "anullsrc=r=48000:cl=mono", "-t", str(seconds), "-c:a", "libopus", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


def _amr(wav: Path, out: Path) -> None:
    with av.open(str(wav)) as source, av.open(str(out), "w", format="amr") as sink:
        stream = sink.add_stream("libopencore_amrnb", rate=8000, layout="mono")
        stream.bit_rate = 12200
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        for frame in source.decode(audio=0):
            for piece in resampler.resample(frame):
                for packet in stream.encode(piece):
                    sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)


def long_note(folder: Path, sentences: int, kind: str = "ogg") -> bytes:
    """A note of `sentences` spoken sentences in a row (about 2.3 s each)."""
    text = " ".join(["please check the status of the tests."] * sentences)
    return voice_note(folder, text, kind, name=f"long-{sentences}")
