"""Why a turn failed, said plainly to the user: each kind with its sentence.

Kinds: overloaded, api_error, auth (a refused or missing credential), cli_crash,
interrupted, timeout, internal, voice.
Claude Code reports Anthropic's HTTP errors in its result (`api_error_status`)
after its own retries; crashes of the CLI arrive as SDK exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    """One failed turn: a kind, a sentence for the user, and whether retry can help."""

    kind: str
    message: str
    retryable: bool

    def payload(self) -> dict[str, object]:
        """The `error` event's payload."""
        return {"kind": self.kind, "message": self.message, "retryable": self.retryable}


_RETRY = "Your message is kept: reply *retry* to run it again."


def from_api_status(status: int | None, detail: str | None) -> Failure:
    """The failure for an Anthropic API error that Claude Code gave up on."""
    if status == 529:
        return Failure("overloaded", f"Anthropic is overloaded right now (529). {_RETRY}", True)
    if status in (401, 403):
        return Failure(
            "auth",
            f"The API key was refused by Anthropic ({status}). Update it and reply *retry*.",
            True,
        )
    if status == 429:
        return Failure("api_error", f"Anthropic's rate limit was reached (429). {_RETRY}", True)
    if status is not None:
        return Failure("api_error", f"Anthropic answered with an error ({status}). {_RETRY}", True)
    return Failure(
        "api_error", f"Claude Code stopped with an error: {_short(detail)}. {_RETRY}", True
    )


NO_CREDENTIALS = (
    "Claude Code has no Anthropic credential here, so it cannot answer. Set ANTHROPIC_API_KEY "
    "or CLAUDE_CODE_OAUTH_TOKEN (from `claude setup-token`) in .env and restart, or add your "
    "API key or subscription token on your account page; then reply *retry*."
)


def no_credentials() -> Failure:
    """Claude Code found neither an API key nor a subscription token ("Not logged in")."""
    return Failure("auth", NO_CREDENTIALS, True)


def cli_crash(reason: str) -> Failure:
    """Claude Code exited or could not start."""
    return Failure("cli_crash", f"Claude Code crashed: {_short(reason)}. Reply *retry*.", True)


def interrupted() -> Failure:
    """The user stopped the turn before Claude Code reported a result."""
    return Failure("interrupted", "Stopped. Reply *retry* to run it again.", True)


def dropped() -> Failure:
    """A queued turn was dropped before it started."""
    return Failure("interrupted", "Dropped before it started. Reply *retry* to run it.", True)


def host_restarted(sha: str | None = None, subject: str | None = None) -> Failure:
    """The host stopped while the turn ran; say where the code stands."""
    where = f" Last commit {sha[:7]} “{_short(subject, 60)}”." if sha else ""
    return Failure(
        "internal",
        f"Your workspace restarted while this ran.{where} Reply *resume* to continue.",
        True,
    )


def internal(reason: str) -> Failure:
    """A bug or an unexpected condition on the host."""
    return Failure(
        "internal", f"Something went wrong on the workspace: {_short(reason)}. {_RETRY}", True
    )


def _short(text: str | None, limit: int = 160) -> str:
    flat = " ".join(str(text or "unknown reason").split()).rstrip(".")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def voice(message: str) -> Failure:
    """A voice note could not be heard; `message` says why (see errors.VoiceError)."""
    return Failure("voice", message, False)
