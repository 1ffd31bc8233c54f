"""Queries of `host_links`, `turns` and `prompts`: the relay's side of each user's host."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cockpit.core.clock import utcnow
from cockpit.core.host_events import EventOutcome, TurnUpdate
from cockpit.core.messages import OutboundDraft
from cockpit.store import outbox
from cockpit.store.db import Database
from cockpit.store.models import HostLink, Prompt, Turn
from cockpit.store.status import FINISHED_TURN, TurnState


@dataclass(frozen=True)
class LinkRecord:
    user_id: int
    cursor: int
    session: str
    last_progress_ts: float | None
    unreachable_since: datetime | None
    host_boot: str | None = None


@dataclass(frozen=True)
class TurnRecord:
    id: str
    user_id: int
    session: str
    text: str
    state: str
    error_kind: str | None
    cost_usd: float | None
    created_at: datetime
    duration_ms: int | None = None
    answer: str | None = None


@dataclass(frozen=True)
class PromptRecord:
    id: str
    kind: str
    turn_id: str | None
    options: list[str]
    state: str = "open"
    created_at: datetime | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None
    user_id: int | None = None


def _prompt_record(p: Prompt) -> PromptRecord:
    return PromptRecord(p.id, p.kind, p.turn_id, list(p.options), p.state, p.created_at,
                        p.resolution, p.resolved_at, p.user_id)  # fmt: skip


def _close(prompt: Prompt, resolution: str | None) -> None:
    if prompt.state != "closed":
        prompt.state = "closed"
        prompt.resolution = (resolution or prompt.resolution or "")[:200] or None
        prompt.resolved_at = utcnow()


def _link(s: Session, user_id: int, *, lock: bool = False) -> HostLink:
    # Locked while an event is applied, so two relays following one host take turns.
    row = s.get(HostLink, user_id, with_for_update=lock)
    if row is None:
        # Two relays may create it at once: the loser's insert does nothing, and both read
        # the one row.
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        values = {"user_id": user_id, "cursor": 0, "session": "main"}
        s.execute(insert(HostLink).values(**values).on_conflict_do_nothing())
        row = s.get(HostLink, user_id, with_for_update=lock)
        assert row is not None
    return row


def get_link(db: Database, user_id: int) -> LinkRecord:
    """The user's host link, created on first use."""
    with db.transaction() as s:
        r = _link(s, user_id)
        return LinkRecord(
            r.user_id, r.cursor, r.session, r.last_progress_ts, r.unreachable_since, r.host_boot
        )


def apply_event(
    db: Database,
    user_id: int,
    seq: int,
    outcome: EventOutcome,
    drafts: Sequence[OutboundDraft],
    turn_id: str | None = None,
    owner: str | None = None,
) -> bool | None:
    """Apply one host event and move the cursor past it, atomically; False if seen before.

    With `owner`, only while that relay holds the host's lease (fencing): None when
    another relay has taken the host over, and nothing is written.
    """
    with db.transaction() as s:
        link = _link(s, user_id, lock=True)
        if owner is not None and link.owner != owner:
            return None
        if seq <= link.cursor:
            return False
        outbox.place(s, drafts, is_postgres=db.is_postgres)
        if outcome.turn is not None:
            _update_turn(s, outcome.turn)
        if outcome.answer and turn_id is not None:
            turn = s.get(Turn, turn_id)
            if turn is not None:
                turn.answer = (
                    f"{turn.answer}\n\n{outcome.answer}" if turn.answer else outcome.answer
                )
        if outcome.prompt_open is not None:
            p = outcome.prompt_open
            if s.get(Prompt, p.id) is None:
                s.add(Prompt(id=p.id, user_id=user_id, kind=p.kind, turn_id=p.turn_id,
                             session=p.session, options=p.options, state="open"))  # fmt: skip
        if outcome.prompt_closed is not None:
            prompt = s.get(Prompt, outcome.prompt_closed)
            if prompt is not None:
                _close(prompt, outcome.prompt_resolution)
        if outcome.progress_ts is not None:
            link.last_progress_ts = outcome.progress_ts
        link.cursor = seq
        link.unreachable_since = None
        return True


def _update_turn(s: Session, update: TurnUpdate) -> None:
    turn = s.get(Turn, update.turn_id)
    if turn is None:
        return
    if turn.state in FINISHED_TURN and update.state in (TurnState.QUEUED, TurnState.RUNNING):
        return  # a late ack never reopens a finished turn
    turn.state = update.state
    for name in ("error_kind", "cost_usd", "num_turns", "duration_ms"):
        value = getattr(update, name)
        if value is not None:
            setattr(turn, name, value)
    if update.state in FINISHED_TURN:
        turn.finished_at = utcnow()


