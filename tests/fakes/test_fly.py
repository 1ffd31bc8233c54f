"""The Fly stand-in answers as Fly's Machines API documents (example shapes, states, errors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.fly import FlyFake

APP = "/v1/apps/cockpit-hosts"
# Keys of the documented example answers (fly.io/docs/machines/api/machines-resource,
# volumes-resource): a created machine, a started one, a created volume, a new lease.
MACHINE_KEYS = {
    "id", "name", "state", "region", "image_ref", "instance_id", "private_ip",
    "created_at", "updated_at", "config", "events",
}  # fmt: skip
VOLUME_KEYS = {
    "id", "name", "state", "size_gb", "region", "zone", "encrypted", "attached_machine_id",
    "attached_alloc_id", "created_at", "blocks", "block_size", "blocks_free", "blocks_avail",
    "fstype", "snapshot_retention", "host_dedication_key",
}  # fmt: skip


@pytest.fixture
def api(fly_fake: FlyFake) -> Iterator[httpx.Client]:
    """A client of the stand-in carrying the right token."""
    headers = {"Authorization": f"Bearer {fly_fake.token}"}
    with httpx.Client(base_url=fly_fake.url + APP, headers=headers, timeout=10) as client:
        yield client


def _machine(api: httpx.Client, **config: Any) -> dict[str, Any]:
    body = {"name": "m1", "region": "ord", "config": {"image": "ubuntu:latest", **config}}
    response = api.post("/machines", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_created_machine_has_the_documented_shape_and_boots(api: httpx.Client) -> None:
    """Create answers with the documented fields in state `created`; /wait sees it `started`."""
    machine = _machine(api, guest={"cpu_kind": "shared", "cpus": 1, "memory_mb": 256})
    assert set(machine) >= MACHINE_KEYS
    assert machine["state"] == "created"
    assert len(machine["id"]) == 14 and machine["private_ip"].startswith("fdaa:")
    waited = api.get(f"/machines/{machine['id']}/wait", params={"state": "started"})
    assert waited.json() == {"ok": True}
    assert api.get(f"/machines/{machine['id']}").json()["state"] == "started"


def test_start_stop_and_wait_follow_the_documented_states(api: httpx.Client) -> None:
    """Starting a running machine is refused (412); stop, wait for `stopped`, start again."""
    machine = _machine(api)
    mid, instance = machine["id"], machine["instance_id"]
    api.get(f"/machines/{mid}/wait", params={"state": "started"})
    refused = api.post(f"/machines/{mid}/start")
    assert refused.status_code == 412
    assert refused.json() == {
        "error": "failed_precondition: machine still active, refusing to start"
    }
    assert api.post(f"/machines/{mid}/stop", json={"signal": "SIGTERM"}).json() == {"ok": True}
    assert api.get(f"/machines/{mid}/wait", params={"state": "stopped"}).status_code == 400
    stopped = api.get(f"/machines/{mid}/wait", params={"state": "stopped", "instance_id": instance})
    assert stopped.json() == {"ok": True}
    started = api.post(f"/machines/{mid}/start").json()
    assert started == {"previous_state": "stopped", "migrated": False, "new_host": ""}
    late = api.get(f"/machines/{mid}/wait", params={"state": "stopped", "instance_id": instance,
                                                    "timeout": "1"})  # fmt: skip
    assert late.status_code == 408 and "error" in late.json()


def test_errors_are_json_with_an_error_field(api: httpx.Client, fly_fake: FlyFake) -> None:
    """A wrong token gets 401, an unknown app or machine 404, each as `{"error": ...}`."""
    wrong = httpx.get(f"{fly_fake.url}{APP}/machines", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "unauthorized"}
    other_app = api.get(f"{fly_fake.url}/v1/apps/someone-else/machines")
    assert other_app.status_code == 404 and other_app.json() == {"error": "app not found"}
    missing = api.get("/machines/0123456789abcd")
    assert missing.status_code == 404 and missing.json() == {"error": "machine not found"}
    bad_memory = api.post("/machines", json={"config": {"image": "x", "guest": {"memory_mb": 300}}})
    assert bad_memory.status_code == 422


def test_the_rate_limit_refuses_a_fourth_action_within_a_second(
    api: httpx.Client, fly_fake: FlyFake
) -> None:
    """With limits on, a burst of 3 creates passes and the 4th gets 429 `rate limit exceeded`."""
    fly_fake.rate_limits = True
    codes = [api.post("/volumes", json={"name": f"v{i}", "region": "ord"}).status_code
             for i in range(4)]  # fmt: skip
    assert codes == [200, 200, 200, 429]
    assert api.post("/volumes", json={"name": "v9", "region": "ord"}).json() == {
        "error": "rate limit exceeded"
    }


def test_volumes_attach_once_and_are_deleted_after_their_machine(api: httpx.Client) -> None:
    """A volume has the documented fields; it cannot be deleted while its machine lives."""
    volume = api.post("/volumes", json={"name": "ws_1", "region": "ord", "size_gb": 10}).json()
    assert set(volume) == VOLUME_KEYS and volume["state"] == "created"
    machine = _machine(api, mounts=[{"volume": volume["id"], "path": "/data"}])
    second = api.post("/machines", json={"region": "ord", "config": {
        "image": "x", "mounts": [{"volume": volume["id"], "path": "/data"}]}})  # fmt: skip
    assert second.status_code == 409
    assert api.delete(f"/volumes/{volume['id']}").status_code == 412
    assert api.delete(f"/machines/{machine['id']}", params={"force": "true"}).json() == {"ok": True}
    api.get(f"/machines/{machine['id']}/wait", params={"state": "destroyed"})
    assert api.delete(f"/volumes/{volume['id']}").json()["state"] == "destroyed"
    assert api.get("/volumes").json() == []


def test_a_lease_is_documented_and_keeps_others_out(api: httpx.Client) -> None:
    """A lease answers 201 with a nonce; without that nonce a start is refused, with it allowed."""
    machine = _machine(api)
    mid = machine["id"]
    api.get(f"/machines/{mid}/wait", params={"state": "started"})
    api.post(f"/machines/{mid}/stop", json={})
    api.get(
        f"/machines/{mid}/wait", params={"state": "stopped", "instance_id": machine["instance_id"]}
    )
    lease = api.post(f"/machines/{mid}/lease", json={"ttl": 30})
    assert lease.status_code == 201 and lease.json()["status"] == "success"
    assert set(lease.json()["data"]) == {"nonce", "expires_at", "owner", "description", "version"}
    assert api.post(f"/machines/{mid}/lease", json={"ttl": 30}).status_code == 409
    assert api.post(f"/machines/{mid}/start").status_code == 412
    nonce = {"fly-machine-lease-nonce": lease.json()["data"]["nonce"]}
    assert api.post(f"/machines/{mid}/start", headers=nonce).status_code == 200
