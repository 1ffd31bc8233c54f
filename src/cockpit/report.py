"""`cockpit report`: the beta's graduation criteria, computed from recorded data only.

Every figure comes from rows the relay wrote while it ran (heartbeats, messages in
and out, turns); nothing is sampled or estimated. docs/operations.md says how each
one is defined.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Group
from rich.table import Table

from cockpit.core.uptime import Uptime, uptime
from cockpit.store import heartbeats, reports, users
from cockpit.store.db import Database
from cockpit.store.outbox import OutboundRecord
from cockpit.store.reports import InboundSummary, Misroute

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`90s`, `10m`, `24h`, `7d` as a timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 24h or 7d")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def parse_moment(text: str, now: datetime) -> datetime:
    """A moment: `now`, a duration back from now (`7d`), or an ISO 8601 time (UTC if naive)."""
    if text.strip().lower() == "now":
        return now
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        hint = "neither a time (2026-11-20T09:00) nor a duration (7d)"
        raise ValueError(f"{text!r} is {hint}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class UserCost:
    phone: str
    name: str
    tasks: int
    cost_usd: float


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    uptime: Uptime | None
    messages_in: int
    without_reply: list[InboundSummary]
    in_flight: int
    messages_out: int
    failed: list[OutboundRecord]
    misrouted: list[Misroute]
    users: int
    active_users: int
    sessions: int
    sessions_completed: int
    tasks: int
    tasks_done: int
    costs: list[UserCost]

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.costs)

    @property
    def cost_per_active_user(self) -> float | None:
        return self.cost_usd / self.active_users if self.active_users else None

    @property
    def completed_share(self) -> float | None:
        return self.sessions_completed / self.sessions if self.sessions else None


def build(db: Database, since: datetime, until: datetime, grace: timedelta) -> Report:
    """Compute every figure over [since, until) from the database."""
    unanswered = reports.unanswered(db, since, until)
    settled = until - grace  # younger messages may still be being answered
    turns = reports.turns_between(db, since, until)
    latest: dict[tuple[int, str], str] = {}
    for turn in turns:  # oldest first: the last write per session wins
        latest[(turn.user_id, turn.session)] = turn.state
    return Report(
        since=since, until=until, uptime=_uptime(db, since, until),
        messages_in=reports.inbound_between(db, since, until),
        without_reply=[m for m in unanswered if m.received_at < settled],
        in_flight=sum(1 for m in unanswered if m.received_at >= settled),
        messages_out=reports.outbound_between(db, since, until),
        failed=reports.failed_between(db, since, until),
        misrouted=reports.misrouted(db, since, until),
        users=len(users.list_users(db)), active_users=len(reports.active_users(db, since, until)),
        sessions=len(latest), sessions_completed=sum(s == "done" for s in latest.values()),
        tasks=len(turns), tasks_done=sum(t.state == "done" for t in turns),
        costs=_costs(db, turns),
    )  # fmt: skip


def _uptime(db: Database, since: datetime, until: datetime) -> Uptime | None:
    """Uptime from the first recorded heartbeat on (before it nothing was measured)."""
    first = heartbeats.first_at(db)
    if first is None or first >= until:
        return None
    start = max(since, first)
    beats = heartbeats.between(db, start, until)
    return uptime([(b.at, b.interval) for b in beats], start, until)


def _costs(db: Database, turns: list[reports.TurnFact]) -> list[UserCost]:
    spent: dict[int, float] = defaultdict(float)
    count: dict[int, int] = defaultdict(int)
    for turn in turns:
        spent[turn.user_id] += turn.cost_usd or 0.0
        count[turn.user_id] += 1
    people = {u.id: u for u in users.list_users(db)}
    return [
        UserCost(people[uid].phone, people[uid].name, count[uid], spent[uid])
        for uid in sorted(count)
        if uid in people
    ]


def _iso(moment: datetime, timespec: str = "milliseconds") -> str:
    return moment.astimezone(UTC).isoformat(timespec=timespec)


def _share(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def as_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON values."""
    up = report.uptime
    return {
        "since": _iso(report.since), "until": _iso(report.until),
        "uptime_percent": _share(up.ratio) if up else None,
        "uptime_measured_from": _iso(up.start) if up else None,
        "downtime_seconds": round(up.down_seconds, 1) if up else None,
        "outages": [[_iso(a), _iso(b)] for a, b in up.outages] if up else [],
        "messages_in": report.messages_in,
        "messages_without_reply": len(report.without_reply),
        "without_reply": [{"id": m.id, "from": m.from_number, "received_at": _iso(m.received_at),
                           "state": m.state} for m in report.without_reply],
        "messages_in_flight": report.in_flight,
        "messages_out": report.messages_out,
        "failed_deliveries": len(report.failed),
        "failed": [{"id": r.id, "to": r.to, "status": r.status, "error_code": r.error_code,
                    "error": r.last_error} for r in report.failed],
        "misrouted_replies": len(report.misrouted),
        "misrouted": [{"id": m.outbound_id, "to": m.to, "expected": m.expected,
                       "by": m.reason} for m in report.misrouted],
        "users": report.users, "active_users": report.active_users,
        "sessions": report.sessions, "sessions_completed": report.sessions_completed,
        "sessions_completed_percent": _share(report.completed_share),
        "tasks": report.tasks, "tasks_done": report.tasks_done,
        "cost_usd": round(report.cost_usd, 6),
        "cost_per_active_user_usd": _money(report.cost_per_active_user),
        "cost_by_user": [{"phone": c.phone, "name": c.name, "tasks": c.tasks,
                          "cost_usd": round(c.cost_usd, 6)} for c in report.costs],
    }  # fmt: skip


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _usd(value: float | None) -> str:
    return "—" if value is None else f"${value:.4f}"


