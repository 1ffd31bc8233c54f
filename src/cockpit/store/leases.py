"""Every claim a relay holds, renewed and handed back in one statement per table.

A relay claims work by writing its `worker_id` (new at each start, never reused, so it
is also the claim's epoch) and a lease end on the row: an inbound message, an outbox
send, a status look-up, a host's event stream, a GitHub delivery, a signup's setup.
While the relay lives its heartbeat pushes the lease ends forward (`renew`); a relay
that dies stops doing so and its rows are taken over when the leases lapse; a relay
that stops cleanly hands them back at once (`release_all`; a send cut short excepted).
Every write that finishes a piece of work checks the holder again (fencing): a relay
whose claim was taken over while it was away writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, true, update

from cockpit.core.clock import utcnow
from cockpit.store.db import Database
from cockpit.store.models import (
    GitHubDelivery,
    HostLink,
    InboundMessage,
    OutboundMessage,
    User,
)
from cockpit.store.status import InboundState, UserStatus


@dataclass(frozen=True)
class _Kind:
    model: Any
    key: Any
    holder: Any
    until: Any
    # Only rows still in the state the claim was taken for are renewed or handed back.
    live: ColumnElement[bool]
    # Whether a stopping relay hands the claim back (else it lapses with its lease).
    handback: bool = True


KINDS: dict[str, _Kind] = {
    "inbox": _Kind(InboundMessage, InboundMessage.id, InboundMessage.claimed_by,
                   InboundMessage.claimed_until, InboundMessage.state == InboundState.PENDING),
    # A send cut short at shutdown may still reach Twilio after the relay is gone: were it
    # handed back, the next holder could look at Twilio's list too early and send it
    # again. Its lease runs out instead (by then the cut request is over, as
    # COCKPIT_SEND_TIMEOUT_SECONDS <= COCKPIT_SEND_LEASE_SECONDS), then it is reconciled.
    "send": _Kind(OutboundMessage, OutboundMessage.id, OutboundMessage.claimed_by,
                  OutboundMessage.claimed_until, OutboundMessage.status == "sending",
                  handback=False),
    "status": _Kind(OutboundMessage, OutboundMessage.id, OutboundMessage.claimed_by,
                    OutboundMessage.claimed_until, OutboundMessage.status == "accepted"),
    "host": _Kind(HostLink, HostLink.user_id, HostLink.owner, HostLink.lease_until, true()),
    "github": _Kind(GitHubDelivery, GitHubDelivery.delivery_id, GitHubDelivery.claimed_by,
                    GitHubDelivery.claimed_until, GitHubDelivery.state == "pending"),
    "setup": _Kind(User, User.id, User.setup_by, User.setup_until,
                   User.status == UserStatus.PROVISIONING),
}  # fmt: skip


def renew(
    db: Database,
    worker: str,
    held: Mapping[str, Iterable[Any]],
    leases: Mapping[str, float],
    *,
    now: datetime | None = None,
) -> dict[str, set[Any]]:
    """Push forward the leases of the claims `worker` holds (`held`: kind → keys), one
    UPDATE per kind that has any; returns, per kind, the keys it no longer holds (another
    relay took them over, or the work moved on)."""
    now = now or utcnow()
    lost: dict[str, set[Any]] = {}
    with db.transaction() as s:
        for name, keys in held.items():
            wanted = set(keys)
            if not wanted:
                continue
            kind = KINDS[name]
            stmt = (
                update(kind.model)
                .where(kind.key.in_(wanted), kind.holder == worker, kind.live)
                .values({kind.until: now + timedelta(seconds=leases[name])})
                .returning(kind.key)
                .execution_options(synchronize_session=False)
            )
            kept = set(s.scalars(stmt))
            if wanted - kept:
                lost[name] = wanted - kept
    return lost


def release_all(db: Database, worker: str) -> dict[str, int]:
    """Hand back every claim `worker` still holds (it is stopping), so the other relays
    take the work at once; how many rows of each kind."""
    released: dict[str, int] = {}
    with db.transaction() as s:
        for name, kind in KINDS.items():
            if not kind.handback:
                continue
            stmt = (
                update(kind.model)
                .where(kind.holder == worker, kind.until.is_not(None), kind.live)
                .values({kind.holder: None, kind.until: None})
                .execution_options(synchronize_session=False)
            )
            count = int(s.execute(stmt).rowcount)  # type: ignore[attr-defined]
            if count:
                released[name] = count
    return released
