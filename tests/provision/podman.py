"""A real container engine for tests: Podman's Docker-compatible service on a Unix socket.

No image can be pulled here, so the host image is a nearly empty root folder
(`podman import`) that runs this machine's own Python and this project's
virtualenv through read-only bind mounts. Podman keeps its storage in a
temporary folder (vfs driver), so nothing outside the test run is touched.

Use the fixture `podman_host_image` (import it into a conftest): it yields
`(docker_url, image_name, extra_binds)` for `ContainerProvisioner`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

import cockpit
from tests.requirements import require

IMAGE = "cockpit-host-test:latest"
_CONF = """\
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
_SYSTEM_DIRS = ("/bin", "/lib", "/lib64", "/sbin")


def _podman_base(root: Path) -> list[str]:
    podman = shutil.which("podman")
    assert podman is not None
    return [
        podman,
        "--runtime",
        "runc",
        "--root",
        str(root / "storage"),
        "--runroot",
        str(root / "run"),
        "--storage-driver",
        "vfs",
    ]


def host_binds() -> dict[str, str]:
    """Machine folders the test image needs, mounted read-only at the same place."""
    paths = ["/usr", *(d for d in _SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d))]
    paths += [sys.prefix, sys.base_prefix]
    source = Path(cockpit.__file__).resolve().parent.parent
    if not source.is_relative_to(sys.prefix):  # an editable install: the repository's src/
        paths.append(str(source))
    unique = sorted({os.path.realpath(p) for p in paths})
    outer = [p for p in unique if not any(p.startswith(o + "/") for o in unique if o != p)]
    return {p: p for p in outer}


def _rootfs(folder: Path) -> Path:
    """A tar of the image's root: mount points, links like the machine's, a passwd file."""
    root = folder / "rootfs"
    for name in ("etc", "tmp", "var/tmp", "root", "run", "proc", "sys", "dev", "workspace", "data"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    for name in _SYSTEM_DIRS:
        if os.path.islink(name):
            (root / name[1:]).symlink_to(os.readlink(name))
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    tar = folder / "rootfs.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
    return tar


def _accepts(socket_path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(socket_path))
        except OSError:
            return False
        return True


def _wait_for_engine(
    socket_path: Path, service: subprocess.Popen[bytes], within: float = 30.0
) -> None:
    """Wait until the service accepts connections, then check it answers the Docker API."""
    deadline = time.monotonic() + within
    while not _accepts(socket_path):
        if service.poll() is not None:
            pytest.fail(f"the Podman service exited with code {service.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"the Podman service did not listen at {socket_path} within {within} s")
        time.sleep(0.2)
    client = docker.DockerClient(base_url=f"unix://{socket_path}")
    try:
        assert client.ping()
    finally:
        client.close()


@pytest.fixture(scope="session")
def podman_host_image() -> Iterator[tuple[str, str, dict[str, str]]]:
    """Podman's Docker API with the test host image: (docker_url, image_name, extra_binds)."""
    require(shutil.which("podman") is not None, "podman is not installed")
    require(shutil.which("runc") is not None, "runc is not installed")
    # Podman refuses a runroot over 50 characters, which pytest's (and xdist's) temporary
    # paths exceed: a short folder of our own instead.
    folder = Path(tempfile.mkdtemp(prefix="cockpit-podman-", dir="/tmp"))
    (folder / "containers.conf").write_text(_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(folder / "containers.conf")}
    base = _podman_base(folder)
    binds = host_binds()
    path = f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin"
    made = subprocess.run(
        [*base, "import", "--change", f"ENV PATH={path}", str(_rootfs(folder)), IMAGE],
        env=env,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.fail(f"podman import failed ({made.returncode}): {made.stderr.strip()}")
    sock = folder / "podman.sock"
    url = f"unix://{sock}"
    log = (folder / "service.log").open("wb")
    service = subprocess.Popen(
        [*base, "system", "service", "--time=0", url], env=env, stdout=log, stderr=log
    )
    try:
        _wait_for_engine(sock, service)
        yield url, IMAGE, binds
    finally:
        subprocess.run([*base, "rm", "--all", "--force", "--time", "0"], env=env, check=False)
        service.terminate()
        service.wait(timeout=30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
