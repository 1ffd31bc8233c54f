"""The `cockpit` command: one function per command, wiring only."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from rich.console import Console

from cockpit.config import Settings, load_settings
from cockpit.errors import ConfigError, StoreError
from cockpit.log import setup_logging

if TYPE_CHECKING:
    from cockpit.store.db import Database

app = typer.Typer(help="WhatsApp Agentic Development Cockpit.", no_args_is_help=True)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
users_app = typer.Typer(help="Manage the people who may use the relay.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
github_app = typer.Typer(help="Connect GitHub repositories and tokens.", no_args_is_help=True)
secrets_app = typer.Typer(help="Users' encrypted secrets.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
app.add_typer(github_app, name="github")
console = Console()
err = Console(stderr=True)

HostOpt = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", help="Port to listen on.")]


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    setup_logging(settings.log_level)
    return settings


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]{exc}[/red]")
    return typer.Exit(2)


@app.command()
def up(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Run everything locally: relay, phone simulator (or Twilio) and agent, on SQLite."""
    from cockpit.embedded import create_local_app, prepare_local
    from cockpit.store.migrate import upgrade

    settings = _settings()
    try:
        prepare_local(settings, host, port)
        upgrade(settings.effective_database_url)
        application, simulator = create_local_app(settings)
    except (ConfigError, StoreError) as exc:
        raise _fail(exc) from None
    if settings.agent == "claude" and not (
        settings.anthropic_api_key or settings.claude_code_oauth_token
    ):
        console.print(
            "[yellow]Neither ANTHROPIC_API_KEY nor CLAUDE_CODE_OAUTH_TOKEN is set: every message"
            " will be answered that Claude has no credential. Put one in .env (a token comes from"
            " `claude setup-token`), or run with COCKPIT_AGENT=echo to try the echo agent.[/yellow]"
        )
    if simulator is not None:
        console.print(f"Phone simulator: [bold]{settings.public_url}/phone[/bold]")
    else:
        console.print(f"Set Twilio's webhook to [bold]{settings.public_url}/twilio/messages[/bold]")
    console.print(f"Data in {settings.data_dir.resolve()} · agent: {settings.agent} · Ctrl-C stops")
    _freeze_start_up()
    uvicorn.run(
        application, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5,
        timeout_keep_alive=settings.keep_alive_seconds,
    )  # fmt: skip


def _freeze_start_up() -> None:
    """Put what start-up made (modules, routes, the engine: it lives as long as the
    process) out of the cyclic collector's reach. A full collection walked all of it and
    stopped the relay for 50-100 ms under load, the webhook's p99 (decision 0037)."""
    gc.collect()
    gc.freeze()


