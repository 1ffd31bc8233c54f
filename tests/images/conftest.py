"""The images `make images` built, run for real with Podman on the machine's default store.

`image_engine` starts Podman's Docker-compatible service on a socket of its own (the
container provisioner in the relay image talks to it), with the containers.conf these
machines need (`default_ulimits = []`, cgroupfs) and runc. It uses the images where
`make images` put them and removes only the containers and volumes its tests made.
Outside CI the tests skip when the images are not built; on CI they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.requirements import require

RELAY_IMAGE = "cockpit-relay:latest"
HOST_IMAGE = "cockpit-host:latest"
CONF = """\
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


@dataclass
class Engine:
    """Podman on the default image store, and its Docker API socket."""

    folder: Path
    socket: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        """The Docker Engine API address, as COCKPIT_DOCKER_URL takes it."""
        return f"unix://{self.socket}"

    def podman(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run `podman --runtime runc ARGS`; its output, whatever the exit code."""
        podman = shutil.which("podman")
        assert podman is not None
        return subprocess.run(
            [podman, "--runtime", "runc", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, timeout: float = 180) -> str:
        """Run podman and fail the test with its stderr unless it exits 0; its stdout."""
        done = self.podman(*args, timeout=timeout)
        if done.returncode != 0:
            pytest.fail(f"podman {' '.join(args[:3])} … failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def remove_container(self, name: str) -> None:
        """Remove one container this test made (running or not), if it exists."""
        self.podman("rm", "--force", "--time", "2", name, timeout=60)

    def remove_volume(self, name: str) -> None:
        """Remove one volume this test made, if it exists."""
        self.podman("volume", "rm", "--force", name, timeout=60)


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
        return True


@pytest.fixture(scope="session")
def image_engine() -> Iterator[Engine]:
    """Podman with the built images, and its Docker API for the relay image's provisioner."""
    require(shutil.which("podman") is not None, "podman is not installed")
    require(shutil.which("runc") is not None, "runc is not installed")
    folder = Path(tempfile.mkdtemp(prefix="cockpit-images-", dir="/tmp"))
    (folder / "containers.conf").write_text(CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(folder / "containers.conf")}
    engine = Engine(folder, folder / "podman.sock", env)
    for image in (RELAY_IMAGE, HOST_IMAGE):
        built = engine.podman("image", "exists", image).returncode == 0
        require(built, f"{image} is not built (run `make images`)")
    log = (folder / "service.log").open("wb")
    podman = shutil.which("podman")
    assert podman is not None
    service = subprocess.Popen(
        [podman, "--runtime", "runc", "system", "service", "--time=0", engine.url],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while not _accepts(engine.socket):
            if service.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Podman service did not start: {service.returncode}")
            time.sleep(0.2)
        # The relay runs as `cockpit` (uid 1000) in its container; the folder stays root's.
        engine.socket.chmod(0o666)
        yield engine
    finally:
        service.terminate()
        service.wait(timeout=30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
