"""The relay's tables. Only `cockpit.store` touches them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cockpit.core.clock import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    repo_path: Mapped[str | None] = mapped_column(Text, default=None)
    repo_url: Mapped[str | None] = mapped_column(Text, default=None)
    setup_step: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the user last wrote to us: WhatsApp's 24-hour window runs from here.
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    # Which relay runs the signup's setup, and until when; then another takes it over.
    setup_by: Mapped[str | None] = mapped_column(String(64), default=None)
    setup_until: Mapped[datetime | None] = mapped_column(default=None)


class InboundMessage(Base):
    """A message from a phone, stored before Twilio gets its answer."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_number: Mapped[str] = mapped_column(String(20))
    to_number: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    profile_name: Mapped[str | None] = mapped_column(String(200))
    wa_id: Mapped[str | None] = mapped_column(String(32))
    replied_sid: Mapped[str | None] = mapped_column(String(64))
    button_payload: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    # Which relay is handling the message, and until when; then another may take it.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_inbound_state_id", "state", "id"),
        Index("ix_inbound_received_at", "received_at"),  # the report's windows
    )


class OutboundMessage(Base):
    """A message to a phone; the outbox the sender drains in order per recipient."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    media_id: Mapped[str | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default="text")
    session: Mapped[str | None] = mapped_column(String(64))
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    # The host turn this row reports on (host events), so a reply can be traced to its task.
    turn_id: Mapped[str | None] = mapped_column(String(80))
    content_sid: Mapped[str | None] = mapped_column(String(64))
    content_variables: Mapped[str | None] = mapped_column(Text)
    # Buttons or a list (core/interactive.py): the kind of Content API template to send
    # with `content_variables`; `body` is the numbered text sent when that fails.
    interactive: Mapped[str | None] = mapped_column(String(32))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    maybe_sent: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_outbound_status_to_id", "status", "to_number", "id"),
        # The report finds a message's replies by these (a scan each would be quadratic).
        Index("ix_outbound_inbound_id", "inbound_id"),
        Index("ix_outbound_turn_id", "turn_id"),
        Index("ix_outbound_created_at", "created_at"),
    )


class Media(Base):
    """An image or document kept for sending (or received from a phone)."""

    __tablename__ = "media"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HostLink(Base):
    """The relay's view of a user's host: how far its event stream has been read."""

    __tablename__ = "host_links"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    session: Mapped[str] = mapped_column(String(64), default="main")
    last_progress_ts: Mapped[float | None] = mapped_column()
    unreachable_since: Mapped[datetime | None] = mapped_column()
    # The boot id the host last reported: a new one means the host restarted.
    host_boot: Mapped[str | None] = mapped_column(String(40))
    # The relay following this host's events, and until when (renewed while it follows).
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Turn(Base):
    """One message handed to a host, and how it ended."""

    __tablename__ = "turns"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    error_kind: Mapped[str | None] = mapped_column(String(32))
    cost_usd: Mapped[float | None] = mapped_column()
    num_turns: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)
    # The phone message that started the turn (None for turns started otherwise).
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_turns_user_created", "user_id", "created_at"),
        Index("ix_turns_inbound_id", "inbound_id"),
        Index("ix_turns_created_at", "created_at"),
    )


class Prompt(Base):
    """A question the phone must answer: an approval or Claude's ask_user."""

    __tablename__ = "prompts"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    turn_id: Mapped[str | None] = mapped_column(String(80))
    session: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How and when it was answered ("allow", an option, "timeout"), for a late tap.
    resolution: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column()


class ContentTemplate(Base):
    """A Content API template the relay created (HX…), keyed by a hash of its definition."""

    __tablename__ = "content_templates"

    definition_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_sid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatSession(Base):
    """One Claude session of a user (`/new`, `/sessions`, `/switch`)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ux_sessions_user_name", "user_id", "name", unique=True),)


class UserDataKey(Base):
    """A user's own data key, wrapped (AES-GCM) by the key derived from COCKPIT_SECRET_KEY."""

    __tablename__ = "user_data_keys"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSecret(Base):
    """One secret of a user (an API key, a token), encrypted with the user's data key."""

    __tablename__ = "user_secrets"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    hint: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Heartbeat(Base):
    """One health check a relay recorded; gaps between them are downtime (`cockpit report`)."""

    __tablename__ = "heartbeats"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(String(64))
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)
    interval_seconds: Mapped[float] = mapped_column()

    __table_args__ = (Index("ix_heartbeats_beat_at", "beat_at"),)


class GitHubRepo(Base):
    """A GitHub repository whose webhooks reach a user; its secret is a user secret."""

    __tablename__ = "github_repos"

    full_name: Mapped[str] = mapped_column(String(140), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GitHubDelivery(Base):
    """One verified webhook delivery, kept so that a redelivery changes nothing."""

    __tablename__ = "github_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    repo: Mapped[str] = mapped_column(String(140))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set for failures that `fix` can take.
    fix: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    fixed_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    # Which relay is handling the delivery, and until when; then another may take it.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_github_deliveries_state", "state", "received_at"),
        Index("ix_github_deliveries_user", "user_id", "received_at"),
    )


class PhoneCode(Base):
    """The latest verification code sent to a phone (signup or sign-in), stored hashed."""

    __tablename__ = "phone_codes"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    # Across codes, until a right one: wrong tries, codes sent, and the lock they earned.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class PhoneProof(Base):
    """A click-to-chat code shown on a page, proven when its phone sends it on WhatsApp.

    Keyed by the code's HMAC (bound to the phone): the code itself is never stored.
    """

    __tablename__ = "phone_proofs"
    __table_args__ = (Index("ix_phone_proofs_phone", "phone", "created_at"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column(default=None)


class ThrottleHit(Base):
    """One counted attempt in a rate limit shared by every relay (`bucket` names it)."""

    __tablename__ = "throttle_hits"
    __table_args__ = (Index("ix_throttle_hits_bucket", "bucket", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSignin(Base):
    """A signed-in web session; logging out deletes it, so a copied cookie stops working."""

    __tablename__ = "web_signins"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column()