@app.command()
def relay(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Run the relay alone (production): Twilio in, Twilio out."""
    from cockpit.server import build_relay, create_app

    settings = _settings()
    try:
        parts = build_relay(settings)
        parts.db.check()  # a damaged SQLite file must not acknowledge webhooks
        application = create_app(parts, production=True)
    except (ConfigError, StoreError) as exc:
        raise _fail(exc) from None
    _freeze_start_up()
    # uvicorn's default (5 s) equals common clients' idle expiry (httpx: 5 s): a request sent
    # on a connection the server is just closing is reset, a webhook lost (decision 0023).
    # SIGTERM: open requests get 3 s, then the workers hand their work over (relay/shutdown.py).
    uvicorn.run(
        application, host=host, port=port, log_level="warning",
        timeout_keep_alive=settings.keep_alive_seconds, timeout_graceful_shutdown=3,
    )  # fmt: skip


@app.command()
def host(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Run one user's agent host: Claude Code in the workspace, behind a bearer token."""
    import asyncio

    from cockpit.host import serve_host

    settings = _settings()
    try:
        asyncio.run(serve_host(settings, host, port))
    except (ConfigError, StoreError) as exc:  # StoreError: host.db from a newer cockpit
        raise _fail(exc) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the current schema."""
    from cockpit.store.migrate import upgrade

    settings = _settings()
    upgrade(settings.effective_database_url)
    console.print("Database is up to date.")


@users_app.command("add")
def users_add(
    phone: Annotated[str, typer.Argument(help="WhatsApp number in E.164 form, e.g. +15551234567")],
    name: Annotated[str, typer.Option("--name", help="The person's name.")],
    repo: Annotated[
        Path | None, typer.Option("--repo", help="Existing git repository to work in.")
    ] = None,
    claude: Annotated[
        bool,
        typer.Option(
            "--claude",
            help="Ask for the person's Anthropic API key or Claude subscription token "
            "(`claude setup-token`), hidden, and store it encrypted for their host.",
        ),
    ] = False,
) -> None:
    """Register a person so the relay accepts their messages."""
    from cockpit.core.signup import claude_credential
    from cockpit.store import secrets, users
    from cockpit.store.db import Database
    from cockpit.store.migrate import upgrade

    settings = _settings()
    credential = None
    if claude:
        try:
            settings.load_secret_key()  # the relay's key: never a new one (docs/secrets.md)
        except ConfigError as exc:
            raise _fail(exc) from None
        typed = typer.prompt("API key or subscription token", hide_input=True)
        try:
            credential = claude_credential(typed)
        except ValueError as exc:
            raise _fail(exc) from None
    upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    try:
        user = users.add_user(db, phone, name, str(repo.resolve()) if repo else None)
    except (ValueError, users.UserExistsError) as exc:
        raise _fail(exc) from None
    said = ""
    if credential is not None and settings.secret_key is not None:
        kind, value = credential
        secret = secrets.CLAUDE_OAUTH_TOKEN if kind == "oauth_token" else secrets.ANTHROPIC_API_KEY
        secrets.put_secret(db, user.id, secret, value, key=settings.secret_key)
        label = "subscription token" if kind == "oauth_token" else "API key"
        said = f" with their Claude {label} (…{secrets.hint_of(value)})"
    console.print(f"Added {user.name} ({user.phone}){said}.")


@users_app.command("list")
def users_list() -> None:
    """List registered people."""
    from cockpit.store import users
    from cockpit.store.db import Database

    settings = _settings()
    for user in users.list_users(Database(settings.effective_database_url)):
        console.print(f"{user.phone}\t{user.name}\t{user.status}")


PhoneArg = Annotated[str, typer.Argument(help="The user's WhatsApp number, e.g. +15551234567")]


def _github_user(phone: str) -> tuple[Settings, Database, int]:
    """Settings (with the secret key), the database and the user id of `phone`."""
    from cockpit.core.phone import normalize_e164
    from cockpit.store import users
    from cockpit.store.db import Database
    from cockpit.store.migrate import upgrade

    settings = _settings()
    try:
        settings.load_secret_key()
    except ConfigError as exc:
        raise _fail(exc) from None
    upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    try:
        user = users.find_by_phone(db, normalize_e164(phone))
    except ValueError as exc:
        raise _fail(exc) from None
    if user is None:
        raise _fail(ValueError(f"No user {phone}: add them first with `cockpit users add`."))
    return settings, db, user.id


@github_app.command("link")
def github_link(
    phone: PhoneArg,
    repo: Annotated[str, typer.Argument(help="The repository, owner/name")],
    create_hook: Annotated[
        bool, typer.Option("--create-hook", help="Create the webhook on GitHub with their token.")
    ] = False,
) -> None:
    """Send a repository's webhooks to a user; prints the webhook secret to paste into GitHub."""
    import re

    from cockpit.store import github

    if not re.fullmatch(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}", repo):
        raise _fail(ValueError(f"{repo!r} is not owner/name, e.g. octo-org/octo-repo."))
    settings, db, user_id = _github_user(phone)
    assert settings.secret_key is not None
    with _key_opens():
        token = _hook_token(settings, db, user_id, phone) if create_hook else None
        secret = github.link_repo(db, user_id, repo, key=settings.secret_key)
    if token is not None:
        _create_hook(settings, token, phone, repo, secret)
        return
    url = f"{settings.public_url or 'https://<your relay>'}/github/webhook"
    console.print(f"Linked {repo} to {phone}. In GitHub: Settings → Webhooks → Add webhook:")
    console.print(f"  Payload URL   {url}\n  Content type  application/json")
    console.print(f"  Secret        {secret}")
    console.print("  Events        Workflow runs, Check suites, Pull requests, Deployment statuses")


@contextmanager
def _key_opens() -> Iterator[None]:
    """Turn "this key does not open the user's secrets" into one sentence and exit 2."""
    from cockpit.errors import SecretKeyError

    try:
        yield
    except SecretKeyError as exc:
        raise _fail(ValueError(f"{exc}: use the relay's COCKPIT_SECRET_KEY.")) from None


def _hook_token(settings: Settings, db: Database, user_id: int, phone: str) -> str:
    """The person's GitHub token, checked before anything changes (with the relay's URL)."""
    from cockpit.store import github, secrets

    assert settings.secret_key is not None
    token = secrets.get_secret(db, user_id, github.GITHUB_TOKEN, key=settings.secret_key)
    if not token:
        raise _fail(ValueError(f"No GitHub token for {phone}: run `cockpit github token` first."))
    if not settings.public_url:
        raise _fail(ValueError("Set COCKPIT_PUBLIC_URL: GitHub must reach the relay there."))
    return token


def _create_hook(settings: Settings, token: str, phone: str, repo: str, secret: str) -> None:
    import asyncio

    from cockpit.errors import GitHubError
    from cockpit.relay.github.link import install_webhook

    try:
        hook = asyncio.run(install_webhook(settings, token, repo, secret))
    except GitHubError as exc:
        raise _fail(ValueError(
            f"GitHub refused the webhook on {repo}: {exc}. Add it by hand with the secret {secret}"
        )) from None  # fmt: skip
    console.print(f"Linked {repo} to {phone}; its webhook on GitHub is hook {hook.get('id')}.")


@github_app.command("token")
def github_token(phone: PhoneArg) -> None:
    """Store a user's GitHub token (read from the terminal or stdin), encrypted."""
    from cockpit.store import github, secrets

    settings, db, user_id = _github_user(phone)
    assert settings.secret_key is not None
    token = typer.prompt("GitHub token", hide_input=True).strip()
    if not token:
        raise _fail(ValueError("An empty token is not stored."))
    with _key_opens():
        secrets.put_secret(db, user_id, github.GITHUB_TOKEN, token, key=settings.secret_key)
    console.print(f"Stored the GitHub token of {phone} (…{secrets.hint_of(token)}).")


@app.command()
def report(
    since: Annotated[
        str, typer.Option("--since", help="Start: a time (2026-11-20T09:00, UTC) or 7d, 24h back.")
    ] = "7d",
    until: Annotated[str, typer.Option("--until", help="End: a time, a duration back, or now.")] = (
        "now"
    ),
    grace: Annotated[
        str, typer.Option("--grace", help="Messages younger than this count as in flight.")
    ] = "10m",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Print the beta's graduation criteria from recorded data (docs/operations.md)."""
    import json

    from cockpit import report as beta
    from cockpit.core.clock import utcnow
    from cockpit.store.db import Database

    settings = _settings()
    now = utcnow()
    try:
        start, end = beta.parse_moment(since, now), beta.parse_moment(until, now)
        wait = beta.parse_duration(grace)
    except ValueError as exc:
        raise _fail(exc) from None
    if start >= end:
        raise _fail(ValueError("--since must be before --until"))
    db = Database(settings.effective_database_url)
    try:
        result = beta.build(db, start, end, wait)
    except StoreError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(beta.as_json(result), indent=2))
    else:
        console.print(beta.render(result))


@app.command()
def doctor() -> None:
    """Check settings, database, Chromium and the Claude Code CLI; say how to fix each."""
    from cockpit.doctor import render, run_checks

    try:
        settings = load_settings()
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    results = run_checks(settings)
    console.print(render(results))
    if any(not r.ok for r in results):
        sys.exit(1)


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-wrap every user's data key under COCKPIT_SECRET_KEY (the new key), from
    COCKPIT_SECRET_KEY_PREVIOUS (the old one); relays with both keep working meanwhile."""
    from cockpit.store import secrets
    from cockpit.store.db import Database

    settings = _settings()
    new, old = settings.secret_key, settings.secret_key_previous
    if new is None or old is None:
        raise _fail(ValueError(
            "Set COCKPIT_SECRET_KEY to the new key and COCKPIT_SECRET_KEY_PREVIOUS to the old "
            "one (docs/secrets.md, Rotating the key)."
        ))  # fmt: skip
    if new.get_secret_value() == old.get_secret_value():
        raise _fail(ValueError("COCKPIT_SECRET_KEY and COCKPIT_SECRET_KEY_PREVIOUS are the same."))
    db = Database(settings.effective_database_url)
    try:
        done = secrets.rewrap(db, new=new, previous=old)
    except StoreError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(f"Re-wrapped {done.moved} data key(s); {done.current} already used the new key.")
    if done.unreadable:
        ids = ", ".join(str(i) for i in done.unreadable)
        raise _fail(ValueError(
            f"The data keys of user(s) {ids} open with neither key; their secrets stay unreadable."
        ))  # fmt: skip
    console.print("Done: remove COCKPIT_SECRET_KEY_PREVIOUS from every relay and restart them.")
