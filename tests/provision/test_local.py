"""The local provisioner runs the real `cockpit host` as a supervised subprocess per user."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cockpit.config import load_settings
from cockpit.provision.base import HostSpec
from cockpit.provision.errors import ProvisionError
from cockpit.provision.local import LocalProvisioner
from cockpit.provision.pidfile import host_pids, process_alive

ALICE = HostSpec(user_id=1, phone="+15550001111", token="alice-token")
BOB = HostSpec(user_id=2, phone="+15550002222", token="bob-token")


async def _health(url: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"{url}/health", headers=headers)


async def _until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll `check` until it is true, failing after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"not true within {within} s")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
async def restarts() -> list[int]:
    """The user ids `on_restart` was called with."""
    return []


@pytest.fixture
async def local(tmp_path: Path, restarts: list[int]) -> AsyncIterator[LocalProvisioner]:
    """A LocalProvisioner on a fresh data folder, closed after the test."""

    async def on_restart(user_id: int) -> None:
        restarts.append(user_id)

    provisioner = LocalProvisioner(load_settings(data_dir=tmp_path), on_restart=on_restart)
    yield provisioner
    await provisioner.aclose()


async def test_create_runs_a_host_that_answers_with_its_token(
    local: LocalProvisioner, tmp_path: Path
) -> None:
    """A created host answers /health in full with its token, and only its state without."""
    endpoint = await local.create(ALICE)
    full = await _health(endpoint.url, endpoint.token)
    assert full.status_code == 200
    assert full.json()["branch"] == "main"
    assert (await _health(endpoint.url)).json() == {"state": "idle"}
    assert await local.status(ALICE.user_id) == "running"
    assert (tmp_path / "hosts" / "15550001111" / "host.log").exists()
    assert (tmp_path / "workspaces" / "15550001111" / ".git").is_dir()


async def test_create_again_returns_the_same_running_host(local: LocalProvisioner) -> None:
    """Creating a user's host twice keeps one process and one endpoint."""
    first = await local.create(ALICE)
    pid = local.pid(ALICE.user_id)
    second = await local.create(ALICE)
    assert second == first
    assert local.pid(ALICE.user_id) == pid
    assert await local.endpoint(ALICE.user_id) == first


