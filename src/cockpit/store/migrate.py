"""Run Alembic migrations from code (`cockpit db upgrade`, `cockpit up`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from cockpit.store.db import ensure_sqlite_folder, normalize_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for `url` that needs no alembic.ini on disk."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`."""
    ensure_sqlite_folder(normalize_url(url))
    command.upgrade(alembic_config(url), revision)
