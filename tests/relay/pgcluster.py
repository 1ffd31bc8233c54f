"""A private, throw-away PostgreSQL cluster a test may stop and restart at will.

The machine's shared cluster serves other tests; this one lives in a temporary
folder on its own port and socket. As root (CI), the server programs run as the
`postgres` user, since initdb refuses root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live import free_port
from tests.requirements import postgres_bin, require


@dataclass
class PrivateCluster:
    bin: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        """Run `pg_ctl` on the cluster (waiting for it to finish)."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-o", options,
              "-l", str(self.folder / "server.log"), *args])  # fmt: skip

    def restart(self) -> None:
        """Restart the server, cutting every open connection (`pg_ctl restart -m fast`)."""
        self.pg_ctl("restart", "-m", "fast")


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(command: list[str]) -> None:
    done = subprocess.run([*_as_postgres(), *command], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """initdb + start a cluster in a temporary folder; stopped and deleted afterwards."""
    bin_dir = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="cockpit-pg-"))
    if os.geteuid() == 0:
        require(_has_postgres_user(), "no `postgres` user to run a private cluster as")
        shutil.chown(folder, "postgres", "postgres")
    cluster = PrivateCluster(bin_dir, folder, free_port())
    try:
        _run([str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
              "-A", "trust", "--no-sync", "-E", "UTF8"])  # fmt: skip
        cluster.pg_ctl("start")
        yield cluster
    finally:
        subprocess.run([*_as_postgres(), str(bin_dir / "pg_ctl"), "-D", str(folder / "data"),
                        "-m", "immediate", "stop"], capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def _has_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
        return True
    except KeyError:
        return False
