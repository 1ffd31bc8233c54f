"""The cockpit's one error hierarchy.

    CockpitError                    everything raised on purpose by cockpit
    ├── ConfigError                 a setting is missing or malformed (start-up)
    ├── StoreError                  the database refused or is unreachable
    │   └── NewerSchemaError        host.db is from a newer cockpit (host/db_schema.py)
    ├── ChannelError                sending through Twilio (or the simulator) failed
    │   ├── TransientSendError      429, 5xx, connection refused: try again later
    │   │   └── UnknownOutcomeError the request may have created the message
    │   └── PermanentSendError      Twilio refused the message for good (error code)
    ├── MediaError                  an image could not be stored or fetched
    ├── VoiceError                  a voice note could not be turned into text (cockpit/voice/)
    │   ├── UnheardError            corrupt, empty, or no words recognised
    │   ├── TooLongError            longer than COCKPIT_VOICE_MAX_SECONDS
    │   └── SpeechModelError        the recogniser's model could not be loaded or fetched
    ├── HostError                   a user's agent host refused a request
    │   └── HostUnreachableError    the host does not answer (stopped, restarting)
    ├── ProvisionError              a host could not be created, started or removed
    │   └── FlyAPIError             Fly's Machines API refused (provision/flyapi.py)
    ├── SecretKeyError              stored user secrets cannot be opened with COCKPIT_SECRET_KEY
    └── GitHubError                 GitHub's REST API refused a call or did not answer

Provider errors are translated into these where they enter; the user-facing
sentence for each lives next to it (`user_message`).
"""

from __future__ import annotations


class CockpitError(Exception):
    """Base of every error cockpit raises on purpose."""

    user_message = "Something went wrong on our side. Your message is kept; try again shortly."


class ConfigError(CockpitError):
    """A setting is missing or malformed."""


class StoreError(CockpitError):
    """The database refused an operation or cannot be reached."""


class InvalidDataError(StoreError):
    """The database refused a value (too long, out of range): the same request fails again."""


class ChannelError(CockpitError):
    """Sending a message through the messaging provider failed."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class TransientSendError(ChannelError):
    """A send failed in a way that is worth retrying (429, 5xx, network)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class UnknownOutcomeError(TransientSendError):
    """The request may have reached the provider: reconcile before retrying."""


class PermanentSendError(ChannelError):
    """The provider refused the message; retrying the same request cannot help."""


class MediaError(CockpitError):
    """An image could not be stored, read or fetched."""


class VoiceError(CockpitError):
    """A voice note could not be turned into text; `user_message` says why, plainly."""

    user_message = "I couldn't transcribe that voice note. Please type it instead."


class UnheardError(VoiceError):
    """The note is corrupt, empty, not audio, or the recogniser found no words in it."""

    user_message = "I couldn't hear anything in that voice note."


class TooLongError(VoiceError):
    """The note is longer than the host transcribes (COCKPIT_VOICE_MAX_SECONDS)."""

    def __init__(self, limit_seconds: float):
        super().__init__(f"voice note longer than {limit_seconds:g} s")
        self.limit_seconds = limit_seconds
        self.user_message = (
            f"That voice note is longer than {_duration(limit_seconds)}, the most I transcribe. "
            "Please send a shorter one, or type it."
        )

    def __reduce__(self) -> tuple[type[TooLongError], tuple[float]]:
        return (TooLongError, (self.limit_seconds,))  # raised in the transcriber's process


class SpeechModelError(VoiceError):
    """The speech model could not be loaded (e.g. Whisper's could not be downloaded)."""

    def __init__(self, model: str, reason: str):
        super().__init__(f"speech model {model} unavailable: {reason}")
        self.model, self.reason = model, reason
        self.user_message = (
            f"I couldn't load the speech model ({model}) on your workspace: {reason}. "
            "Please type your message for now."
        )

    def __reduce__(self) -> tuple[type[SpeechModelError], tuple[str, str]]:
        return (SpeechModelError, (self.model, self.reason))  # raised in the transcriber's process


def _duration(seconds: float) -> str:
    """`5 minutes`, `90 seconds`: a limit as a person says it."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' * (minutes != 1)}"
    return f"{seconds:g} seconds"


class HostError(CockpitError):
    """A user's agent host refused a request (`detail`: its JSON answer's `detail`)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status
        self.detail: object = None


class HostUnreachableError(HostError):
    """The user's host does not answer."""

    user_message = "your workspace is not answering right now"


class ProvisionError(CockpitError):
    """A user's host could not be created, started, reached or removed."""

    # A clause: the relay shows it in "couldn't pass it on yet (...)"; str() is for the operator.
    user_message = "your workspace could not be started; we are looking into it"


class SecretKeyError(CockpitError):
    """Stored user secrets do not open with the configured COCKPIT_SECRET_KEY."""

    user_message = "Your saved keys cannot be read right now. We are looking into it."


class GitHubError(CockpitError):
    """GitHub's REST API refused a call (`status` is its HTTP status) or did not answer."""

    user_message = "GitHub did not answer. Try again in a minute."

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status