def record_turn(
    db: Database,
    turn_id: str,
    user_id: int,
    session: str,
    text: str,
    inbound_id: int | None = None,
) -> None:
    """Remember a turn handed to the host (idempotent by turn id) and the message behind it."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    values = {"id": turn_id, "user_id": user_id, "session": session, "text": text,
              "state": TurnState.SUBMITTED, "created_at": utcnow(),
              "inbound_id": inbound_id}  # fmt: skip
    with db.transaction() as s:
        s.execute(insert(Turn).values(**values).on_conflict_do_nothing())


def _turn_record(t: Turn) -> TurnRecord:
    return TurnRecord(t.id, t.user_id, t.session, t.text, t.state, t.error_kind, t.cost_usd,
                      t.created_at, t.duration_ms, t.answer)  # fmt: skip


def last_turn(db: Database, user_id: int, session: str | None = None) -> TurnRecord | None:
    """The user's most recent turn (in `session`, if given)."""
    query = select(Turn).where(Turn.user_id == user_id).order_by(Turn.created_at.desc())
    if session is not None:
        query = query.where(Turn.session == session)
    with db.transaction() as s:
        turn = s.scalars(query.limit(1)).first()
        return _turn_record(turn) if turn else None


def turns_of(db: Database, user_id: int) -> list[TurnRecord]:
    """Every turn of a user, oldest first."""
    query = select(Turn).where(Turn.user_id == user_id).order_by(Turn.created_at)
    with db.transaction() as s:
        return [_turn_record(t) for t in s.scalars(query)]


def open_prompt(db: Database, user_id: int, session: str | None = None) -> PromptRecord | None:
    """The oldest question still waiting for the user's answer (in `session`, if given)."""
    query = (
        select(Prompt)
        .where(Prompt.user_id == user_id, Prompt.state == "open")
        .order_by(Prompt.created_at)
    )
    if session is not None:
        query = query.where(Prompt.session == session)
    with db.transaction() as s:
        p = s.scalars(query.limit(1)).first()
        return _prompt_record(p) if p else None


def get_prompt(db: Database, prompt_id: str) -> PromptRecord | None:
    """The approval or question with this id, open or closed."""
    with db.transaction() as s:
        p = s.get(Prompt, prompt_id)
        return _prompt_record(p) if p else None


def close_prompt(db: Database, prompt_id: str, resolution: str | None = None) -> None:
    """Mark a question answered (`resolution`: the decision or answer, for a late tap)."""
    with db.transaction() as s:
        prompt = s.get(Prompt, prompt_id)
        if prompt is not None:
            _close(prompt, resolution)


def take_lease(
    db: Database, user_id: int, owner: str, seconds: float, *, now: datetime | None = None
) -> bool:
    """Hold (or renew) the right to follow the user's host for `seconds`.

    False while another relay holds an unexpired lease: only one relay follows a host at
    a time, and a relay that stops renewing (it died) is replaced once its lease runs out.
    """
    now = now or utcnow()
    with db.transaction() as s:
        link = _link(s, user_id, lock=True)
        held = link.lease_until is not None and link.lease_until > now
        if link.owner not in (None, owner) and held:
            return False
        link.owner, link.lease_until = owner, now + timedelta(seconds=seconds)
        return True


def release_lease(db: Database, user_id: int, owner: str) -> None:
    """Give up the lease (a relay shutting down), so another relay follows at once."""
    with db.transaction() as s:
        link = _link(s, user_id, lock=True)
        if link.owner == owner:
            link.owner, link.lease_until = None, None


def lease_owner(db: Database, user_id: int, *, now: datetime | None = None) -> str | None:
    """The relay whose lease on the user's host is still running, if any."""
    with db.transaction() as s:
        link = _link(s, user_id)
        running = link.lease_until is not None and link.lease_until > (now or utcnow())
        return link.owner if running else None


def mark_unreachable(db: Database, user_id: int, since: datetime | None) -> bool:
    """Record that the host stopped answering; True the first time (to tell the user once)."""
    with db.transaction() as s:
        link = _link(s, user_id)
        first = link.unreachable_since is None and since is not None
        if since is None or first:
            link.unreachable_since = since
        return first


def swap_boot(db: Database, user_id: int, boot: str) -> str | None:
    """Record the boot id the host reports now; returns the one recorded before."""
    with db.transaction() as s:
        link = _link(s, user_id, lock=True)
        previous, link.host_boot = link.host_boot, boot
        return previous


def turn_session(db: Database, turn_id: str) -> str | None:
    """The session a turn belongs to."""
    with db.transaction() as s:
        turn = s.get(Turn, turn_id)
        return turn.session if turn else None


def last_answered_turn(db: Database, user_id: int) -> TurnRecord | None:
    """The user's most recent turn that has answer text."""
    query = (
        select(Turn)
        .where(Turn.user_id == user_id, Turn.answer.is_not(None))
        .order_by(Turn.created_at.desc())
    )
    with db.transaction() as s:
        turn = s.scalars(query.limit(1)).first()
        return _turn_record(turn) if turn else None


def get_turn(db: Database, turn_id: str) -> TurnRecord | None:
    """One turn by id."""
    with db.transaction() as s:
        turn = s.get(Turn, turn_id)
        return _turn_record(turn) if turn else None


def all_links(db: Database) -> dict[int, LinkRecord]:
    """Every user's host link by user id (the admin's hosts page)."""
    with db.transaction() as s:
        return {
            r.user_id: LinkRecord(r.user_id, r.cursor, r.session, r.last_progress_ts,
                                  r.unreachable_since)
            for r in s.scalars(select(HostLink))
        }  # fmt: skip


def turn_state(db: Database, turn_id: str) -> str | None:
    """The state of a turn (submitted, queued, running, done, …), None when unknown."""
    with db.transaction() as s:
        turn = s.get(Turn, turn_id)
        return turn.state if turn else None
