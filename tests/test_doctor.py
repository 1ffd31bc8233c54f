"""`cockpit doctor`'s credential and Twilio checks, against the phone simulator's Twilio API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from cockpit.channels.simulator import PhoneSimulator
from cockpit.config import load_settings
from cockpit.doctor import CheckResult, run_checks
from tests.live import bound_socket, serve

SID = "AC" + "d" * 32
TOKEN = "doctor-auth-token"
SENDER = "+15550007777"
API_KEY = "sk-ant-api03-" + "D0ct" * 20


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[str]:
    """The phone simulator's Twilio REST API on a loopback port, owning SENDER."""
    sim = PhoneSimulator(account_sid=SID, auth_token=TOKEN, whatsapp_from=SENDER,
                         webhook_url="http://127.0.0.1:9/twilio/messages")  # fmt: skip
    app = FastAPI()
    app.include_router(sim.router)
    sock = bound_socket()
    with serve(app, sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def check(name: str, tmp_path: Path, **values: Any) -> CheckResult:
    """The result of the doctor check `name` with these settings."""
    settings = load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/c.db",
                             **values)  # fmt: skip
    (found,) = [r for r in run_checks(settings) if r.name == name]
    return found


def test_no_claude_credential_fails_with_both_fixes(tmp_path: Path) -> None:
    """Without an API key or a subscription token the check fails and names both fixes."""
    result = check("claude credential", tmp_path, agent="claude")
    assert not result.ok
    assert "ANTHROPIC_API_KEY" in result.fix and "claude setup-token" in result.fix


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"anthropic_api_key": "sk-proj-openai-key"}, "ANTHROPIC_API_KEY"),
        ({"claude_code_oauth_token": "sk-ant-oat01-short"}, "CLAUDE_CODE_OAUTH_TOKEN"),
        ({"anthropic_api_key": "sk-ant-oat01-" + "x" * 40}, "ANTHROPIC_API_KEY"),  # wrong place
    ],
)
def test_a_malformed_credential_fails_naming_it(
    tmp_path: Path, values: dict[str, str], named: str
) -> None:
    """A credential that is not the right shape for its setting is flagged by name."""
    result = check("claude credential", tmp_path, agent="claude", **values)
    assert not result.ok and named in result.detail and "claude setup-token" in result.fix


def test_a_good_credential_passes(tmp_path: Path) -> None:
    """A well-formed API key passes the credential check."""
    assert check("claude credential", tmp_path, agent="claude", anthropic_api_key=API_KEY).ok


def test_twilio_credentials_and_sender_are_checked_against_twilio(
    tmp_path: Path, twilio_api: str
) -> None:
    """Right SID, token and sender: ok. A wrong token: Twilio refuses it. A sender the
    account does not own: named as such."""
    base = dict(twilio_account_sid=SID, twilio_api_base_url=twilio_api,
                public_url="https://relay.example.com")  # fmt: skip
    good = check("twilio", tmp_path, twilio_auth_token=TOKEN, twilio_whatsapp_from=SENDER, **base)
    assert good.ok and SENDER in good.detail
    bad = check("twilio", tmp_path, twilio_auth_token="wrong", twilio_whatsapp_from=SENDER, **base)
    assert not bad.ok and "refused" in bad.detail and "console.twilio.com" in bad.fix
    other = check("twilio", tmp_path, twilio_auth_token=TOKEN,
                  twilio_whatsapp_from="+15550001111", **base)  # fmt: skip
    assert not other.ok and "+15550001111 is not a phone number of this Twilio account" in (
        other.detail
    )


def test_an_unreachable_twilio_is_reported(tmp_path: Path) -> None:
    """Twilio's API not answering is a failure with what to check."""
    result = check("twilio", tmp_path, twilio_account_sid=SID, twilio_auth_token=TOKEN,
                   twilio_whatsapp_from=SENDER,
                   twilio_api_base_url="http://127.0.0.1:9")  # fmt: skip
    assert not result.ok and "did not answer" in result.detail
