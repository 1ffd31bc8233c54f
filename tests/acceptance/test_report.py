"""`cockpit report` over the data of a real run: the figures a person can check by hand."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.core.clock import utcnow
from cockpit.store import heartbeats, outbox, users
from cockpit.store.migrate import upgrade
from tests.acceptance.test_cli import cockpit
from tests.fakes.anthropic import AnthropicFake, error, say
from tests.live import wait_until
from tests.relay.conftest import ADA, Stack, claude_overrides, host_answers, running_stack
from tests.requirements import require_claude_cli

pytestmark = [pytest.mark.claude, pytest.mark.slow]
BOB = "+15551230002"
ADMIN_PASSWORD = "operator passphrase"
BEAT = 1.0  # seconds between heartbeats: a beat vouches for 2 s, so load cannot fake an outage


def _settled(stack: Stack) -> bool:
    rows = outbox.for_recipient(stack.db, ADA)
    return bool(rows) and all(r.status in ("sent", "delivered", "read") for r in rows)


def _run_with_claude(stack: Stack, fake: AnthropicFake) -> str:
    """Two sessions (one task done, one failed) and a reply Twilio refuses; the cost line."""
    users.add_user(stack.db, BOB, "Bob")  # registered, never writes
    fake.script([say("Hello from Claude.")])
    stack.send("say hello")
    cost_line = stack.wait_for("✅ Done")[-1]
    stack.send("/new side")
    stack.wait_for("Started session *side*")
    fake.script([error(529, "overloaded_error")])
    stack.send("break something")
    stack.wait_for("overloaded")
    wait_until(lambda: _settled(stack), timeout=15)
    stack.sim.faults.fail_next, stack.sim.faults.fail_status = 1, 400
    stack.send("/help")
    wait_until(lambda: outbox.for_recipient(stack.db, ADA)[-1].status == "failed")
    return cost_line


def _admin_page(stack: Stack, path: str) -> str:
    with httpx.Client(base_url=stack.relay_url, timeout=10) as client:
        assert client.post("/admin/login", data={"password": ADMIN_PASSWORD}).status_code == 303
        return client.get(path).text


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_report_prints_the_figures_of_a_real_run(
    tmp_path: Path, anthropic_fake: AnthropicFake
) -> None:
    """After a run with a failed delivery and a relay restart, every figure is the true one
    (and /admin shows the provisioner's state of each host during the run)."""
    require_claude_cli()
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(url)
    data = tmp_path / "data"
    overrides = claude_overrides(anthropic_fake) | {"heartbeat_seconds": BEAT,
                                                    "admin_password": ADMIN_PASSWORD}  # fmt: skip
    with running_stack(url, data, **overrides) as stack:
        wait_until(lambda: host_answers(data / "hosts" / "15551230001"), timeout=90)
        cost_line = _run_with_claude(stack, anthropic_fake)
        hosts_page = _admin_page(stack, "/admin/hosts")
        stopped = utcnow()
    time.sleep(3 * BEAT)  # the relay is down: no heartbeats
    restarted = utcnow()
    with running_stack(url, data, heartbeat_seconds=BEAT) as echo:
        wait_until(lambda: (heartbeats.last_at(echo.db) or stopped) > restarted)
        back = utcnow()
        time.sleep(0.2)
        until = utcnow()

    window = ("--since", "1h", "--until", until.isoformat(), "--grace", "0s")
    result = cockpit(tmp_path, "report", "--json", *window, COCKPIT_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["messages_in"] == 4
    assert figures["messages_without_reply"] == 1 and figures["without_reply"][0]["from"] == ADA
    assert figures["failed_deliveries"] == 1 and figures["failed"][0]["to"] == ADA
    assert figures["misrouted_replies"] == 0
    assert (figures["users"], figures["active_users"]) == (2, 1)
    assert (figures["sessions"], figures["sessions_completed"]) == (2, 1)
    assert figures["sessions_completed_percent"] == 50.0
    assert (figures["tasks"], figures["tasks_done"]) == (2, 1)
    assert f"${figures['cost_usd']:.4f}" in cost_line and figures["cost_usd"] > 0
    assert figures["cost_per_active_user_usd"] == figures["cost_usd"]
    ((down_from, down_to),) = figures["outages"]
    assert stopped < _moment(down_from) < _moment(down_to) and restarted <= _moment(down_to)
    assert _moment(down_to) <= back
    measured = (until - _moment(figures["uptime_measured_from"])).total_seconds()
    down = (_moment(down_to) - _moment(down_from)).total_seconds()
    assert figures["downtime_seconds"] == pytest.approx(down, abs=0.1)
    # JSON times are to the millisecond and the percentage to 0.01: a few ms of slack.
    assert figures["uptime_percent"] == pytest.approx(100 * (1 - down / measured), abs=0.05)

    # The operator sees the same run on /admin: Ada's host is up, Bob has none yet.
    assert re.search(r"Ada \+15551230001</td>\s*<td class=\"ok\">running</td>", hosts_page)
    assert re.search(r"Bob \+15551230002</td>\s*<td class=\"bad\">absent</td>", hosts_page)

    # The tables, in-process (the subprocess above already proved the command's wiring).
    table = CliRunner().invoke(app, ["report", *window], env={"COCKPIT_DATABASE_URL": url,
                                                              "COLUMNS": "200"})  # fmt: skip
    assert table.exit_code == 0, table.output
    for name, value in (("messages without a reply", "1"), ("failed deliveries", "1"),
                        ("misrouted replies", "0"), ("active users", "1"),
                        ("sessions completed from WhatsApp", "50.00%")):  # fmt: skip
        assert re.search(rf"{name}\s*│\s*{re.escape(value)}\s*│", table.output), table.output
