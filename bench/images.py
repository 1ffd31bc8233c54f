"""Images: sizes, build times (cold and cached) and host container start → ready.

`python -m bench images` measures the images `make images` built (Podman, the machine's
default store): their sizes, and how long a new host container takes from `podman run`
to its first 200 on /health, against a baseline in the same run: the relay image (same
base, same Python) starting `python -m http.server`, i.e. a container and an
interpreter with nothing of the cockpit. `--build` also times `make images` with the
cache: nothing changed, and after a change to one file of `src/` (a copy of the
repository with a comment added); `--cold` adds a `--no-cache` build (base already made).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.results import RESULTS, load_average, machine, write_section

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ("cockpit-relay:latest", "cockpit-host:latest", "localhost/cockpit-base:bookworm")
CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n'


@dataclass
class Options:
    runs: int = 5
    build: bool = False
    cold: bool = False
    output: Path | None = RESULTS


def _env(folder: Path) -> dict[str, str]:
    conf = folder / "containers.conf"
    conf.write_text(CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def _podman(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    podman = shutil.which("podman")
    assert podman is not None, "podman is not installed"
    done = subprocess.run(
        [podman, "--runtime", "runc", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready_after(env: dict[str, str], image: str, command: list[str], port: int) -> float:
    """Seconds from `podman run` until GET /health on `port` answers 200."""
    name = f"cockpit-bench-{uuid.uuid4().hex[:8]}"
    extra = ["-e", "COCKPIT_HOST_TOKEN=bench-token"]
    start = time.monotonic()
    _podman(env, "run", "--detach", "--name", name, "--network", "host", *extra, image, *command)
    try:
        deadline = start + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{image} did not answer on port {port} within 120 s")
    finally:
        subprocess.run(
            ["podman", "--runtime", "runc", "rm", "--force", "--time", "2", name],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )


def _host_ready(env: dict[str, str]) -> float:
    port = _free_port()
    command = ["cockpit", "host", "--host", "127.0.0.1", "--port", str(port)]
    return _ready_after(env, "cockpit-host:latest", command, port)


def _baseline_ready(env: dict[str, str]) -> float:
    port = _free_port()
    # http.server answers 404 for /health; a folder with a `health` file answers 200.
    command = ["sh", "-c", f"cd /tmp && touch health && exec python -m http.server {port}"]
    return _ready_after(env, "cockpit-relay:latest", command, port)


def _make_images(env: dict[str, str], root: Path, *extra: str) -> float:
    start = time.monotonic()
    build_env = env | {"BUILD_FLAGS": " ".join(extra)}
    subprocess.run(
        ["bash", str(root / "deploy/images.sh")],
        env=build_env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - start


def _changed_copy(folder: Path) -> Path:
    """The repository's committed files, with a comment added to one module of src/."""
    copy = folder / "repo"
    copy.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
    module = copy / "src/cockpit/__init__.py"
    module.write_text(module.read_text() + f"# bench {uuid.uuid4().hex}\n")
    return copy


def _builds(env: dict[str, str], folder: Path, cold: bool) -> dict[str, float]:
    times: dict[str, float] = {}
    if cold:
        times["cold (--no-cache; base image present)"] = _make_images(env, ROOT, "--no-cache")
    times["cached, nothing changed"] = _make_images(env, ROOT)
    times["one file of src/ changed"] = _make_images(env, _changed_copy(folder))
    _make_images(env, ROOT)  # the images of this checkout again
    return times


def _size_mb(env: dict[str, str], image: str) -> float:
    return int(_podman(env, "image", "inspect", "--format", "{{.Size}}", image)) / 1e6


def run(opts: Options) -> str:
    """Measure and return the markdown section."""
    folder = Path(tempfile.mkdtemp(prefix="cockpit-bench-images-"))
    env = _env(folder)
    try:
        before = load_average()
        builds = _builds(env, folder, opts.cold) if opts.build or opts.cold else {}
        sizes = {image: _size_mb(env, image) for image in IMAGES}
        host: list[float] = []
        base: list[float] = []
        for index in range(opts.runs):  # who goes first alternates
            if index % 2:
                base.append(_baseline_ready(env))
            host.append(_host_ready(env))
            if not index % 2:
                base.append(_baseline_ready(env))
        after = load_average()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lines = ["## Images: sizes, build time, host container start → ready", "", machine()]
    lines += [
        f"- load average (1, 5, 15 min) before: {before}, after: {after} "
        "(the machine was shared with other engineers' builds and tests: expect noise)",
        "",
        "| image | size (MB) |",
        "| --- | ---: |",
        *(f"| `{image}` | {size:.0f} |" for image, size in sizes.items()),
        "",
    ]
    if builds:
        lines += ["| `make images` (both images) | seconds |", "| --- | ---: |"]
        lines += [f"| {what} | {seconds:.0f} |" for what, seconds in builds.items()]
        lines += [""]
    ratio = statistics.median(h / b for h, b in zip(host, base, strict=True))
    lines += [
        f"| start → ready (median of {opts.runs} runs) | seconds |",
        "| --- | ---: |",
        f"| baseline: relay image, `python -m http.server` | {statistics.median(base):.2f} |",
        f"| host image, `cockpit host` (`GET /health` 200) | {statistics.median(host):.2f} |",
        f"| host / baseline (median of per-run ratios) | {ratio:.2f} |",
        "",
        "- per run, host: " + ", ".join(f"{s:.2f}" for s in host),
        "- per run, baseline: " + ", ".join(f"{s:.2f}" for s in base),
    ]
    return "\n".join(lines)


def parse_options(argv: list[str]) -> Options:
    """The options of `python -m bench images`."""
    parser = argparse.ArgumentParser(prog="python -m bench images", description=__doc__)
    parser.add_argument("--runs", type=int, default=Options.runs)
    parser.add_argument("--build", action="store_true", help="also time cached make images")
    parser.add_argument("--cold", action="store_true", help="and a --no-cache build (slow)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the RESULTS.md to update")
    args = parser.parse_args(argv)
    return Options(args.runs, args.build, args.cold, args.output)


def main(argv: list[str]) -> int:
    """Measure and write the images section."""
    opts = parse_options(argv)
    text = run(opts)
    print(text)
    if opts.output is not None:
        write_section(opts.output, "images", text)
    return 0
