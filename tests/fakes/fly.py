"""A stand-in for Fly.io's Machines API (apps, machines, volumes), over real HTTP on loopback.

Follows what Fly documents (fly.io/docs/machines/api/): bearer-token auth, the paths
under ``/v1/apps/{app}``, JSON bodies and the example responses' shapes, errors as
``{"error": "..."}``, the machine states (created → started ⇄ stopped, destroying →
destroyed), ``/wait`` (``state``, ``timeout`` of at most 60 s, ``instance_id`` needed
for ``stopped``, 408 when the time runs out), one volume per machine in its region,
memory in multiples of 256 MB, leases, and the per-action rate limit (1 request/s,
bursts of 3; opt in with ``rate_limits=True``). Health checks of a machine's config
report ``passing`` once it has run ``check_seconds`` (``check_status`` can make them
fail). Where Fly documents only that a request "fails", the status and words are the
ones seen from the real API: 412 ``failed_precondition: machine still active,
refusing to start``, 429 ``rate limit exceeded``.

Faults for tests: ``fail(method, path_regex, status, times=, after=)`` answers the
next matching requests with an error (``after=True``: do the work, then lose the
answer); ``vanish(machine_id)`` destroys a machine behind the client's back;
``hold_lease(machine_id)`` leases a machine as a deploy would. ``requests`` records
every call as ``(method, path, json body)``.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.live import serve

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]
VOLUME_NAME = re.compile(r"^[a-z0-9_]{1,30}$")
ACTIVE = ("created", "starting", "started", "stopping", "restarting", "updating", "replacing")


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fly_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error the way Fly sends it: `{"error": "..."}`."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


@dataclass
class FakeMachine:
    """One machine and the state changes it has been scheduled to go through."""

    id: str
    name: str
    region: str
    config: Json
    instance_id: str = field(default_factory=lambda: secrets.token_hex(13).upper())
    state: str = "created"
    schedule: list[tuple[float, str]] = field(default_factory=list)
    started_at: float | None = None
    lease: tuple[str, float] | None = None
    created_at: str = field(default_factory=_now_iso)
    events: list[Json] = field(default_factory=list)

    def go(self, *steps: tuple[float, str]) -> None:
        """Schedule state changes `(seconds from now, state)`, replacing pending ones."""
        now = time.monotonic()
        self.schedule = [(now + delay, state) for delay, state in steps]

    def settle(self) -> None:
        """Apply the state changes that are due."""
        now = time.monotonic()
        while self.schedule and self.schedule[0][0] <= now:
            _, self.state = self.schedule.pop(0)
            self.started_at = now if self.state == "started" else None
            self.events.insert(0, {"type": self.state, "status": self.state, "source": "flyd",
                                   "timestamp": int(time.time() * 1000)})  # fmt: skip


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    message: str
    after: bool
    headers: dict[str, str]


class FlyFake:
    """The Machines API of one Fly organization holding the app `app`."""

    def __init__(
        self,
        app: str = "cockpit-hosts",
        token: str = "fly-test-token",  # noqa: S107
        *,
        boot_seconds: float = 0.05,
        check_seconds: float = 0.05,
        rate_limits: bool = False,
    ) -> None:
        self.apps = {app}
        self.token = token
        self.boot_seconds = boot_seconds
        self.check_seconds = check_seconds
        self.check_status = "passing"
        self.rate_limits = rate_limits
        self.machines: dict[str, FakeMachine] = {}
        self.volumes: dict[str, Json] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.url = ""
        self._faults: list[Fault] = []
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    # --- controls for tests ----------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        message: str | None = None,
        after: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests matching `method` and regex `path` with `status`."""
        default = "rate limit exceeded" if status == 429 else f"simulated error {status}"
        self._faults.append(
            Fault(method, re.compile(path), status, times, message or default, after, headers or {})
        )

    def vanish(self, machine_id: str) -> None:
        """Destroy a machine behind the client's back (a host failure, `fly machine destroy`)."""
        with self._lock:
            machine = self.machines[machine_id]
            machine.state, machine.schedule = "destroyed", []
            self._detach(machine_id)

    def hold_lease(self, machine_id: str, seconds: float = 60.0) -> str:
        """Lease the machine as another process (a deploy) would; returns the nonce."""
        nonce = secrets.token_hex(6)
        self.machines[machine_id].lease = (nonce, time.monotonic() + seconds)
        return nonce

    def live_machines(self) -> list[FakeMachine]:
        """Machines that are not destroyed."""
        with self._lock:
            for machine in self.machines.values():
                machine.settle()
            return [m for m in self.machines.values() if m.state != "destroyed"]

    def live_volumes(self) -> list[Json]:
        """Volumes that are not destroyed."""
        return [v for v in self.volumes.values() if v["state"] != "destroyed"]

    def calls(self, method: str, pattern: str) -> list[Any]:
        """Bodies of the recorded requests matching `method` and regex `pattern`."""
        return [b for m, p, b in self.requests if m == method and re.search(pattern, p)]

    # --- HTTP ------------------------------------------------------------------------

    def app(self) -> Starlette:
        """The ASGI app serving the API."""
        base = "/v1/apps/{app}"
        m = base + "/machines/{id}"
        routes = [
            Route(base + "/machines", self._guard(self._list_machines), methods=["GET"]),
            Route(base + "/machines", self._guard(self._create_machine), methods=["POST"]),
            Route(m, self._guard(self._get_machine), methods=["GET"]),
            Route(m, self._guard(self._delete_machine), methods=["DELETE"]),
            Route(m + "/wait", self._guard(self._wait), methods=["GET"]),
            Route(m + "/start", self._guard(self._start), methods=["POST"]),
            Route(m + "/stop", self._guard(self._stop), methods=["POST"]),
            Route(m + "/lease", self._guard(self._lease), methods=["POST"]),
            Route(base + "/volumes", self._guard(self._list_volumes), methods=["GET"]),
            Route(base + "/volumes", self._guard(self._create_volume), methods=["POST"]),
            Route(base + "/volumes/{id}", self._guard(self._delete_volume), methods=["DELETE"]),
        ]
        return Starlette(routes=routes)

    def _guard(self, handler: Handler) -> Handler:
        """Record, authenticate, find the app, rate-limit and inject faults around `handler`."""

        async def guarded(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return fly_error(400, "invalid character in JSON body")
            self.requests.append((request.method, request.url.path, body))
            if request.headers.get("authorization") not in self._accepted_headers():
                return fly_error(401, "unauthorized")
            if request.path_params["app"] not in self.apps:
                return fly_error(404, "app not found")
            limited = self._rate_limited(request)
            if limited is not None:
                return limited
            fault = self._take_fault(request)
            if fault is not None and not fault.after:
                return fly_error(fault.status, fault.message, fault.headers)
            with self._lock:
                for machine in self.machines.values():
                    machine.settle()
            response = await handler(request)
            if fault is not None:  # the work is done, the answer is lost
                return fly_error(fault.status, fault.message, fault.headers)
            return response

        return guarded

    def _accepted_headers(self) -> set[str]:
        """`Bearer <token>`; a macaroon (`fm2_…`) also with Fly's own `FlyV1` scheme."""
        bare = self.token.removeprefix("FlyV1 ")
        return (
            {f"Bearer {bare}", f"FlyV1 {bare}"} if bare.startswith("fm2_") else {f"Bearer {bare}"}
        )

    def _take_fault(self, request: Request) -> Fault | None:
        for fault in self._faults:
            if fault.method == request.method and fault.path.search(request.url.path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _rate_limited(self, request: Request) -> Response | None:
        """Fly's documented limit: 1 request/s per action and machine, bursts of 3 (GET: 5, 10)."""
        if not self.rate_limits:
            return None
        action = re.sub(r"/machines/[0-9a-f]{14}", "/machines/ID", request.url.path)
        key = (request.method, action, str(request.path_params.get("id", "")))
        rate, burst = (5.0, 10.0) if request.method == "GET" else (1.0, 3.0)
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1:
            return fly_error(429, "rate limit exceeded")
        self._buckets[key] = (tokens - 1, now)
        return None

    # --- machines --------------------------------------------------------------------

    def machine_json(self, machine: FakeMachine) -> Json:
        """A machine as Fly's API shows it (the documented example's fields)."""
        image = str(machine.config.get("image", ""))
        repository, _, tag = image.partition(":")
        answer: Json = {
            "id": machine.id,
            "name": machine.name,
            "state": machine.state,
            "region": machine.region,
            "image_ref": {"registry": "registry.fly.io", "repository": repository,
                          "tag": tag or "latest", "digest": "sha256:" + "0" * 64, "labels": {}},
            "instance_id": machine.instance_id,
            "private_ip": f"fdaa:0:1:a7b:{machine.id[:4]}:{machine.id[4:8]}:{machine.id[8:12]}:2",
            "created_at": machine.created_at,
            "updated_at": _now_iso(),
            "config": machine.config,
            "events": machine.events,
        }  # fmt: skip
        checks = machine.config.get("checks") or {}
        if checks:
            answer["checks"] = [self._check(name, machine) for name in checks]
        return answer

    def _check(self, name: str, machine: FakeMachine) -> Json:
        ran = (
            machine.started_at is not None
            and time.monotonic() - machine.started_at >= self.check_seconds
        )
        status = self.check_status if ran else "critical"
        output = "200 OK" if status == "passing" else ("connection refused" if ran else "")
        return {"name": name, "status": status, "output": output, "updated_at": _now_iso()}

    def _machine(self, request: Request) -> FakeMachine | None:
        return self.machines.get(str(request.path_params["id"]))

    def _leased_away(self, request: Request, machine: FakeMachine) -> Response | None:
        if machine.lease is None or machine.lease[1] < time.monotonic():
            return None
        if request.headers.get("fly-machine-lease-nonce") == machine.lease[0]:
            return None
        return fly_error(412, "failed_precondition: machine is leased by deploy@example.com")

    async def _list_machines(self, request: Request) -> Response:
        wanted = {k[len("metadata."):]: v for k, v in request.query_params.items()
                  if k.startswith("metadata.")}  # fmt: skip
        deleted = request.query_params.get("include_deleted") == "true"
        found = [
            self.machine_json(m)
            for m in self.machines.values()
            if (deleted or m.state != "destroyed")
            and all((m.config.get("metadata") or {}).get(k) == v for k, v in wanted.items())
        ]
        return JSONResponse(found)

    async def _create_machine(self, request: Request) -> Response:
        body = await request.json()
        problem = self._machine_problem(body)
        if problem is not None:
            return problem
        with self._lock:
            machine = FakeMachine(
                id=secrets.token_hex(7), name=body.get("name") or f"machine-{secrets.token_hex(3)}",
                region=body.get("region") or "iad", config=body["config"],
            )  # fmt: skip
            for mount in machine.config.get("mounts") or []:
                self.volumes[mount["volume"]]["attached_machine_id"] = machine.id
            self.machines[machine.id] = machine
            if not body.get("skip_launch"):
                machine.go((self.boot_seconds / 2, "starting"), (self.boot_seconds, "started"))
            machine.events.append({"type": "launch", "status": "created", "source": "user",
                                   "timestamp": int(time.time() * 1000)})  # fmt: skip
        return JSONResponse(self.machine_json(machine))

    def _machine_problem(self, body: Any) -> Response | None:
        """Why a create request is refused (None: it is fine)."""
        if not isinstance(body, dict) or not isinstance(body.get("config"), dict):
            return fly_error(400, "json: cannot unmarshal request: config is required")
        config = body["config"]
        if not config.get("image"):
            return fly_error(422, "invalid config.image: an image is required")
        memory = (config.get("guest") or {}).get("memory_mb", 256)
        if not isinstance(memory, int) or memory % 256:
            return fly_error(422, f"invalid memory size {memory}; must be a multiple of 256")
        name = body.get("name")
        if name and any(m.name == name for m in self.machines.values() if m.state != "destroyed"):
            return fly_error(409, f"a machine with name {name!r} already exists")
        mounts = config.get("mounts") or []
        if len(mounts) > 1:
            return fly_error(422, "only one volume may be mounted per machine")
        for mount in mounts:
            volume = self.volumes.get(str(mount.get("volume")))
            if volume is None or volume["state"] == "destroyed":
                return fly_error(404, f"volume {mount.get('volume')} not found")
            if volume["region"] != (body.get("region") or "iad"):
                return fly_error(422, f"volume {volume['id']} is in region {volume['region']}")
            holder = self.machines.get(str(volume.get("attached_machine_id")))
            if holder is not None and holder.state != "destroyed":
                return fly_error(409, f"volume {volume['id']} is already attached to {holder.id}")
        return None

    async def _get_machine(self, request: Request) -> Response:
        machine = self._machine(request)
        if machine is None:
            return fly_error(404, "machine not found")
        return JSONResponse(self.machine_json(machine))

    async def _wait(self, request: Request) -> Response:
        machine = self._machine(request)
        if machine is None:
            return fly_error(404, "machine not found")
        state = request.query_params.get("state", "started")
        if state not in ("started", "stopped", "suspended", "destroyed"):
            return fly_error(400, f"invalid state {state!r}")
        if state == "stopped" and not request.query_params.get("instance_id"):
            return fly_error(400, "instance_id is required when waiting for the stopped state")
        timeout = min(60, int(request.query_params.get("timeout", "60")))
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                machine.settle()
                if machine.state == state:
                    return JSONResponse({"ok": True})
            if time.monotonic() >= deadline:
                return fly_error(408, f"deadline_exceeded: machine did not reach {state}")
            await asyncio.sleep(0.005)

    async def _start(self, request: Request) -> Response:
        machine = self._machine(request)
        if machine is None or machine.state == "destroyed":
            return fly_error(404, "machine not found")
        refused = self._leased_away(request, machine)
        if refused is not None:
            return refused
        if machine.state in ACTIVE:
            return fly_error(412, "failed_precondition: machine still active, refusing to start")
        previous = machine.state
        machine.go((0.0, "starting"), (self.boot_seconds, "started"))
        return JSONResponse({"previous_state": previous, "migrated": False, "new_host": ""})

    async def _stop(self, request: Request) -> Response:
        machine = self._machine(request)
        if machine is None or machine.state == "destroyed":
            return fly_error(404, "machine not found")
        body = await request.body()
        if body and not isinstance(json.loads(body), dict):
            return fly_error(
                400, "json: cannot unmarshal array into Go value of type main.stopRequest"
            )
        refused = self._leased_away(request, machine)
        if refused is not None:
            return refused
        if machine.state not in ("started", "starting"):
            return fly_error(412, f"failed_precondition: machine is {machine.state}, not running")
        machine.go((0.0, "stopping"), (self.boot_seconds, "stopped"))
        return JSONResponse({"ok": True})

    async def _delete_machine(self, request: Request) -> Response:
        machine = self._machine(request)
        if machine is None or machine.state == "destroyed":
            return fly_error(404, "machine not found")
        refused = self._leased_away(request, machine)
        if refused is not None:
            return refused
        forced = request.query_params.get("force") == "true"
        if machine.state in ACTIVE and not forced:
            return fly_error(412, "failed_precondition: machine still active, refusing to destroy")
        machine.go((0.0, "destroying"), (self.boot_seconds, "destroyed"))
        self._detach(machine.id, later=self.boot_seconds)
        return JSONResponse({"ok": True})

    async def _lease(self, request: Request) -> Response:
        machine = self._machine(request)
        if machine is None:
            return fly_error(404, "machine not found")
        if machine.lease is not None and machine.lease[1] > time.monotonic():
            return fly_error(409, "lease currently held by deploy@example.com")
        body = await request.json() if await request.body() else {}
        ttl = int(body.get("ttl") or 30)
        nonce = self.hold_lease(machine.id, ttl)
        data = {
            "nonce": nonce, "expires_at": int(time.time()) + ttl, "owner": "cockpit@example.com",
            "description": body.get("description", ""), "version": machine.instance_id,
        }  # fmt: skip
        return JSONResponse({"status": "success", "data": data}, status_code=201)

    def _detach(self, machine_id: str, later: float = 0.0) -> None:
        """Free the machine's volume (at once, or once it is destroyed `later` s from now)."""
        for volume in self.volumes.values():
            if volume.get("attached_machine_id") == machine_id:
                volume["_detach_at"] = time.monotonic() + later

    # --- volumes ---------------------------------------------------------------------

    def _settle_volumes(self) -> None:
        now = time.monotonic()
        for volume in self.volumes.values():
            if volume.get("_detach_at") is not None and volume["_detach_at"] <= now:
                volume["attached_machine_id"], volume["_detach_at"] = None, None

    def _volume_json(self, volume: Json) -> Json:
        return {k: v for k, v in volume.items() if not k.startswith("_")}

    async def _list_volumes(self, request: Request) -> Response:
        self._settle_volumes()
        return JSONResponse([self._volume_json(v) for v in self.live_volumes()])

    async def _create_volume(self, request: Request) -> Response:
        body = await request.json()
        if not isinstance(body, dict) or not body.get("name") or not body.get("region"):
            return fly_error(400, "name and region are required")
        if not VOLUME_NAME.match(str(body["name"])):
            return fly_error(
                422, "volume name must be lowercase letters, digits and _ (at most 30)"
            )
        volume = {
            "id": "vol_" + secrets.token_hex(8), "name": body["name"], "state": "created",
            "size_gb": int(body.get("size_gb") or 3), "region": body["region"], "zone": "a4df",
            "encrypted": body.get("encrypted", True), "attached_machine_id": None,
            "attached_alloc_id": None, "created_at": _now_iso(), "blocks": 0, "block_size": 0,
            "blocks_free": 0, "blocks_avail": 0, "fstype": "", "snapshot_retention": 5,
            "host_dedication_key": "",
        }  # fmt: skip
        self.volumes[str(volume["id"])] = volume
        return JSONResponse(self._volume_json(volume))

    async def _delete_volume(self, request: Request) -> Response:
        self._settle_volumes()
        volume = self.volumes.get(str(request.path_params["id"]))
        if volume is None or volume["state"] == "destroyed":
            return fly_error(404, "volume not found")
        if volume.get("attached_machine_id"):
            return fly_error(
                412, f"failed_precondition: volume is attached to {volume['attached_machine_id']}"
            )
        volume["state"] = "destroyed"
        return JSONResponse(self._volume_json(volume))


@pytest.fixture
def fly_fake() -> Iterator[FlyFake]:
    """A running Machines API stand-in: `.url`, `.token`, the app `cockpit-hosts`."""
    fake = FlyFake()
    with serve(fake.app()) as url:
        fake.url = url
        yield fake
