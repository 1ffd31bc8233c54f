"""Follows one host's event stream and turns each event into messages for the phone.

For every event the outbound rows and the cursor move in one transaction, so a
relay that restarts re-reads from its cursor and creates nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from cockpit.core import board
from cockpit.core.host_events import (
    NOT_FETCHED,
    NOT_STORED,
    EventContext,
    EventOutcome,
    Reply,
    translate,
)
from cockpit.core.messages import OutboundDraft
from cockpit.errors import CockpitError, MediaError, StoreError
from cockpit.log import get_logger
from cockpit.relay.hostclient import HostClient
from cockpit.relay.runtime import Relay
from cockpit.relay.storing import keep_media
from cockpit.store import github, hosts, inbox, outbox, sessions
from cockpit.store.users import UserRecord

log = get_logger(__name__)
ClientFor = Callable[[int], Awaitable[HostClient]]

DOWN = "⚠️ Your workspace is not answering. I'm bringing it back; your messages are kept."
BACK = "✅ Your workspace is back{commit}. Reply *retry* to run your last message again."
RESTARTED = (
    "🔄 Your workspace restarted{commit}. Nothing is lost: messages you sent meanwhile go on now."
)


PROGRESS_HOLD_SECONDS = 2.0


class LeaseLost(Exception):
    """This relay no longer holds the host's lease: it stops reading the stream."""


