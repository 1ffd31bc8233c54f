"""Voice notes, heard on the user's own host: no audio leaves their workspace.

decode.py        any audio WhatsApp sends → 16 kHz mono PCM (PyAV / FFmpeg)
transcribers.py  the recognisers (pocketsphinx, whisper, off) behind one interface
worker.py        runs both in a child process that keeps the model loaded
notes.py         a turn with a voice note → the turn with its transcript
"""

from cockpit.host.voice.notes import VoiceNotes, is_audio
from cockpit.host.voice.transcribers import Transcriber, make_transcriber
from cockpit.host.voice.worker import Hearing

__all__ = ["Hearing", "Transcriber", "VoiceNotes", "is_audio", "make_transcriber"]
