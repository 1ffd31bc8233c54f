"""The audio every part of `voice` hands on: 16 kHz mono signed 16-bit PCM.

Its own module so that the host process, which only starts the child that hears notes,
never imports PyAV (decode.py): 22.6 MiB of an idle host's memory.
"""

RATE = 16000  # samples per second the recognisers take
BYTES_PER_SECOND = RATE * 2  # s16le mono
