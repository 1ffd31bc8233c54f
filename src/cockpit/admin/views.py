"""What each admin page shows, gathered from the store and the relay (no HTML here)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from cockpit import report
from cockpit.core.clock import utcnow
from cockpit.errors import CockpitError
from cockpit.relay.hosts import HostManager
from cockpit.relay.runtime import Relay
from cockpit.store import hosts, reports, users

# Text a user typed may hold a key they pasted; the admin never shows one whole.
_SECRETS = re.compile(r"\b(sk-ant-|sk-|ghp_|gho_|ghs_|github_pat_|xox[abp]-|AKIA)[\w-]{6,}")


def excerpt(text: str, limit: int = 80) -> str:
    """One line of `text`, shortened, with anything that looks like a key masked."""
    flat = _SECRETS.sub(lambda m: m.group(1) + "…", " ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def overview(relay: Relay) -> dict[str, Any]:
    """The last 24 hours' criteria and the outbox at a glance."""
    now = utcnow()
    figures = await relay.store(report.build, now - timedelta(days=1), now, timedelta(minutes=10))
    counts = await relay.store(reports.outbound_status_counts)
    return {"figures": report.as_json(figures), "outbox": sorted(counts.items())}


@dataclass(frozen=True)
class HostRow:
    user: users.UserRecord
    state: str
    session: str
    cursor: int
    unreachable_since: str


async def host_rows(relay: Relay, manager: HostManager | None) -> list[HostRow]:
    """Each user's host: the provisioner's state and the relay's link to it."""
    people = await relay.store(users.list_users)
    links = await relay.store(hosts.all_links)
    # Asked all at once: with Fly each state is an API call.
    states = await asyncio.gather(*(_state(manager, person.id) for person in people))
    rows = []
    for person, state in zip(people, states, strict=True):
        link = links.get(person.id)
        since = link.unreachable_since if link else None
        rows.append(
            HostRow(
                person, state, link.session if link else "main", link.cursor if link else 0,
                since.isoformat(timespec="seconds") if since else "",
            )
        )  # fmt: skip
    return rows


async def _state(manager: HostManager | None, user_id: int) -> str:
    if manager is None:
        return "no hosts (echo agent)"
    try:
        return await asyncio.wait_for(manager.provisioner.status(user_id), timeout=5)
    except (CockpitError, TimeoutError) as exc:
        return f"unknown ({exc or 'timed out'})"


async def messages(relay: Relay) -> dict[str, Any]:
    """The latest messages in and out."""
    return {
        "inbound": await relay.store(reports.recent_inbound, 50),
        "outbound": await relay.store(reports.recent_outbound, 50),
    }


def metric_rows(registry: CollectorRegistry) -> list[tuple[str, str, str]]:
    """(metric, labels, value) for each counter and histogram of this relay process."""
    rows = []
    for family in registry.collect():
        if family.type == "counter":
            totals = [x for x in family.samples if x.name.endswith("_total")]
            rows += [(family.name, _labels(x.labels), f"{x.value:g}") for x in totals]
            if not totals:
                rows.append((family.name, "", "0"))
        elif family.type == "histogram":
            count = next((x.value for x in family.samples if x.name.endswith("_count")), 0.0)
            total = next((x.value for x in family.samples if x.name.endswith("_sum")), 0.0)
            mean = f"{1000 * total / count:.1f} ms mean" if count else "—"
            rows.append((family.name, f"{count:g} observed", mean))
    return rows


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
