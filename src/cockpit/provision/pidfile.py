"""The `host.pid` record and the /proc checks that let a restarted relay find its hosts.

A local host runs in its own session, so it outlives a relay killed with SIGKILL.
The relay writes `<data dir>/host.pid` after spawning a host; the next relay reads
it, and these checks decide whether the process it names is still that user's host
(adopt it), another host on the same data dir (stop it), or gone (start afresh).
Linux only: it reads `/proc`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

PID_FILE = "host.pid"


@dataclass(frozen=True)
class PidRecord:
    """What `host.pid` says: the host's process, its port and a hash of its token."""

    pid: int
    port: int
    token_sha256: str

    def token_matches(self, token: str) -> bool:
        """True when the recorded host was started with `token`."""
        return hmac.compare_digest(self.token_sha256, token_digest(token))


def token_digest(token: str) -> str:
    """The sha256 (hex) of a host token: the pid file never holds the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def write_pid_file(data_dir: Path, pid: int, port: int, token: str) -> None:
    """Record a freshly spawned host, atomically (a reader never sees half a file)."""
    body = json.dumps({"pid": pid, "port": port, "token_sha256": token_digest(token)})
    temp = data_dir / f".{PID_FILE}.{os.getpid()}.tmp"
    temp.write_text(body)
    os.replace(temp, data_dir / PID_FILE)


def read_pid_file(data_dir: Path) -> PidRecord | None:
    """The recorded host, or None when there is no readable, well-formed record."""
    try:
        raw = json.loads((data_dir / PID_FILE).read_text())
        record = PidRecord(int(raw["pid"]), int(raw["port"]), str(raw["token_sha256"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if record.pid > 0 else None


def remove_pid_file(data_dir: Path) -> None:
    """Forget the recorded host (it was stopped on purpose, or is gone)."""
    with contextlib.suppress(FileNotFoundError):
        (data_dir / PID_FILE).unlink()


def process_alive(pid: int) -> bool:
    """True while `pid` is a live process; a zombie (dead, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, but another user's: still alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The command name in field 2 may hold spaces and parentheses; the state follows the last ')'.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def is_host_of(pid: int, data_dir: Path) -> bool:
    """True when `pid` runs `cockpit host` with `data_dir` as its working directory."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return _runs_cockpit_host(argv) and Path(cwd) == data_dir


def host_pids(data_dir: Path) -> list[int]:
    """Every live `cockpit host` process whose working directory is `data_dir`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            pid = int(entry.name)
            if is_host_of(pid, data_dir) and process_alive(pid):
                found.append(pid)
    return found


def _runs_cockpit_host(argv: list[bytes]) -> bool:
    """`python -m cockpit host …` or `…/cockpit host …` (the console script)."""
    names = [os.path.basename(arg) for arg in argv]
    return any(a == b"cockpit" and b == b"host" for a, b in itertools.pairwise(names))