def render(report: Report) -> Group:
    """Rich tables: the criteria first, then the rows behind any bad figure."""
    up = report.uptime
    span = f"{_iso(report.since, 'seconds')} → {_iso(report.until, 'seconds')}"
    table = Table(title=f"Beta report {span}")
    table.add_column("criterion")
    table.add_column("value", justify="right")
    table.add_column("from")
    down = f"{up.down_seconds:.0f} s down in {len(up.outages)} outage(s)" if up else ""
    rows = [
        ("relay uptime", _pct(up.ratio) if up else "no health checks", down),
        ("messages without a reply", str(len(report.without_reply)),
         f"of {report.messages_in} in; {report.in_flight} still in flight"),
        ("failed deliveries", str(len(report.failed)), f"of {report.messages_out} out"),
        ("misrouted replies", str(len(report.misrouted)), "recipient ≠ the person answered"),
        ("active users", str(report.active_users), f"of {report.users} registered"),
        ("sessions completed from WhatsApp", _pct(report.completed_share),
         f"{report.sessions_completed} of {report.sessions} sessions"),
        ("cost per active user", _usd(report.cost_per_active_user),
         f"{_usd(report.cost_usd)} over {report.tasks} tasks"),
    ]  # fmt: skip
    for row in rows:
        table.add_row(*row)
    return Group(table, *_details(report))


def _details(report: Report) -> list[Table]:
    tables = []
    if report.without_reply:
        t = _table("Messages without a reply", "id", "from", "received", "state")
        for m in report.without_reply:
            t.add_row(str(m.id), m.from_number, _iso(m.received_at, "seconds"), m.state)
        tables.append(t)
    if report.failed:
        t = _table("Failed deliveries", "id", "to", "status", "error")
        for r in report.failed:
            t.add_row(str(r.id), r.to, r.status, failure_text(r))
        tables.append(t)
    if report.misrouted:
        t = _table("Misrouted replies", "id", "sent to", "should be", "by")
        for mr in report.misrouted:
            t.add_row(str(mr.outbound_id), mr.to, mr.expected, mr.reason)
        tables.append(t)
    if report.costs:
        t = _table("Cost by user", "user", "tasks", "cost")
        for c in report.costs:
            t.add_row(f"{c.name} {c.phone}", str(c.tasks), _usd(c.cost_usd))
        tables.append(t)
    return tables


def failure_text(row: OutboundRecord) -> str:
    """Why a row failed: the error, with Twilio's code unless the error already names it."""
    code = str(row.error_code) if row.error_code is not None else ""
    error = row.last_error or ""
    return error if code in error else f"{code} {error}".strip()


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    return table
