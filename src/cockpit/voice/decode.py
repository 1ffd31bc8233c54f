"""Voice note bytes → 16 kHz mono 16-bit PCM, with PyAV (which bundles FFmpeg).

Whatever container and codec WhatsApp delivers (Ogg/Opus voice notes, AMR, AAC,
MPEG) is opened by FFmpeg's demuxers and decoders and resampled to what the
recognisers want. Decoding stops as soon as the note passes the length limit, so
a very long note costs no more than the limit.
"""

from __future__ import annotations

import io

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

from cockpit.errors import TooLongError, UnheardError
from cockpit.voice.pcm import BYTES_PER_SECOND, RATE

MIN_SECONDS = 0.1  # shorter than this is nothing to hear


def decode(data: bytes, max_seconds: float) -> bytes:
    """The note as 16 kHz mono s16le PCM; `UnheardError` if it is not audio or empty,
    `TooLongError` if it is longer than `max_seconds`."""
    if not data:
        raise UnheardError("empty voice note")
    limit = int(max_seconds * BYTES_PER_SECOND)
    pcm = bytearray()
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise UnheardError("no audio stream")
            stream = container.streams.audio[0]
            if container.duration is not None and container.duration / av.time_base > max_seconds:
                raise TooLongError(max_seconds)
            resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(stream):
                pcm += _resampled(resampler, frame)
                if len(pcm) > limit:
                    raise TooLongError(max_seconds)
            pcm += _resampled(resampler, None)
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise UnheardError(f"cannot decode: {type(exc).__name__}") from exc
    if len(pcm) > limit:
        raise TooLongError(max_seconds)
    if len(pcm) < MIN_SECONDS * BYTES_PER_SECOND:
        raise UnheardError("no sound in the voice note")
    return bytes(pcm)


def _resampled(resampler: AudioResampler, frame: AudioFrame | None) -> bytes:
    """The PCM bytes of one decoded frame after resampling (None: flush the resampler)."""
    out = bytearray()
    for piece in resampler.resample(frame):
        out += bytes(piece.planes[0])[: piece.samples * 2]
    return bytes(out)


def seconds(pcm: bytes) -> float:
    """How long `pcm` (16 kHz mono s16le) plays."""
    return len(pcm) / BYTES_PER_SECOND
