"""Fixtures shared by every test tier: databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import inspect
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cockpit.store.db import Database, normalize_url
from cockpit.store.migrate import upgrade
from tests.requirements import postgres_url

pytest_plugins = [
    "tests.fakes.anthropic", "tests.fakes.fly", "tests.fakes.github", "tests.provision.podman"
]  # fmt: skip


# A test that needs one of these runs a real CLI, browser or container: the slow tier.
FLOW_MARKERS = ("slow", "claude", "chromium", "podman", "images")
# Folders whose tests start processes or servers themselves, without a fixture.
SERVING_FOLDERS = ("acceptance", "scale", "hostile", "provision", "images", "bench")
TESTS = Path(__file__).parent


def tier(item: pytest.Item) -> str:
    """The test's tier: `flow` (a real CLI, browser or container), `integration` (a
    database, a server or a stand-in of ours, on loopback), or `unit` (plain code)."""
    if any(item.get_closest_marker(m) is not None for m in FLOW_MARKERS):
        return "flow"
    if item.path.relative_to(TESTS).parts[0] in SERVING_FOLDERS:
        return "integration"
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs if info is not None else {}
    for name, found in defs.items():
        ours = any(TESTS in Path(inspect.getfile(d.func)).parents for d in found)
        if ours and not name.startswith("_"):  # `_`: the autouse environment guards
            return "integration"
    return "unit"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups in its own hook
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier (`make test-unit`, `make test-fast` pick by them) and,
    under pytest-xdist (`make test` runs several workers), keep every Podman test on one
    worker: each worker would otherwise start its own Podman service and image."""
    for item in items:
        item.add_marker(tier(item))
        if item.get_closest_marker("podman") is not None:
            item.add_marker(pytest.mark.xdist_group("podman"))


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """A CLI command run in-process calls `setup_logging`, which points the `cockpit`
    logger at that test's captured stderr and stops propagation; later tests on the same
    worker would log into a closed file and hide records from `caplog`."""
    logger = logging.getLogger("cockpit")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see no cockpit/Twilio/Anthropic settings from the machine, and no .env."""
    for name in list(os.environ):
        if name.startswith(("COCKPIT_", "TWILIO_", "ANTHROPIC_", "FLY_", "GITHUB_")) and name != (
            "COCKPIT_TEST_POSTGRES_URL"
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    admin_url = make_url(normalize_url(postgres_url()))
    name = f"cockpit_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


TABLES = (
    "prompts", "turns", "host_links", "outbound_messages", "inbound_messages", "media",
    "user_secrets", "user_data_keys", "github_deliveries", "github_repos", "users",
    "heartbeats", "phone_codes", "phone_proofs", "throttle_hits", "web_signins",
)  # fmt: skip


def _truncate(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite in tmp_path, and PostgreSQL (CI sets it)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cockpit.db'}"
        upgrade(url)
        return url
    url: str = request.getfixturevalue("_postgres_template")
    _truncate(url)
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A Database on `db_url`, disposed after the test."""
    database = Database(db_url)
    yield database
    database.dispose()
