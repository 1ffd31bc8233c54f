"""The speech recognisers behind one small interface, chosen by COCKPIT_TRANSCRIBER.

    pocketsphinx  offline; the PyPI wheel ships its US-English model (the default)
    whisper       faster-whisper (the optional `cockpit[whisper]` extra): better and
                  multilingual; its model is downloaded on first use into the host's
                  data folder and kept loaded between notes

Both take 16 kHz mono s16le PCM (see `decode.py`) and load their model once, on
the first note, then keep it. They run in the host's transcriber process
(`worker.py`), never on its event loop; a lock keeps one note at a time.
"""

from __future__ import annotations

import io
import threading
from array import array
from pathlib import Path
from typing import Any, Protocol

from cockpit.errors import SpeechModelError
from cockpit.log import get_logger
from cockpit.voice.pcm import RATE

log = get_logger(__name__)


class Transcriber(Protocol):
    """Turns speech into text."""

    name: str

    def transcribe(self, pcm: bytes) -> str:
        """The words in `pcm` (16 kHz mono s16le), "" when none were recognised."""
        ...


class PocketSphinx:
    """CMU PocketSphinx with the US-English model inside its wheel."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decoder: Any = None

    def load(self) -> None:
        """Load the acoustic and language models (about a second; done once)."""
        from pocketsphinx import Decoder

        if self._decoder is None:
            self._decoder = Decoder(samprate=RATE, loglevel="FATAL")

    def transcribe(self, pcm: bytes) -> str:
        """Split the note at pauses and decode each stretch of speech as one utterance."""
        from pocketsphinx import Segmenter

        with self._lock:
            self.load()
            pieces = [s.pcm for s in Segmenter(sample_rate=RATE).segment(io.BytesIO(pcm))]
            if not pieces and not silent(pcm):  # speech its detector missed (e.g. AMR)
                pieces = [pcm]
            words = [self._utterance(piece) for piece in pieces]
        return " ".join(w for w in words if w)

    def _utterance(self, pcm: bytes) -> str:
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm, False, True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return str(hyp.hypstr).strip() if hyp is not None else ""


class Whisper:
    """faster-whisper (CTranslate2) on the CPU, int8; model fetched on first use."""

    name = "whisper"

    def __init__(self, model: str, download_root: Path):
        self.model_name = model
        self.download_root = download_root
        self._lock = threading.Lock()
        self._model: Any = None

    def load(self) -> None:
        """Load the model, downloading it into `download_root` the first time."""
        if self._model is not None:
            return
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise SpeechModelError(
                f"whisper {self.model_name}",
                "faster-whisper is not installed (pip install 'cockpit[whisper]')",
            ) from None
        self.download_root.mkdir(parents=True, exist_ok=True)
        try:
            self._model = WhisperModel(
                self.model_name,
                device="cpu",
                compute_type="int8",
                download_root=str(self.download_root),
            )
        except Exception as exc:  # the hub's and CTranslate2's errors have no common base
            log.warning("host.whisper_load_failed", model=self.model_name, error=str(exc)[:300])
            raise SpeechModelError(f"whisper {self.model_name}", _why(exc)) from exc

    def transcribe(self, pcm: bytes) -> str:
        """All segments' text, joined."""
        import numpy as np

        with self._lock:
            self.load()
            audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
            segments, _info = self._model.transcribe(audio, beam_size=1)
            return " ".join(str(s.text).strip() for s in segments).strip()


def silent(pcm: bytes, floor: int = 330) -> bool:
    """Whether no sample of `pcm` (s16le) is louder than `floor` (about -40 dBFS)."""
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    return max(samples, default=0) <= floor and -min(samples, default=0) <= floor


def _why(exc: BaseException) -> str:
    """Why a Whisper model did not load, in words for the phone."""
    kind = type(exc).__name__
    if "EntryNotFound" in kind or "Offline" in kind or "Connect" in kind or "Timeout" in kind:
        return "it could not be downloaded (is the workspace offline?)"
    if "RepositoryNotFound" in kind or "RevisionNotFound" in kind:
        return "no model of that name exists (check COCKPIT_WHISPER_MODEL)"
    return f"it failed to load ({kind})"


class Off:
    """Voice notes stay attachments (COCKPIT_TRANSCRIBER=off)."""

    name = "off"

    def transcribe(self, pcm: bytes) -> str:
        """Never called: an `off` host does not transcribe."""
        raise NotImplementedError


def make_transcriber(kind: str, whisper_model: str, data_dir: Path) -> Transcriber:
    """The recogniser a COCKPIT_TRANSCRIBER value names (models load on first use)."""
    if kind == "whisper":
        return Whisper(whisper_model, data_dir / "models" / "whisper")
    if kind == "off":
        return Off()
    return PocketSphinx()
