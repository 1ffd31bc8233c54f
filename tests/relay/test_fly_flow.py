"""A relay whose hosts live on Fly: what the phone hears when Fly refuses to start one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.fly import FlyFake
from tests.relay.conftest import running_stack


def test_the_phone_hears_plain_words_when_fly_refuses_the_token(
    claude_db: str, tmp_path: Path, fly_fake: FlyFake, caplog: pytest.LogCaptureFixture
) -> None:
    """A token Fly rejects: the phone gets a plain clause, the operator's log what to fix."""
    overrides = {
        "agent": "claude", "provisioner": "fly", "fly_api_token": "revoked-token-999",
        "fly_app": "cockpit-hosts", "fly_api_base_url": fly_fake.url,
    }  # fmt: skip
    with running_stack(claude_db, tmp_path / "data", **overrides) as stack:
        stack.send("add a dark mode")
        bodies = stack.wait_for("couldn't pass it on yet")
    assert bodies[0] == (
        "I got your message but couldn't pass it on yet (your workspace could not be started "
        "because of a problem on our side, not yours). It is kept and I'll keep trying; "
        "no need to send it again."
    )
    assert all("revoked-token" not in body and "FLY_API_TOKEN" not in body for body in bodies)
    assert fly_fake.live_machines() == []
    logged = [r.fields["error"] for r in caplog.records if r.getMessage() == "dispatcher.postponed"]
    assert logged and "Set FLY_API_TOKEN to a valid token" in logged[0]
    assert all("revoked-token" not in str(getattr(r, "fields", "")) for r in caplog.records)
