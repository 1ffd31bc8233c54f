"""The fly provisioner runs each user's host on a Fly Machine, against the Machines API stand-in."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.config import Settings, load_settings
from cockpit.provision.base import HostSpec
from cockpit.provision.errors import ProvisionError
from cockpit.provision.fly import FlyProvisioner, host_state
from cockpit.provision.flyapi import FlyAPIError, FlyClient, authorization
from cockpit.provision.health import wait_healthy
from cockpit.provision.hostenv import free_port
from tests.fakes.fly import FlyFake

APP = "cockpit-hosts"
ADA = HostSpec(user_id=7, phone="+15551230001", token="host-token-of-ada")


class Sleeps:
    """Records the backoff delays instead of sleeping through them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def fly_settings(fake: FlyFake, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of a relay whose hosts run on the stand-in's app."""
    values: dict[str, Any] = dict(
        data_dir=tmp_path, provisioner="fly", fly_api_token=fake.token, fly_app=APP,
        fly_api_base_url=fake.url, host_image="registry.fly.io/cockpit-hosts:v1",
        fly_region="ams", anthropic_api_key="sk-ant-test",
    )  # fmt: skip
    return load_settings(**(values | overrides))


def provisioner(
    settings: Settings, sleeps: Sleeps, token: str | None = None, ready_timeout: float = 5.0
) -> FlyProvisioner:
    """A provisioner with quick polling and recorded (not slept) backoff."""
    assert settings.fly_api_token is not None
    client = FlyClient(
        base_url=settings.fly_api_base_url,
        token=token or settings.fly_api_token.get_secret_value(),
        app=APP,
        sleep=sleeps,
    )
    return FlyProvisioner(settings, client=client, ready_timeout=ready_timeout, poll_seconds=0.01)


@pytest.fixture
def sleeps() -> Sleeps:
    """The delays the client chose between tries."""
    return Sleeps()


@pytest.fixture
async def fly(fly_fake: FlyFake, tmp_path: Path, sleeps: Sleeps) -> AsyncIterator[FlyProvisioner]:
    """A fly provisioner talking to the stand-in."""
    prov = provisioner(fly_settings(fly_fake, tmp_path), sleeps)
    yield prov
    await prov.aclose()


async def test_create_runs_a_machine_with_environment_size_volume_and_restart_policy(
    fly: FlyProvisioner, fly_fake: FlyFake
) -> None:
    """The host machine gets the image, the host's env, its guest size, a volume at /data."""
    endpoint = await fly.create(ADA)
    [machine] = fly_fake.live_machines()
    [volume] = fly_fake.live_volumes()
    assert endpoint.url == f"http://{machine.id}.vm.{APP}.internal:8080"
    assert endpoint.token == "host-token-of-ada"
    config = machine.config
    assert config["image"] == "registry.fly.io/cockpit-hosts:v1"
    assert config["env"]["COCKPIT_HOST_TOKEN"] == "host-token-of-ada"
    assert config["env"]["ANTHROPIC_API_KEY"] == "sk-ant-test"
    assert config["env"]["COCKPIT_WORKSPACE"] == "/data/workspace"
    assert config["guest"] == {"cpu_kind": "shared", "cpus": 2, "memory_mb": 2048}
    assert config["restart"] == {"policy": "always"}
    assert config["mounts"] == [{"volume": volume["id"], "path": "/data"}]
    assert config["init"]["cmd"] == ["cockpit", "host", "--host", "::", "--port", "8080"]
    assert (machine.name, machine.region) == ("cockpit-host-15551230001", "ams")
    assert (volume["name"], volume["size_gb"], volume["region"]) == ("cockpit_ws_7", 10, "ams")
    assert await fly.status(ADA.user_id) == "running"


async def test_the_machine_config_runs_a_real_host(
    fly: FlyProvisioner, fly_fake: FlyFake, tmp_path: Path
) -> None:
    """What Fly would run (the command and env sent, /data on a folder) is a working host."""
    await fly.create(ADA)
    [machine] = fly_fake.live_machines()
    program, *args = machine.config["init"]["cmd"]
    port = free_port()  # Fly gives each machine its own address; here the port must be free
    args[-1] = str(port)
    volume = str(tmp_path / "volume")
    env = {k: v.replace("/data", volume, 1) for k, v in machine.config["env"].items()}
    env |= {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG")}
    env["HOME"] = str(tmp_path / "home")
    host = await asyncio.create_subprocess_exec(sys.executable, "-m", program, *args, env=env)
    try:
        url = f"http://[::1]:{port}"
        assert await wait_healthy(url, 60, alive=lambda: host.returncode is None) is None
        async with httpx.AsyncClient(timeout=10) as client:
            bearer = {"Authorization": f"Bearer {ADA.token}"}
            status = (await client.get(f"{url}/health", headers=bearer)).json()
        assert "sessions" in status  # the token the provisioner gave the machine is the host's
        assert (tmp_path / "volume" / "workspace" / ".git").is_dir()
    finally:
        host.terminate()
        await host.wait()


@pytest.mark.parametrize(
    ("fly_state", "checks", "shown"),
    [
        ("started", [{"name": "health", "status": "passing"}], "running"),
        ("started", [{"name": "health", "status": "critical"}], "starting"),
        ("replacing", [], "starting"),
        ("suspended", [], "stopped"),
        ("failed", [], "failed"),
        ("destroying", [], "absent"),
        ("something-new", [], "failed"),
    ],
)
def test_fly_states_map_to_host_states(fly_state: str, checks: list[Any], shown: str) -> None:
    """What /status and the admin page show for each Fly machine state and its check."""
    assert host_state({"state": fly_state, "checks": checks}) == shown


async def test_creating_twice_reuses_the_machine(fly: FlyProvisioner, fly_fake: FlyFake) -> None:
    """A second create (a restarted relay) finds the machine by its metadata and makes none."""
    first = await fly.create(ADA)
    again = await fly.create(ADA)
    assert again == first
    assert len(fly_fake.live_machines()) == 1 and len(fly_fake.live_volumes()) == 1
    assert len(fly_fake.calls("POST", r"/machines$")) == 1


async def test_stop_start_and_destroy(fly: FlyProvisioner, fly_fake: FlyFake) -> None:
    """Stop keeps the volume, start and create bring the same machine back, destroy removes all."""
    await fly.create(ADA)
    [machine] = fly_fake.live_machines()
    await fly.stop(ADA.user_id)
    assert await fly.status(ADA.user_id) == "stopped"
    await fly.stop(ADA.user_id)  # stopping a stopped host is a no-op
    await fly.start(ADA.user_id)
    assert await fly.status(ADA.user_id) == "running"
    await fly.stop(ADA.user_id)
    await fly.create(ADA)  # a stopped host is started, not replaced
    assert [m.id for m in fly_fake.live_machines()] == [machine.id]
    await fly.destroy(ADA.user_id)
    await fly.destroy(ADA.user_id)
    assert fly_fake.live_machines() == [] and fly_fake.live_volumes() == []
    assert await fly.status(ADA.user_id) == "absent"
    assert await fly.endpoint(ADA.user_id) is None


async def test_the_endpoint_is_not_looked_up_on_every_message(
    fly: FlyProvisioner, fly_fake: FlyFake
) -> None:
    """The relay asks for the endpoint per message; it comes from memory, not a Fly list call."""
    created = await fly.create(ADA)
    lists = len(fly_fake.calls("GET", r"/machines$"))
    assert [await fly.endpoint(ADA.user_id) for _ in range(5)] == [created] * 5
    assert len(fly_fake.calls("GET", r"/machines$")) == lists
    await fly.destroy(ADA.user_id)
    assert await fly.endpoint(ADA.user_id) is None


async def test_rate_limits_are_waited_out(
    fly: FlyProvisioner, fly_fake: FlyFake, sleeps: Sleeps
) -> None:
    """429s are retried after Fly's Retry-After, and the machine is made once."""
    fly_fake.fail("POST", r"/machines$", 429, times=2, headers={"Retry-After": "3"})
    await fly.create(ADA)
    assert len(fly_fake.live_machines()) == 1
    assert len(sleeps.delays) == 2 and min(sleeps.delays) >= 3


async def test_transient_server_errors_are_retried(
    fly: FlyProvisioner, fly_fake: FlyFake, sleeps: Sleeps
) -> None:
    """503s on reads and on start are retried; the host comes up."""
    fly_fake.fail("GET", r"/machines$", 503, times=2)
    await fly.create(ADA)
    await fly.stop(ADA.user_id)
    fly_fake.fail("POST", r"/start$", 502)
    await fly.start(ADA.user_id)
    assert await fly.status(ADA.user_id) == "running"
    assert len(sleeps.delays) == 3


async def test_a_lost_create_answer_does_not_make_a_second_machine(
    fly: FlyProvisioner, fly_fake: FlyFake
) -> None:
    """When Fly made the machine but the answer was a 500, the provisioner adopts it."""
    fly_fake.fail("POST", r"/machines$", 500, after=True)
    endpoint = await fly.create(ADA)
    [machine] = fly_fake.live_machines()
    assert endpoint.url.startswith(f"http://{machine.id}.vm.")


async def test_a_machine_destroyed_behind_our_back_is_recreated_on_its_volume(
    fly: FlyProvisioner, fly_fake: FlyFake
) -> None:
    """After Fly loses the machine, create makes a new one with the same workspace volume."""
    await fly.create(ADA)
    [lost] = fly_fake.live_machines()
    fly_fake.vanish(lost.id)
    assert await fly.status(ADA.user_id) == "absent"
    await fly.create(ADA)
    [machine] = fly_fake.live_machines()
    assert machine.id != lost.id
    assert machine.config["mounts"] == lost.config["mounts"]
    assert len(fly_fake.live_volumes()) == 1


async def test_a_start_refused_while_the_machine_is_busy_is_tried_again(
    fly: FlyProvisioner, fly_fake: FlyFake
) -> None:
    """412 `machine still active` (a stop not yet finished, a deploy's lease) is waited out."""
    await fly.create(ADA)
    await fly.stop(ADA.user_id)
    busy = "failed_precondition: machine still active, refusing to start"
    fly_fake.fail("POST", r"/start$", 412, times=2, message=busy)
    await fly.start(ADA.user_id)
    assert await fly.status(ADA.user_id) == "running"


async def test_an_unhealthy_host_is_reported_with_its_check(
    fly_fake: FlyFake, tmp_path: Path, sleeps: Sleeps
) -> None:
    """A machine whose /health check never passes fails create with the check's output."""
    fly_fake.check_status = "critical"
    prov = provisioner(fly_settings(fly_fake, tmp_path), sleeps, ready_timeout=0.5)
    with pytest.raises(ProvisionError, match=r"health check did not pass.*connection refused"):
        await prov.create(ADA)
    assert await prov.status(ADA.user_id) == "starting"
    await prov.aclose()


async def test_a_refused_token_is_explained_to_operator_and_user(
    fly_fake: FlyFake, tmp_path: Path, sleeps: Sleeps
) -> None:
    """401: the operator learns which setting to fix and how; the user gets a plain clause."""
    prov = provisioner(fly_settings(fly_fake, tmp_path), sleeps, token="expired-token-123")
    with pytest.raises(FlyAPIError) as caught:
        await prov.create(ADA)
    await prov.aclose()
    error = caught.value
    assert str(error) == (
        "Fly.io did not accept the API token (Fly.io answered 401 to GET "
        f"/v1/apps/{APP}/machines: unauthorized). Set FLY_API_TOKEN to a valid token, "
        f"e.g. `fly tokens create deploy -a {APP}`."
    )
    assert error.user_message == (
        "your workspace could not be started because of a problem on our side, not yours"
    )
    assert "expired-token-123" not in str(error) and sleeps.delays == []
    assert fly_fake.live_machines() == []


async def test_a_deploy_token_goes_with_the_flyv1_scheme(
    fly_fake: FlyFake, tmp_path: Path, sleeps: Sleeps
) -> None:
    """A token from `fly tokens create` (`FlyV1 fm2_…`) is sent as flyctl sends it, and works."""
    fly_fake.token = "fm2_lJPECAAAAAAAAAtest"
    settings = fly_settings(fly_fake, tmp_path, fly_api_token="FlyV1 fm2_lJPECAAAAAAAAAtest")
    prov = FlyProvisioner(settings, ready_timeout=5.0, poll_seconds=0.01)
    assert await prov.status(ADA.user_id) == "absent"
    await prov.aclose()
    assert authorization("FlyV1 fm2_abc") == "FlyV1 fm2_abc"
    assert authorization("fm2_abc") == "FlyV1 fm2_abc"
    assert authorization("Bearer personal-token") == "Bearer personal-token"
    assert authorization("personal-token") == "Bearer personal-token"


async def test_a_refused_machine_size_names_the_settings_to_check(
    fly_fake: FlyFake, tmp_path: Path, sleeps: Sleeps
) -> None:
    """422 (memory not a multiple of 256): not retried, and the operator is told where to look."""
    prov = provisioner(fly_settings(fly_fake, tmp_path, fly_memory_mb=300), sleeps)
    with pytest.raises(FlyAPIError) as caught:
        await prov.create(ADA)
    await prov.aclose()
    assert str(caught.value) == (
        f"Fly.io refused the request (Fly.io answered 422 to POST /v1/apps/{APP}/machines: "
        "invalid memory size 300; must be a multiple of 256). Check COCKPIT_HOST_IMAGE, "
        "COCKPIT_FLY_REGION and the COCKPIT_FLY_* sizes."
    )
    assert len(fly_fake.calls("POST", r"/machines$")) == 1 and sleeps.delays == []
