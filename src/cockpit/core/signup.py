"""The rules of signing up: what a valid key, token, repository and code look like.

No I/O here; the web pages call these and show the ValueError's text to the person.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

CODE_DIGITS = 6
CODE_TTL_SECONDS = 600
CODE_MAX_ATTEMPTS = 5
CODE_RESEND_SECONDS = 30
SANDBOX_NUMBER = "+14155238886"  # Twilio's shared WhatsApp sandbox sender
PROOFS_PER_PHONE = 5  # click-to-chat codes alive at once for one number; older ones lapse


@dataclass(frozen=True)
class CodeRules:
    """How often codes may be sent and typed wrong, per phone, across codes."""

    max_failures: int = CODE_MAX_ATTEMPTS  # wrong tries before a lock
    resend_seconds: float = CODE_RESEND_SECONDS  # first wait; doubles with each new code
    max_resend_seconds: float = 3600
    first_lock_seconds: float = 900  # 15 min; doubles with each lock
    max_lock_seconds: float = 86400

    def resend_wait(self, issued: int) -> float:
        """Seconds to wait after the `issued`-th code before the next one may be sent."""
        if issued <= 0:
            return 0.0
        return float(min(self.resend_seconds * 2 ** (issued - 1), self.max_resend_seconds))

    def lock_seconds(self, failures: int) -> float:
        """How long the number is locked after its `failures`-th wrong try."""
        locks = max(failures // self.max_failures, 1)
        return float(min(self.first_lock_seconds * 2 ** (locks - 1), self.max_lock_seconds))


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `seconds` in one bucket (a session, an address, an invite)."""

    scope: str
    count: int
    seconds: float


# Codes asked for on the signup and sign-in pages, counted in the database for every relay.
SIGNUP_LIMITS = (Limit("session", 3, 3600), Limit("address", 10, 3600), Limit("invite", 50, 3600))
LOGIN_LIMITS = (Limit("session", 5, 3600), Limit("address", 20, 3600))
TOO_MANY = "Too many codes were asked for from here. Try again in an hour."

_ANTHROPIC = re.compile(r"^sk-ant-[A-Za-z0-9_-]{8,200}$")
_OPENAI = re.compile(r"^sk-[A-Za-z0-9_-]{16,200}$")
_GITHUB = re.compile(r"^(github_pat_[A-Za-z0-9_]{20,255}|gh[pousr]_[A-Za-z0-9]{20,255})$")
_OWNER_REPO = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})$")
_HTTPS_REPO = re.compile(r"^https://([A-Za-z0-9.-]+(?::\d{1,5})?)/([A-Za-z0-9._~/-]{1,300})$")


@dataclass(frozen=True)
class OptionalKey:
    """A key a person may add: its secret name, label, environment name and format."""

    name: str
    label: str
    env: str
    pattern: re.Pattern[str]
    example: str


OPTIONAL_KEYS = (
    OptionalKey("openai_api_key", "OpenAI API key", "OPENAI_API_KEY", _OPENAI, "sk-…"),
)


def too_soon(why: str, wait: float | None) -> str:
    """Why no new code is sent yet, and how long to wait: "resend" (one was just sent) or
    "locked" (too many wrong codes)."""
    if why == "locked":
        return f"Too many wrong codes for this number. Try again in {_duration(wait or 0)}."
    if wait is None:
        return "A code was just sent. Wait a moment before asking again."
    return f"A code was just sent. Wait {_duration(wait)} before asking again."


def _duration(seconds: float) -> str:
    """`45 s` or `15 min`: how long to wait, for a person."""
    if seconds < 90:
        return f"{int(seconds) + 1} s"
    return f"{int(seconds // 60) + 1} min"


def new_code() -> str:
    """A random 6-digit verification code."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(secret_key: str, phone: str, code: str) -> str:
    """The stored form of a code: an HMAC bound to the phone (the code itself is never kept)."""
    message = f"cockpit-phone-code:{phone}:{code}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def sent_code(secret_key: str, message_key: str) -> str:
    """The code a `code` message carries, derived from its outbox key (which holds a
    random nonce) when it is sent: the database never holds the code itself."""
    return session_code(secret_key, message_key, "sent")


def code_variables(secret_key: str, message_key: str) -> str:
    """The authentication template's variables for a `code` message: the code as {{1}}."""
    return json.dumps({"1": sent_code(secret_key, message_key)})


def session_code(secret_key: str, nonce: str, phone: str) -> str:
    """The click-to-chat code a page shows: derived from a nonce in the session, so the
    page can show it again without the code being stored anywhere."""
    mac = hmac.new(secret_key.encode(), f"cockpit-chat-code:{nonce}:{phone}".encode(), "sha256")
    return f"{int.from_bytes(mac.digest()[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


_CODE_MESSAGE = re.compile(r"^\s*(?:cockpit\s*)?([0-9]{6})\s*$", re.IGNORECASE)


