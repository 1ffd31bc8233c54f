"""Voice notes into text, on the user's own host: no audio leaves their workspace.

pcm.py           the audio format handed on (16 kHz mono s16le); no PyAV in the host
decode.py        any audio WhatsApp sends → 16 kHz mono PCM (PyAV / FFmpeg), in the child
transcribers.py  the recognisers (pocketsphinx, whisper, off) behind one interface
worker.py        `Hearing`: both in a child process that keeps the model loaded

The child imports only this package (not the host's web app), so its memory is
the recogniser's. `cockpit.host.voice_notes` turns a turn's note into its transcript.
"""

from cockpit.voice.transcribers import Transcriber, make_transcriber
from cockpit.voice.worker import Hearing

__all__ = ["Hearing", "Transcriber", "make_transcriber"]