@pytest.mark.slow
async def test_a_killed_host_is_restarted_and_the_relay_told(
    local: LocalProvisioner, restarts: list[int]
) -> None:
    """A host killed with SIGKILL comes back on its own and `on_restart` hears of it."""
    await local.create(ALICE)
    pid = local.pid(ALICE.user_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    async def back() -> bool:
        new_pid = local.pid(ALICE.user_id)
        return new_pid not in (None, pid) and await local.status(ALICE.user_id) == "running"

    await _until(back)
    endpoint = await local.endpoint(ALICE.user_id)
    assert endpoint is not None
    assert (await _health(endpoint.url, endpoint.token)).status_code == 200

    async def told() -> bool:
        return restarts == [ALICE.user_id]

    await _until(told, within=5)


async def test_a_second_user_is_refused_on_an_unshared_machine(local: LocalProvisioner) -> None:
    """Without COCKPIT_ALLOW_SHARED_HOST the local provisioner serves one user only."""
    await local.create(ALICE)
    with pytest.raises(ProvisionError, match="COCKPIT_ALLOW_SHARED_HOST"):
        await local.create(BOB)
    assert await local.status(BOB.user_id) == "absent"


async def test_a_shared_machine_runs_one_host_per_user(tmp_path: Path) -> None:
    """With COCKPIT_ALLOW_SHARED_HOST two users get two hosts with their own tokens."""
    provisioner = LocalProvisioner(load_settings(data_dir=tmp_path, allow_shared_host=True))
    try:
        alice, bob = await asyncio.gather(provisioner.create(ALICE), provisioner.create(BOB))
        assert alice.url != bob.url
        assert (await _health(bob.url, bob.token)).json()["branch"] == "main"
        assert (await _health(bob.url, alice.token)).json() == {"state": "idle"}
    finally:
        await provisioner.aclose()


async def test_stop_and_start_keep_the_workspace(local: LocalProvisioner, tmp_path: Path) -> None:
    """A stopped host stops answering and comes back with the same workspace on start."""
    endpoint = await local.create(ALICE)
    marker = tmp_path / "workspaces" / "15550001111" / "notes.txt"
    marker.write_text("kept")
    await local.stop(ALICE.user_id)
    assert await local.status(ALICE.user_id) == "stopped"
    with pytest.raises(httpx.TransportError):
        await _health(endpoint.url)
    await local.start(ALICE.user_id)
    again = await local.endpoint(ALICE.user_id)
    assert again is not None
    assert (await _health(again.url, again.token)).status_code == 200
    assert marker.read_text() == "kept"


async def test_destroy_removes_the_workspace_it_made_but_never_a_given_one(
    local: LocalProvisioner, tmp_path: Path
) -> None:
    """Destroying a host removes its data folder and the workspace the relay made for it;
    a repository the operator named (`users add --repo`) is left alone."""
    await local.create(ALICE)
    made = tmp_path / "workspaces" / "15550001111"
    assert made.is_dir()
    await local.destroy(ALICE.user_id)
    assert not made.exists() and not (tmp_path / "hosts" / "15550001111").exists()
    own = tmp_path / "operators-repo"
    await local.create(HostSpec(user_id=3, phone="+15550003333", token="t", workspace=own))
    await local.destroy(3)
    assert (own / ".git").is_dir()


async def test_aclose_leaves_no_host_process(tmp_path: Path) -> None:
    """Closing the provisioner terminates every host it started."""
    provisioner = LocalProvisioner(load_settings(data_dir=tmp_path))
    await provisioner.create(ALICE)
    pid = provisioner.pid(ALICE.user_id)
    assert pid is not None
    await provisioner.aclose()
    assert _gone(pid)
    assert await provisioner.status(ALICE.user_id) == "absent"


async def test_a_host_that_cannot_start_is_reported_with_its_log(local: LocalProvisioner) -> None:
    """A host that exits at start-up fails `create` with the end of its log in the error."""
    no_token = HostSpec(user_id=3, phone="+15550003333", token="")
    with pytest.raises(ProvisionError, match="COCKPIT_HOST_TOKEN"):
        await local.create(no_token)
    assert await local.status(no_token.user_id) == "absent"


async def test_relay_secrets_do_not_reach_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host process gets its token and the Anthropic key, never the relay's Twilio secrets."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "twilio-secret")
    monkeypatch.setenv("COCKPIT_SECRET_KEY", "relay-secret")
    settings = load_settings(data_dir=tmp_path, anthropic_api_key="sk-test-key")
    provisioner = LocalProvisioner(settings)
    try:
        await provisioner.create(ALICE)
        pid = provisioner.pid(ALICE.user_id)
        raw = await asyncio.to_thread(Path(f"/proc/{pid}/environ").read_bytes)
        environ = raw.split(b"\0")
    finally:
        await provisioner.aclose()
    assert b"COCKPIT_HOST_TOKEN=alice-token" in environ
    assert b"ANTHROPIC_API_KEY=sk-test-key" in environ
    assert not [v for v in environ if b"twilio-secret" in v or b"relay-secret" in v]


# A relay in a child process: it creates one host, reports it, then waits to be killed.
_DOOMED_RELAY = """
import asyncio, json, sys
from pathlib import Path
from cockpit.config import load_settings
from cockpit.provision.base import HostSpec
from cockpit.provision.local import LocalProvisioner

async def main():
    local = LocalProvisioner(load_settings(data_dir=Path(sys.argv[1])))
    spec = HostSpec(user_id=1, phone=sys.argv[2], token=sys.argv[3])
    endpoint = await local.create(spec)
    print("READY " + json.dumps({"url": endpoint.url, "pid": local.pid(1)}), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _alice_dir(tmp_path: Path) -> Path:
    return (tmp_path / "hosts" / "15550001111").resolve()


@pytest.fixture
def no_orphans(tmp_path: Path) -> Iterator[None]:
    """Kills any host a test left running on its data folder, even when the test failed."""
    yield
    for pid in host_pids(_alice_dir(tmp_path)):
        os.killpg(pid, signal.SIGKILL)


async def _relay_dies_leaving_a_host(tmp_path: Path, token: str = ALICE.token) -> tuple[str, int]:
    """Run a relay in a child process, SIGKILL it once its host is up; the host's url and pid."""
    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _DOOMED_RELAY,
        str(tmp_path),
        ALICE.phone,
        token,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert relay.stdout is not None
        line = b""
        while not line.startswith(b"READY "):
            line = await asyncio.wait_for(relay.stdout.readline(), 60)
            assert line, "the child relay exited before its host was up"
    finally:
        relay.kill()
        await relay.wait()
    report = json.loads(line.removeprefix(b"READY "))
    assert (await _health(report["url"], token)).status_code == 200  # the host outlived it
    return report["url"], report["pid"]


@pytest.mark.slow
@pytest.mark.usefixtures("no_orphans")
async def test_a_restarted_relay_adopts_the_host_a_killed_relay_left_running(
    local: LocalProvisioner, tmp_path: Path
) -> None:
    """After a relay is SIGKILLed, the next one reuses its running host: same port, one process."""
    url, pid = await _relay_dies_leaving_a_host(tmp_path)
    endpoint = await local.create(ALICE)
    assert endpoint.url == url
    assert local.pid(ALICE.user_id) == pid
    assert await local.status(ALICE.user_id) == "running"
    assert (await _health(endpoint.url, endpoint.token)).status_code == 200
    assert host_pids(_alice_dir(tmp_path)) == [pid]


async def test_the_pid_file_names_the_host_without_its_token(
    local: LocalProvisioner, tmp_path: Path
) -> None:
    """host.pid records the host's pid, port and token hash, never the token, and goes on stop."""
    endpoint = await local.create(ALICE)
    pid_file = _alice_dir(tmp_path) / "host.pid"
    record = json.loads(pid_file.read_text())
    assert record == {
        "pid": local.pid(ALICE.user_id),
        "port": int(endpoint.url.rsplit(":", 1)[1]),
        "token_sha256": hashlib.sha256(ALICE.token.encode()).hexdigest(),
    }
    assert ALICE.token not in pid_file.read_text()
    await local.stop(ALICE.user_id)
    assert not pid_file.exists()


@pytest.mark.slow
@pytest.mark.usefixtures("no_orphans")
async def test_an_adopted_host_that_dies_is_restarted_and_the_relay_told(
    local: LocalProvisioner, restarts: list[int], tmp_path: Path
) -> None:
    """An adopted host is supervised: killed, it comes back and `on_restart` hears of it."""
    _, pid = await _relay_dies_leaving_a_host(tmp_path)
    await local.create(ALICE)
    os.kill(pid, signal.SIGKILL)

    async def back() -> bool:
        new_pid = local.pid(ALICE.user_id)
        return new_pid not in (None, pid) and await local.status(ALICE.user_id) == "running"

    await _until(back)
    endpoint = await local.endpoint(ALICE.user_id)
    assert endpoint is not None
    assert (await _health(endpoint.url, endpoint.token)).status_code == 200
    assert host_pids(_alice_dir(tmp_path)) == [local.pid(ALICE.user_id)]

    async def told() -> bool:
        return restarts == [ALICE.user_id]

    await _until(told, within=5)


async def test_a_pid_file_naming_a_dead_process_does_not_block_a_fresh_host(
    local: LocalProvisioner, tmp_path: Path
) -> None:
    """A stale host.pid (its process long gone) is ignored: a fresh host starts and is recorded."""
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    data_dir = _alice_dir(tmp_path)
    data_dir.mkdir(parents=True)
    token_hash = hashlib.sha256(ALICE.token.encode()).hexdigest()
    stale = {"pid": dead.pid, "port": 1, "token_sha256": token_hash}
    (data_dir / "host.pid").write_text(json.dumps(stale))
    endpoint = await local.create(ALICE)
    pid = local.pid(ALICE.user_id)
    assert pid not in (None, dead.pid)
    assert (await _health(endpoint.url, endpoint.token)).status_code == 200
    assert json.loads((data_dir / "host.pid").read_text())["pid"] == pid


@pytest.mark.slow
@pytest.mark.usefixtures("no_orphans")
async def test_a_left_running_host_with_another_token_is_replaced(
    local: LocalProvisioner, tmp_path: Path
) -> None:
    """A host left running with a token other than the user's is ended before a fresh one starts."""
    _, old = await _relay_dies_leaving_a_host(tmp_path, token="an-older-token")
    endpoint = await local.create(ALICE)
    pid = local.pid(ALICE.user_id)
    assert pid not in (None, old)
    assert not process_alive(old)
    assert (await _health(endpoint.url, ALICE.token)).json()["branch"] == "main"
    assert host_pids(_alice_dir(tmp_path)) == [pid]


@pytest.mark.slow
@pytest.mark.usefixtures("no_orphans")
async def test_a_left_running_host_that_does_not_answer_is_replaced(
    local: LocalProvisioner, tmp_path: Path
) -> None:
    """A left-running host that does not answer /health (SIGSTOPped) is ended, not shared."""
    _, old = await _relay_dies_leaving_a_host(tmp_path)
    os.kill(old, signal.SIGSTOP)
    endpoint = await local.create(ALICE)
    pid = local.pid(ALICE.user_id)
    assert pid not in (None, old)
    assert not process_alive(old)
    assert (await _health(endpoint.url, endpoint.token)).status_code == 200
    assert host_pids(_alice_dir(tmp_path)) == [pid]


@pytest.mark.slow
@pytest.mark.usefixtures("no_orphans")
async def test_stop_and_aclose_end_an_adopted_host(tmp_path: Path) -> None:
    """An adopted host is stopped by `stop` and, once started again, by `aclose`, like any other."""
    _, adopted = await _relay_dies_leaving_a_host(tmp_path)
    provisioner = LocalProvisioner(load_settings(data_dir=tmp_path))
    try:
        await provisioner.create(ALICE)
        assert provisioner.pid(ALICE.user_id) == adopted
        await provisioner.stop(ALICE.user_id)
        assert not process_alive(adopted)
        assert await provisioner.status(ALICE.user_id) == "stopped"
        assert provisioner.pid(ALICE.user_id) is None
        assert not (_alice_dir(tmp_path) / "host.pid").exists()
    finally:
        await provisioner.aclose()
    _, adopted = await _relay_dies_leaving_a_host(tmp_path)
    provisioner = LocalProvisioner(load_settings(data_dir=tmp_path))
    await provisioner.create(ALICE)
    assert provisioner.pid(ALICE.user_id) == adopted
    await provisioner.aclose()
    assert not process_alive(adopted)
    assert host_pids(_alice_dir(tmp_path)) == []