def code_in_message(body: str) -> str | None:
    """The code of a WhatsApp message that is only a code (`482913`, `cockpit 482913`)."""
    match = _CODE_MESSAGE.match(body)
    return match.group(1) if match else None


def chat_link(sender: str | None, code: str) -> str:
    """The click-to-chat address that opens WhatsApp with `code` typed to `sender`."""
    digits = "".join(ch for ch in (sender or "").removeprefix("whatsapp:") if ch.isdigit())
    return f"https://wa.me/{digits}?text={quote(code)}"


def clean_code(raw: str) -> str:
    """The six digits a person typed (spaces allowed), or ValueError."""
    code = re.sub(r"\s", "", raw)
    if not (code.isascii() and code.isdigit() and len(code) == CODE_DIGITS):
        raise ValueError("The code is the 6 digits we sent you on WhatsApp.")
    return code


def check_invite(raw: str, valid: list[str]) -> None:
    """Raise ValueError unless `raw` is one of the configured invite codes."""
    given = raw.strip()
    if not valid:
        raise ValueError("Signup is by invitation only, and no invitations are open right now.")
    if not given or not any(hmac.compare_digest(given.encode(), c.encode()) for c in valid):
        raise ValueError("That invite code is not valid. Check it with the person who invited you.")


_OAUTH_TOKEN = re.compile(r"^sk-ant-oat[0-9]{2}-[A-Za-z0-9_-]{20,300}$")


def claude_credential(raw: str) -> tuple[str, str]:
    """A Claude credential as (kind, value): `oauth_token` for a subscription token from
    `claude setup-token` (`sk-ant-oat01-…`), else `api_key` for an API key; or ValueError."""
    text = raw.strip()
    if text.startswith("sk-ant-oat"):
        if not _OAUTH_TOKEN.match(text):
            raise ValueError(
                "That does not look like a whole Claude subscription token: copy the full "
                "sk-ant-oat01-… line that `claude setup-token` prints."
            )
        return "oauth_token", text
    return "api_key", anthropic_key(text)


def anthropic_key(raw: str) -> str:
    """A well-formed Anthropic API key (`sk-ant-…`), or ValueError."""
    key = raw.strip()
    if not _ANTHROPIC.match(key):
        raise ValueError(
            "That does not look like an Anthropic API key: it starts with sk-ant- and has no "
            "spaces. Create one at console.anthropic.com → API keys, or give a subscription "
            "token from `claude setup-token`."
        )
    return key


def optional_key(option: OptionalKey, raw: str) -> str | None:
    """A well-formed optional key, None when left empty, or ValueError."""
    key = raw.strip()
    if not key:
        return None
    if not option.pattern.match(key):
        raise ValueError(f"That does not look like an {option.label} ({option.example}).")
    return key


def github_token(raw: str) -> str:
    """A well-formed GitHub token (`github_pat_…`, `ghp_…`, OAuth `gho_…`), or ValueError."""
    token = raw.strip()
    if not _GITHUB.match(token):
        raise ValueError(
            "That does not look like a GitHub token: a fine-grained token starts with "
            "github_pat_ (classic ones with ghp_)."
        )
    return token


def repository(raw: str, github: str = "https://github.com") -> str:
    """The repository to clone as a URL: `owner/name` is on `github`; else https; or ValueError."""
    text = raw.strip()
    short = _OWNER_REPO.match(text)
    if short:
        return f"{github}/{short.group(1)}/{_strip_git(short.group(2))}"
    url = _HTTPS_REPO.match(text)
    if url and ".." not in url.group(2) and url.group(2).strip("/").count("/") >= 1:
        return f"https://{url.group(1)}/{_strip_git(url.group(2).strip('/'))}"
    raise ValueError(
        "Give the repository as owner/name (on GitHub) or as an https:// address, "
        "e.g. https://github.com/you/your-app."
    )


def _strip_git(path: str) -> str:
    return path[:-4] if path.endswith(".git") else path


def is_sandbox(whatsapp_from: str | None, sandbox_keyword: str | None) -> bool:
    """True when the WhatsApp sender is Twilio's sandbox, where people must join first."""
    number = (whatsapp_from or "").removeprefix("whatsapp:")
    return bool(sandbox_keyword) or number == SANDBOX_NUMBER


def code_message(code: str) -> str:
    """The WhatsApp message that carries a verification code."""
    minutes = CODE_TTL_SECONDS // 60
    return (
        f"Your cockpit code is {code}. It expires in {minutes} minutes. "
        "If you did not ask for it, ignore this message."
    )


PROVEN = {
    "signup": "✅ Your number is confirmed. Go back to the signup page to continue.",
    "login": "✅ Signed in. Go back to the account page.",
}
WELCOME = "You're set up. Send me anything to start."
GOODBYE = "Your cockpit account is deleted: your workspace is gone and your keys are erased."
