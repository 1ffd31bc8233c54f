"""Every setting of the cockpit, read from the environment or `.env`.

Only this module reads the environment. Each setting has its public name (the
environment variable), a default and a one-line help; the README's settings
table lists them all (a test checks that).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cockpit.core.phone import normalize_e164
from cockpit.errors import ConfigError

TWILIO_API = "https://api.twilio.com"


def _env(name: str, help_: str, default: object = None) -> object:
    return Field(default=default, validation_alias=AliasChoices(name), description=help_)


class Settings(BaseSettings):
    """The cockpit's configuration; build it with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, frozen=False
    )

    database_url: str | None = _env(
        "COCKPIT_DATABASE_URL",
        "SQLAlchemy URL of the database; empty means SQLite in COCKPIT_DATA_DIR.",
    )  # type: ignore[assignment]
    data_dir: Path = _env(
        "COCKPIT_DATA_DIR",
        "Folder for the SQLite database, media and workspaces.",
        Path(".cockpit"),
    )  # type: ignore[assignment]
    public_url: str | None = _env(
        "COCKPIT_PUBLIC_URL",
        "Address Twilio reaches the relay at (signatures are checked against it).",
    )  # type: ignore[assignment]
    secret_key: SecretStr | None = _env(
        "COCKPIT_SECRET_KEY",
        "Key that signs media URLs and wraps user secrets; `cockpit up` makes one.",
    )  # type: ignore[assignment]
    secret_key_previous: SecretStr | None = _env(
        "COCKPIT_SECRET_KEY_PREVIOUS",
        "During a key rotation only: the old COCKPIT_SECRET_KEY, still accepted for users' "
        "secrets and page sessions until `cockpit secrets rotate` has re-wrapped every data key.",
    )  # type: ignore[assignment]
    allowed_numbers: Annotated[list[str], NoDecode] = _env(
        "COCKPIT_ALLOWED_NUMBERS",
        "Comma-separated E.164 numbers allowed to use the relay; empty: all registered users.",
        [],
    )  # type: ignore[assignment]
    provisioner: Literal["local", "container", "fly"] = _env(
        "COCKPIT_PROVISIONER", "Where user hosts run: local, container or fly.", "local"
    )  # type: ignore[assignment]
    agent: Literal["echo", "claude"] = _env(
        "COCKPIT_AGENT",
        "claude runs each user's own Claude Code host; echo answers with the message.",
        "claude",
    )  # type: ignore[assignment]
    twilio_account_sid: str | None = _env(
        "TWILIO_ACCOUNT_SID", "Twilio account SID (AC…); empty with `cockpit up`: the simulator."
    )  # type: ignore[assignment]
    twilio_auth_token: SecretStr | None = _env(
        "TWILIO_AUTH_TOKEN", "Twilio auth token; signs webhooks and authenticates sends."
    )  # type: ignore[assignment]
    twilio_whatsapp_from: str | None = _env(
        "TWILIO_WHATSAPP_FROM", "The WhatsApp sender, e.g. whatsapp:+14155238886 (the sandbox)."
    )  # type: ignore[assignment]
    twilio_api_base_url: str = _env(
        "TWILIO_API_BASE_URL", "Base URL of Twilio's REST API.", "https://api.twilio.com"
    )  # type: ignore[assignment]
    twilio_media_base_url: str | None = _env(
        "TWILIO_MEDIA_BASE_URL",
        "Where inbound MediaUrls get the Twilio credentials; empty: TWILIO_API_BASE_URL.",
    )  # type: ignore[assignment]
    twilio_content_base_url: str | None = _env(
        "TWILIO_CONTENT_BASE_URL",
        "Base URL of Twilio's Content API (buttons); empty: https://content.twilio.com, or "
        "TWILIO_API_BASE_URL when that is not Twilio's (the simulator serves both).",
    )  # type: ignore[assignment]
    twilio_messaging_base_url: str | None = _env(
        "TWILIO_MESSAGING_BASE_URL",
        "Base URL of Twilio's typing indicator API; empty: https://messaging.twilio.com, or "
        "TWILIO_API_BASE_URL when that is not Twilio's.",
    )  # type: ignore[assignment]
    buttons: bool = _env(
        "COCKPIT_BUTTONS",
        "Send approvals and questions with tap buttons or a list (Content API); off: "
        "numbered text.",
        True,
    )  # type: ignore[assignment]
    typing_indicator: bool = _env(
        "COCKPIT_TYPING_INDICATOR",
        'Show WhatsApp\'s typing… while Claude works instead of an "👀 on it" message.',
        True,
    )  # type: ignore[assignment]
    typing_renew_seconds: float = _env(
        "COCKPIT_TYPING_RENEW_SECONDS",
        "Renew the typing indicator this often while Claude works (WhatsApp drops it at 25 s).",
        20.0,
    )  # type: ignore[assignment]
    merge_seconds: float = _env(
        "COCKPIT_MERGE_SECONDS",
        "Longest wait of Claude's answer for its change summary and ✅ line, to go as one "
        "message (anything else that comes lets it go at once).",
        10.0,
    )  # type: ignore[assignment]
    twilio_content_sid_reopen: str | None = _env(
        "TWILIO_CONTENT_SID_REOPEN",
        "Content SID (HX…) of the approved template sent when WhatsApp's 24-hour window "
        "is closed; empty: messages are held until the user writes.",
    )  # type: ignore[assignment]
    twilio_content_sid_verify: str | None = _env(
        "TWILIO_CONTENT_SID_VERIFY",
        "Content SID (HX…) of an approved authentication template with the code as {{1}}; "
        "set: the pages send codes to the phone to type; empty: the person sends the code "
        "shown on the page from WhatsApp (click-to-chat).",
    )  # type: ignore[assignment]
    window_margin_seconds: float = _env(
        "COCKPIT_WINDOW_MARGIN_SECONDS",
        "Treat WhatsApp's 24-hour window as closed this much earlier, for sends in flight.",
        300.0,
    )  # type: ignore[assignment]
    anthropic_api_key: SecretStr | None = _env(
        "ANTHROPIC_API_KEY",
        "Anthropic API key of hosts whose user gave none at signup (`users add` users).",
    )  # type: ignore[assignment]
    claude_code_oauth_token: SecretStr | None = _env(
        "CLAUDE_CODE_OAUTH_TOKEN",
        "Claude subscription token (from `claude setup-token`) of hosts whose user gave no "
        "credential; for one person's own use (a service for many uses API keys).",
    )  # type: ignore[assignment]
    anthropic_base_url: str | None = _env(
        "ANTHROPIC_BASE_URL", "Anthropic API address handed to Claude Code (empty: Anthropic's)."
    )  # type: ignore[assignment]
    github_api_base_url: str = _env(
        "GITHUB_API_BASE_URL", "Base URL of GitHub's REST API.", "https://api.github.com"
    )  # type: ignore[assignment]
    github_max_request_bytes: int = _env(
        "COCKPIT_GITHUB_MAX_REQUEST_BYTES",
        "Largest GitHub webhook body accepted; larger gets 413.",
        1_048_576,
    )  # type: ignore[assignment]
    send_max_attempts: int = _env(
        "COCKPIT_SEND_MAX_ATTEMPTS", "Tries of one outbound message before it is failed.", 8
    )  # type: ignore[assignment]
    retry_base_seconds: float = _env(
        "COCKPIT_RETRY_BASE_SECONDS", "First retry delay of a failed send; doubles per try.", 1.0
    )  # type: ignore[assignment]
    retry_max_seconds: float = _env(
        "COCKPIT_RETRY_MAX_SECONDS", "Longest delay between two tries of a send.", 300.0
    )  # type: ignore[assignment]
    send_timeout_seconds: float = _env(
        "COCKPIT_SEND_TIMEOUT_SECONDS",
        "HTTP timeout of one call to Twilio's API (keep it at most COCKPIT_SEND_LEASE_SECONDS).",
        10.0,
    )  # type: ignore[assignment]
    host_lease_seconds: float = _env(
        "COCKPIT_HOST_LEASE_SECONDS",
        "How long a relay holds the right to follow a user's host unrenewed; then another may.",
        10.0,
    )  # type: ignore[assignment]
    send_lease_seconds: float = _env(
        "COCKPIT_SEND_LEASE_SECONDS",
        "How long a relay's claim on a send lasts unrenewed; then another reconciles it.",
        10.0,
    )  # type: ignore[assignment]
    inbox_lease_seconds: float = _env(
        "COCKPIT_INBOX_LEASE_SECONDS",
        "How long a relay's claim on an inbound message lasts unrenewed; then another takes it.",
        10.0,
    )  # type: ignore[assignment]
    claim_lease_seconds: float = _env(
        "COCKPIT_CLAIM_LEASE_SECONDS",
        "How long a relay's claim on a status look-up, GitHub delivery or signup setup lasts"
        " unrenewed; then another relay takes the work over.",
        10.0,
    )  # type: ignore[assignment]
    lease_renew_seconds: float = _env(
        "COCKPIT_LEASE_RENEW_SECONDS",
        "How often a live relay renews all its claims (at most a third of the shortest lease).",
        3.0,
    )  # type: ignore[assignment]
    shutdown_seconds: float = _env(
        "COCKPIT_SHUTDOWN_SECONDS",
        "On SIGTERM, how long in-flight sends and messages may finish before their claims are"
        " handed to the other relays.",
        4.0,
    )  # type: ignore[assignment]
    order_timeout_seconds: float = _env(
        "COCKPIT_ORDER_TIMEOUT_SECONDS",
        "Longest wait for Twilio's `sent` before the next message to that phone goes.",
        10.0,
    )  # type: ignore[assignment]
    status_check_seconds: float = _env(
        "COCKPIT_STATUS_CHECK_SECONDS",
        "Age after which a message Twilio accepted but never reported on is looked up.",
        120.0,
    )  # type: ignore[assignment]
    media_url_ttl_seconds: int = _env(
        "COCKPIT_MEDIA_URL_TTL_SECONDS", "Lifetime of a signed media URL.", 3600
    )  # type: ignore[assignment]
    max_request_bytes: int = _env(
        "COCKPIT_MAX_REQUEST_BYTES", "Largest webhook body accepted; larger gets 413.", 65536
    )  # type: ignore[assignment]
    database_wait_seconds: float = _env(
        "COCKPIT_DATABASE_WAIT_SECONDS",
        "How long a request waits for the database (SQLite: its turn to write, or a lock "
        "another process holds) before it is answered 503; keep it under Twilio's 15 s.",
        5.0,
    )  # type: ignore[assignment]
    keep_alive_seconds: int = _env(
        "COCKPIT_KEEP_ALIVE_SECONDS",
        "How long the relay keeps an idle HTTP connection open; longer than its clients' "
        "and proxies' own idle limits, so no request meets a connection being closed.",
        75,
    )  # type: ignore[assignment]
    poll_seconds: float = _env(
        "COCKPIT_POLL_SECONDS",
        "How often background workers look for work they were not told of.",
        1.0,
    )  # type: ignore[assignment]
    heartbeat_seconds: float = _env(
        "COCKPIT_HEARTBEAT_SECONDS",
        "How often the relay records a health check; gaps are downtime in `cockpit report`.",
        30.0,
    )  # type: ignore[assignment]
    admin_password: SecretStr | None = _env(
        "COCKPIT_ADMIN_PASSWORD",
        "Password of the operator's /admin pages (12+ characters); empty: /admin is off.",
    )  # type: ignore[assignment]
    metrics_token: SecretStr | None = _env(
        "COCKPIT_METRICS_TOKEN",
        "Bearer token /metrics requires; empty: open on `cockpit up`, off on `cockpit relay`.",
    )  # type: ignore[assignment]
    host_grace_seconds: float = _env(
        "COCKPIT_HOST_GRACE_SECONDS",
        "How long a user's host may be unreachable before the user is told.",
        20.0,
    )  # type: ignore[assignment]
    docker_url: str = _env(
        "COCKPIT_DOCKER_URL",
        "Docker Engine API of the container provisioner.",
        "unix:///var/run/docker.sock",
    )  # type: ignore[assignment]
    host_image: str = _env(
        "COCKPIT_HOST_IMAGE",
        "Image of users' hosts (deploy/Dockerfile.host).",
        "cockpit-host:latest",
    )  # type: ignore[assignment]
    container_network: str = _env(
        "COCKPIT_CONTAINER_NETWORK",
        "Network mode of host containers (host: reached on loopback).",
        "host",
    )  # type: ignore[assignment]
    fly_api_token: SecretStr | None = _env(
        "FLY_API_TOKEN", "Fly.io API token of the fly provisioner (fly tokens create deploy)."
    )  # type: ignore[assignment]
    fly_app: str | None = _env(
        "FLY_APP", "Fly app that holds the users' host machines (fly provisioner)."
    )  # type: ignore[assignment]
    fly_api_base_url: str = _env(
        "FLY_API_BASE_URL", "Base URL of Fly's Machines API.", "https://api.machines.dev"
    )  # type: ignore[assignment]
    fly_region: str = _env(
        "COCKPIT_FLY_REGION", "Fly region of new host machines and their volumes.", "iad"
    )  # type: ignore[assignment]
    fly_cpu_kind: str = _env(
        "COCKPIT_FLY_CPU_KIND", "CPU kind of host machines: shared or performance.", "shared"
    )  # type: ignore[assignment]
    fly_cpus: int = _env("COCKPIT_FLY_CPUS", "CPUs of each host machine.", 2)  # type: ignore[assignment]
    fly_memory_mb: int = _env(
        "COCKPIT_FLY_MEMORY_MB", "Memory of each host machine in MB (a multiple of 256).", 2048
    )  # type: ignore[assignment]
    fly_volume_gb: int = _env(
        "COCKPIT_FLY_VOLUME_GB", "Size of each user's workspace volume in GB.", 10
    )  # type: ignore[assignment]
    # --- the agent host (`cockpit host`), one per user ---
    host_token: SecretStr | None = _env(
        "COCKPIT_HOST_TOKEN",
        "Bearer token every request to a host must carry (set by the provisioner).",
    )  # type: ignore[assignment]
    workspace: Path | None = _env(
        "COCKPIT_WORKSPACE", "The host's git repository; empty: COCKPIT_DATA_DIR/workspace."
    )  # type: ignore[assignment]
    repo_url: str | None = _env(
        "COCKPIT_REPO_URL",
        "Repository a host clones into its empty workspace (the relay sets it from signup).",
    )  # type: ignore[assignment]
    git_token: SecretStr | None = _env(
        "COCKPIT_GIT_TOKEN",
        "Token for https git of COCKPIT_REPO_URL on a host (the user's GitHub token).",
    )  # type: ignore[assignment]
    auto_allow_edits: bool = _env(
        "COCKPIT_AUTO_ALLOW_EDITS",
        "Let Claude edit files inside the workspace without asking.",
        True,
    )  # type: ignore[assignment]
    approval_timeout_seconds: float = _env(
        "COCKPIT_APPROVAL_TIMEOUT_SECONDS",
        "An unanswered approval is denied after this long.",
        1800.0,
    )  # type: ignore[assignment]
    progress_interval_seconds: float = _env(
        "COCKPIT_PROGRESS_SECONDS", "At most one progress message per session this often.", 20.0
    )  # type: ignore[assignment]
    claude_model: str | None = _env(
        "COCKPIT_CLAUDE_MODEL", "Model Claude Code uses on hosts; empty: Claude Code's default."
    )  # type: ignore[assignment]
    slow_answer_seconds: float = _env(
        "COCKPIT_SLOW_ANSWER_SECONDS",
        "Tell the phone when Claude's model has not answered for this long; 0: never.",
        60.0,
    )  # type: ignore[assignment]
    transcriber: Literal["pocketsphinx", "whisper", "off"] = _env(
        "COCKPIT_TRANSCRIBER",
        "How hosts turn voice notes into text: pocketsphinx (offline), whisper, or off.",
        "pocketsphinx",
    )  # type: ignore[assignment]
    whisper_model: str = _env(
        "COCKPIT_WHISPER_MODEL",
        "Whisper model of COCKPIT_TRANSCRIBER=whisper (tiny, base, small…), fetched on first use.",
        "base",
    )  # type: ignore[assignment]
    voice_max_seconds: float = _env(
        "COCKPIT_VOICE_MAX_SECONDS",
        "Longest voice note a host transcribes; longer is refused.",
        300.0,
    )  # type: ignore[assignment]
    claude_max_retries: int | None = _env(
        "COCKPIT_CLAUDE_MAX_RETRIES", "Cap on Claude Code's own API retries; empty: its default."
    )  # type: ignore[assignment]
    stuck_failures: int = _env(
        "COCKPIT_STUCK_FAILURES",
        "Ask whether Claude is stuck when one command fails this often in a task; 0: never.",
        3,
    )  # type: ignore[assignment]
    stuck_flips: int = _env(
        "COCKPIT_STUCK_FLIPS",
        "Ask when a file's edits are undone this often in a task (A→B→A); 0: never.",
        2,
    )  # type: ignore[assignment]
    stuck_idle_steps: int = _env(
        "COCKPIT_STUCK_IDLE_STEPS",
        "Ask after this many tool calls in a row without a new file change; 0: never.",
        40,
    )  # type: ignore[assignment]
    client_idle_seconds: float = _env(
        "COCKPIT_CLIENT_IDLE_SECONDS",
        "Close a session's Claude Code process after this long unused; 0: after every turn.",
        600.0,
    )  # type: ignore[assignment]
    max_live_clients: int = _env(
        "COCKPIT_MAX_LIVE_CLIENTS",
        "Most Claude Code processes kept running on a host; the least recently used closes first.",
        5,
    )  # type: ignore[assignment]
    client_max_turns: int = _env(
        "COCKPIT_CLIENT_MAX_TURNS",
        "Start a new Claude Code process for a session after this many turns on one; 0: no limit.",
        200,
    )  # type: ignore[assignment]
    client_max_rss_mb: float = _env(
        "COCKPIT_CLIENT_MAX_RSS_MB",
        "Start a new Claude Code process when one uses over this many MiB; 0: no limit.",
        1024.0,
    )  # type: ignore[assignment]
    client_close_seconds: float = _env(
        "COCKPIT_CLIENT_CLOSE_SECONDS",
        "Kill a Claude Code process and its children still running this long after closing.",
        5.0,
    )  # type: ignore[assignment]
    turn_budget_usd: float = _env(
        "COCKPIT_TURN_BUDGET_USD",
        "Ask when one task's estimated cost passes this many dollars; 0: no budget.",
        5.0,
    )  # type: ignore[assignment]
    turn_budget_minutes: float = _env(
        "COCKPIT_TURN_BUDGET_MINUTES",
        "Ask when one task has worked this many minutes (answer waits excluded); 0: no limit.",
        45.0,
    )  # type: ignore[assignment]
    dev_command: str | None = _env(
        "COCKPIT_DEV_COMMAND",
        "Command that starts the app's dev server on hosts; empty: package.json's dev/start.",
    )  # type: ignore[assignment]
    dev_port: int | None = _env(
        "COCKPIT_DEV_PORT",
        "Port of the dev server; empty: the one its script names, else the tool's usual one.",
    )  # type: ignore[assignment]
    allow_shared_host: bool = _env(
        "COCKPIT_ALLOW_SHARED_HOST", "Let the local provisioner serve more than one user.", False
    )  # type: ignore[assignment]
    host_orphan_seconds: float = _env(
        "COCKPIT_HOST_ORPHAN_SECONDS",
        "A host exits after this long without any request or event stream of a relay; 0: never.",
        0.0,
    )  # type: ignore[assignment]
    local_host_orphan_seconds: float = _env(
        "COCKPIT_LOCAL_HOST_ORPHAN_SECONDS",
        "The COCKPIT_HOST_ORPHAN_SECONDS the local provisioner gives its hosts (relay gone).",
        300.0,
    )  # type: ignore[assignment]
    # --- signup (web pages on the relay) ---
    invite_codes: Annotated[list[str], NoDecode] = _env(
        "COCKPIT_INVITE_CODES",
        "Comma-separated invite codes that open signup (beta); empty: signup is closed.",
        [],
    )  # type: ignore[assignment]
    twilio_sandbox_keyword: str | None = _env(
        "TWILIO_SANDBOX_KEYWORD",
        "The sandbox's `join <keyword>`; set: signup tells people to join the sandbox first.",
    )  # type: ignore[assignment]
    github_client_id: str | None = _env(
        "GITHUB_CLIENT_ID", "GitHub OAuth app client id; empty: signup asks for a token instead."
    )  # type: ignore[assignment]
    github_client_secret: SecretStr | None = _env(
        "GITHUB_CLIENT_SECRET", "GitHub OAuth app client secret."
    )  # type: ignore[assignment]
    github_oauth_base_url: str = _env(
        "GITHUB_OAUTH_BASE_URL",
        "Base URL of GitHub's web: OAuth pages, and where `owner/name` repositories live.",
        "https://github.com",
    )  # type: ignore[assignment]
    log_level: str = _env("COCKPIT_LOG_LEVEL", "Logging level: DEBUG, INFO, WARNING.", "INFO")  # type: ignore[assignment]

    @field_validator("allowed_numbers", mode="before")
    @classmethod
    def _split_numbers(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, list):
            return [normalize_e164(str(v)) for v in value]
        return value

    @field_validator("admin_password")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # /admin faces the internet; a short password would fall to a slow guesser too.
        if value is not None and 0 < len(value.get_secret_value()) < 12:
            raise ValueError("must be at least 12 characters (or empty: /admin off)")
        return value

    @field_validator(
        "heartbeat_seconds", "status_check_seconds", "lease_renew_seconds",
        "inbox_lease_seconds", "send_lease_seconds", "host_lease_seconds", "claim_lease_seconds",
    )  # fmt: skip
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0 seconds")
        return value

    @field_validator("invite_codes", mode="before")
    @classmethod
    def _split_codes(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "twilio_api_base_url", "twilio_media_base_url", "public_url", "anthropic_base_url",
        "fly_api_base_url", "github_api_base_url", "github_oauth_base_url",
        "twilio_content_base_url", "twilio_messaging_base_url",
    )  # fmt: skip
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @property
    def effective_database_url(self) -> str:
        """The database to use: the configured URL or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cockpit.db').resolve()}"

    def twilio_base(self, api: Literal["content", "messaging"]) -> str:
        """Base URL of Twilio's Content or Messaging API: the setting, else Twilio's own
        unless TWILIO_API_BASE_URL points elsewhere (the simulator serves every API)."""
        chosen = (
            self.twilio_content_base_url if api == "content" else self.twilio_messaging_base_url
        )
        if chosen:
            return chosen
        if self.twilio_api_base_url != TWILIO_API:
            return self.twilio_api_base_url
        return f"https://{api}.twilio.com"

    @property
    def renew_every(self) -> float:
        """How often the heartbeat renews claims: `COCKPIT_LEASE_RENEW_SECONDS`, but at
        least three times per shortest lease, so one missed renewal loses nothing."""
        shortest = min(self.inbox_lease_seconds, self.send_lease_seconds,
                       self.host_lease_seconds, self.claim_lease_seconds)  # fmt: skip
        return min(self.lease_renew_seconds, shortest / 3)

    @property
    def uses_twilio(self) -> bool:
        """True when real Twilio credentials are configured."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def secret_keyring(self) -> list[SecretStr]:
        """The secret key first (it wraps anything new), then the previous one if rotating."""
        return [k for k in (self.secret_key, self.secret_key_previous) if k is not None]

    def require(self, *names: str) -> None:
        """Fail with one message naming every missing setting among `names`."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            envs = ", ".join(setting_env_name(n) for n in missing)
            raise ConfigError(f"Missing setting(s): {envs}. Set them in the environment or .env.")

    def load_secret_key(self) -> None:
        """Use COCKPIT_SECRET_KEY, else the key `cockpit up` keeps in the data folder; raise
        ConfigError when there is neither: only `cockpit up` makes a key (a new one would
        not open the secrets the relay stored)."""
        if self.secret_key is not None:
            return
        path = self.data_dir / "secret_key"
        if not path.is_file():
            raise ConfigError(
                f"COCKPIT_SECRET_KEY is not set and {path} does not exist: set it to the relay's"
                " key (or run this where `cockpit up` keeps its data) and try again."
            )
        self.secret_key = SecretStr(path.read_text().strip())

    def ensure_secret_key(self) -> None:
        """Use the key in the data folder, making one there if none is configured (only
        `cockpit up` may: see `load_secret_key`)."""
        if self.secret_key is not None:
            return
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        self.secret_key = SecretStr(path.read_text().strip())


def setting_env_name(field: str) -> str:
    """The public (environment) name of a settings field."""
    alias = Settings.model_fields[field].validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


def documented_settings() -> dict[str, str]:
    """Every setting's public name with its one-line help."""
    return {
        setting_env_name(name): field.description or ""
        for name, field in Settings.model_fields.items()
    }


_SECRET_NAMES = {
    "COCKPIT_SECRET_KEY", "TWILIO_AUTH_TOKEN", "ANTHROPIC_API_KEY", "COCKPIT_ADMIN_PASSWORD",
    "FLY_API_TOKEN", "GITHUB_CLIENT_SECRET", "COCKPIT_INVITE_CODES", "COCKPIT_GIT_TOKEN",
    "COCKPIT_METRICS_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN", "COCKPIT_SECRET_KEY_PREVIOUS",
}  # fmt: skip


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one readable ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = setting_env_name(field) if field in Settings.model_fields else field
            shown = "" if name in _SECRET_NAMES else f" (got {err.get('input')!r})"
            lines.append(f"{name}: {err['msg']}{shown}")
        raise ConfigError("Invalid settings:\n  " + "\n  ".join(lines)) from None