class HostFollower:
    """Reads one user's host events from the stored cursor, forever."""

    def __init__(self, relay: Relay, user: UserRecord, client_for: ClientFor):
        self.relay, self.user, self.client_for = relay, user, client_for
        self._progress_ts: float | None = None
        self._down_since: Any = None

    async def run(self) -> None:
        """Follow while this relay holds the host's lease, reconnecting with backoff whenever
        the stream breaks; other relays wait until the lease lapses (docs/scaling.md)."""
        delay = 0.2
        try:
            while True:
                if self.relay.stopping.is_set() or not await self._lead():
                    # Another relay follows this host: look again soon after its lease
                    # would lapse.
                    await asyncio.sleep(self.relay.settings.renew_every)
                    continue
                try:
                    await self._follow()
                except CockpitError as exc:
                    await self._unreachable(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        finally:
            self.relay.claims.drop("host", self.user.id)
            with contextlib.suppress(Exception):  # stopping: let another relay follow at once
                await self.relay.store(hosts.release_lease, self.user.id, self.relay.worker_id)

    async def _lead(self) -> bool:
        """Take or renew the lease on this host; False while another relay holds it."""
        try:
            leading = await self.relay.store(
                hosts.take_lease, self.user.id, self.relay.worker_id,
                self.relay.settings.host_lease_seconds,
            )  # fmt: skip
        except StoreError as exc:
            log.warning("follower.lease_unknown", user_id=self.user.id, error=str(exc))
            return False
        if leading:  # from now on the heartbeat renews it, however long the host takes
            self.relay.claims.hold("host", self.user.id)
        else:
            self.relay.claims.drop("host", self.user.id)
        return leading

    async def _keep_lease(self) -> None:
        """While the stream is read the relay's heartbeat renews the lease (relay/heartbeat.py,
        one statement for all hosts); return when it finds the lease taken over."""
        await self.relay.claims.hold("host", self.user.id).wait()
        log.warning("follower.lease_lost", user_id=self.user.id)

    async def _read(self, client: HostClient, cursor: int) -> None:
        async for seq, event in client.events(cursor):
            await self.apply(client, seq, event)

    async def _read_while_leading(self, client: HostClient, cursor: int) -> None:
        """Apply the host's events until the stream ends or the lease is lost."""
        reader = asyncio.ensure_future(self._read(client, cursor))
        keeper = asyncio.ensure_future(self._keep_lease())
        try:
            await asyncio.wait({reader, keeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, keeper):
                task.cancel()
            await asyncio.gather(reader, keeper, return_exceptions=True)
            self.relay.claims.drop("host", self.user.id)
        if reader.done() and not reader.cancelled() and reader.exception() is not None:
            if isinstance(reader.exception(), LeaseLost):
                log.warning("follower.fenced", user_id=self.user.id)
                return
            raise reader.exception()  # type: ignore[misc]

    async def _follow(self) -> None:
        client = await self.client_for(self.user.id)
        link = await self.relay.store(hosts.get_link, self.user.id)
        self._progress_ts = link.last_progress_ts
        self._down_since = link.unreachable_since
        health = await client.health()
        restarted = await self._restarted(health, link.session)
        if self._down_since is not None or restarted:
            await self._back(health, restarted, link.session)
        await self._read_while_leading(client, link.cursor)

    async def apply(self, client: HostClient, seq: int, event: dict[str, Any]) -> None:
        """Turn one event into outbound rows and move the cursor, atomically."""
        media_id = problem = None
        if event.get("type") == "image":
            media_id, problem = await self._fetch_image(client, str(event.get("image_id")))
        session = event.get("session")
        several = await self.relay.store(sessions.count, self.user.id) > 1
        ctx = EventContext(
            self._progress_ts,
            self.relay.settings.progress_interval_seconds,
            media_id,
            tag=f"[{session}] " if several and session else "",
            media_problem=problem,
            offer_pr=await self._offers_pr(event),
            buttons=self.relay.settings.buttons,
        )
        outcome = translate(event, ctx)
        await self._typing(event, outcome)
        if several and event.get("type") in ("result", "error") and outcome.replies:
            await self._add_board(outcome)
        turn_id = str(event["turn_id"]) if event.get("turn_id") else None
        drafts = [self._draft(f"host:{self.user.id}:{seq}:{i}", r, session, turn_id)
                  for i, r in enumerate(outcome.replies)]  # fmt: skip
        applied = await self.relay.store(
            hosts.apply_event, self.user.id, seq, outcome, drafts, turn_id,
            owner=self.relay.worker_id,
        )  # fmt: skip
        if applied is None:  # fenced: another relay took the host over while we were away
            raise LeaseLost(f"lease on user {self.user.id}'s host taken over")
        if outcome.progress_ts is not None:
            self._progress_ts = outcome.progress_ts
        log.debug("follower.event", user_id=self.user.id, seq=seq, type=event.get("type"))
        if drafts:
            self.relay.outbox_ready.set()

    def _draft(self, key: str, r: Reply, session: Any, turn_id: str | None) -> OutboundDraft:
        hold = self.relay.settings.merge_seconds if r.hold and turn_id else 0.0
        if r.kind == "progress":  # only long enough for the approval of the same call
            hold = min(hold, PROGRESS_HOLD_SECONDS)
        return OutboundDraft(
            key=key, to=self.user.phone, body=r.body, media_id=r.media_id, kind=r.kind,
            user_id=self.user.id, session=session, turn_id=turn_id,
            interactive=r.interactive.kind if r.interactive else None,
            content_variables=r.interactive.variables_json() if r.interactive else None,
            hold_seconds=hold, merge=r.merge and turn_id is not None, supersedes=r.supersedes,
        )  # fmt: skip

    async def _typing(self, event: dict[str, Any], outcome: EventOutcome) -> None:
        """A turn that starts shows "typing…" instead of "👀 on it" when the indicator
        is accepted; its end stops the renewals."""
        turn_id = str(event.get("turn_id") or "")
        kind = event.get("type")
        if kind in ("result", "error"):
            self.relay.typing.stop(turn_id)
        if kind != "ack" or event.get("queued") or not turn_id:
            return
        if await self.relay.typing.start(self.user.phone, turn_id):
            outcome.replies = [r for r in outcome.replies if r.kind != "ack"]

    async def _offers_pr(self, event: dict[str, Any]) -> bool:
        """Whether a finished turn's changes may go to GitHub (`pr`): a repository is linked."""
        if event.get("type") != "result" or not event.get("changes"):
            return False
        return bool(await self.relay.store(github.user_repos, self.user.id))

    async def _add_board(self, outcome: EventOutcome) -> None:
        """After a session's task ends, show every session's state (the turn's own included)."""
        rows = board.worded(await self.relay.store(sessions.latest_states, self.user.id))
        if outcome.turn is not None:
            finished = await self.relay.store(hosts.turn_session, outcome.turn.turn_id)
            ended = {"done": "✅ done", "failed": "⚠️ failed", "interrupted": "⏹ stopped"}
            rows = [
                (name, ended.get(outcome.turn.state, state) if name == finished else state)
                for name, state in rows
            ]
        outcome.replies.append(Reply(board.board_text(rows), kind="board"))

    async def _fetch_image(
        self, client: HostClient, image_id: str
    ) -> tuple[str | None, str | None]:
        """The image kept for sending, or None and why (said to the user instead)."""
        try:
            data, kind = await client.fetch_file(image_id)
        except CockpitError as exc:
            log.error("follower.image_failed", user_id=self.user.id, image_id=image_id,
                      error=str(exc))  # fmt: skip
            return None, NOT_FETCHED
        try:
            return await keep_media(self.relay, data, kind, f"{image_id}"), None
        except MediaError as exc:  # e.g. the media folder is full or read-only
            log.error("follower.image_not_stored", user_id=self.user.id, image_id=image_id,
                      error=str(exc))  # fmt: skip
            return None, NOT_STORED

    async def _unreachable(self, exc: CockpitError) -> None:
        now = self.relay.clock.now()
        if await self.relay.store(hosts.mark_unreachable, self.user.id, now):
            self._down_since = now
            log.warning("follower.host_unreachable", user_id=self.user.id, error=str(exc))
        since = self._down_since or now
        grace = timedelta(seconds=self.relay.settings.host_grace_seconds)
        if now - since >= grace:
            key = f"host-down:{self.user.id}:{since.isoformat()}"
            draft = OutboundDraft(key=key, to=self.user.phone, body=DOWN, kind="notice",
                                  user_id=self.user.id)  # fmt: skip
            await self.relay.store(outbox.enqueue_now, [draft])
            self.relay.outbox_ready.set()

    async def _restarted(self, health: dict[str, Any], session: str) -> bool:
        """Whether the host restarted since we last saw it (its boot id changed); if so,
        tell the user once, with the last commit, unless a cut turn tells it already."""
        boot = health.get("boot")
        if not isinstance(boot, str):
            return False
        previous = await self.relay.store(hosts.swap_boot, self.user.id, boot)
        if previous is None or previous == boot:
            return False
        cut = health.get("restart_cut") or 0
        log.warning("follower.host_restarted", user_id=self.user.id, boot=boot, turns_cut=cut)
        if not cut:  # a cut turn's own failure says "restarted", with the commit
            draft = OutboundDraft(
                key=f"host-restart:{self.user.id}:{boot}", to=self.user.phone,
                body=RESTARTED.format(commit=_commit_words(health, session)), kind="notice",
                user_id=self.user.id,
            )  # fmt: skip
            await self.relay.store(outbox.enqueue_now, [draft])
            self.relay.outbox_ready.set()
        return True

    async def _back(self, health: dict[str, Any], restarted: bool, session: str) -> None:
        """The host answers again: messages that waited for it go now; the user, told
        it was down, hears it is back (unless the restart notice said so)."""
        since = self._down_since
        await self.relay.store(hosts.mark_unreachable, self.user.id, None)
        self._down_since = None
        if await self.relay.store(inbox.retry_now, self.user.id):
            self.relay.inbox_ready.set()
        if since is None or restarted:
            return
        told = await self.relay.store(
            outbox.exists, f"host-down:{self.user.id}:{since.isoformat()}"
        )
        if not told:
            return
        draft = OutboundDraft(
            key=f"host-up:{self.user.id}:{since.isoformat()}",
            to=self.user.phone,
            body=BACK.format(commit=_commit_words(health, session)),
            kind="notice",
            user_id=self.user.id,
        )
        await self.relay.store(outbox.enqueue_now, [draft])
        self.relay.outbox_ready.set()


def _commit_words(health: dict[str, Any], session: str) -> str:
    """` (last commit abc1234 “subject”)` of the session's folder, else the workspace's."""
    sessions = health.get("sessions")
    info = sessions.get(session) if isinstance(sessions, dict) else None
    commit = info.get("last_commit") if isinstance(info, dict) else None
    commit = commit or health.get("last_commit")
    if not isinstance(commit, dict) or not commit.get("sha"):
        return ""
    return f" (last commit {str(commit['sha'])[:7]} “{commit.get('subject', '')}”)"
