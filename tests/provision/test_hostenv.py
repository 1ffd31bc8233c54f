"""What a provisioner hands to a user's host: the stuck rules reach it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.config import Settings
from cockpit.core.thrashing import Limits
from cockpit.host.stuck import limits_of
from cockpit.provision.base import HostSpec
from cockpit.provision.hostenv import host_env


def test_the_relays_stuck_rules_reach_the_host_and_a_user_spec_can_change_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host reads the relay's thresholds from its environment; a user's spec wins."""
    relay = Settings(data_dir=tmp_path, stuck_failures=5, turn_budget_usd=2.5,
                     turn_budget_minutes=0)  # fmt: skip
    spec = HostSpec(user_id=1, phone="+15550001111", token="t",
                    env={"COCKPIT_STUCK_IDLE_STEPS": "12"})  # fmt: skip
    env = host_env(relay, spec, str(tmp_path / "host"), str(tmp_path / "ws"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    host = Settings()
    assert limits_of(host) == Limits(
        failures=5, flips=2, idle_steps=12, budget_usd=2.5, budget_minutes=None
    )
