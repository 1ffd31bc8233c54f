"""Turns stored GitHub deliveries into WhatsApp messages, oldest first.

A failed workflow run is told with its failing jobs when the user has a GitHub
token (the Jobs API names them); a successful deployment is followed by a
screenshot of the deployed URL, taken by the user's host. A delivery's message and
its `done` mark are written in one transaction, so a restart sends nothing twice.
"""

from __future__ import annotations

from cockpit.core.github_events import Job, Notice, describe, jobs_from_api
from cockpit.core.messages import OutboundDraft
from cockpit.errors import CockpitError, GitHubError
from cockpit.log import get_logger
from cockpit.relay.github.api import GitHubAPI
from cockpit.relay.hosts import HostManager
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import wait_for_work
from cockpit.store import github, outbox, secrets, users
from cockpit.store.github import DeliveryRecord

log = get_logger(__name__)
MAX_ATTEMPTS = 5
GAVE_UP = "⚠️ A GitHub event ({event}) from {repo} could not be read; it was logged."
NO_PICTURE = "📸 I couldn't photograph {url}: {reason}."


async def user_token(relay: Relay, user_id: int) -> str | None:
    """The user's GitHub token, decrypted (None when they have none)."""
    assert relay.settings.secret_key is not None
    return await relay.store(
        secrets.get_secret,
        user_id,
        github.GITHUB_TOKEN,
        key=relay.settings.secret_keyring,
    )


class GitHubWorker:
    """Drains `github_deliveries`; `manager` (when hosts run) takes deployment pictures."""

    def __init__(self, relay: Relay, manager: HostManager | None):
        self.relay, self.manager = relay, manager

    async def run(self) -> None:
        """Work until cancelled."""
        while True:
            self.relay.github_ready.clear()
            try:
                busy = await self.drain()
            except CockpitError as exc:
                log.error("github.drain_failed", error=str(exc))
                busy = False
            if not busy:
                await wait_for_work(self.relay.github_ready, self.relay.settings.poll_seconds)

    async def drain(self) -> bool:
        """Handle every pending delivery; True when there was any."""
        relay = self.relay
        due = await relay.store(github.due)
        for delivery in due:
            if relay.stopping.is_set():
                break  # shutting down: the other relays take what is left
            lease = relay.settings.claim_lease_seconds
            key = delivery.delivery_id
            if not await relay.store(github.claim, key, relay.worker_id, lease):
                continue  # another relay has it
            relay.claims.hold("github", key)  # the heartbeat renews it meanwhile
            try:
                await self.handle(delivery)
            except Exception as exc:  # one bad delivery must not stop the ones after it
                await self._failed(delivery, exc)
            finally:
                relay.claims.drop("github", key)
        return bool(due)

    async def _failed(self, delivery: DeliveryRecord, exc: Exception) -> None:
        """Count a failed try; after the last one, tell the user instead of staying silent."""
        give_up = delivery.attempts + 1 >= MAX_ATTEMPTS
        await self.relay.store(github.postpone, delivery.delivery_id, repr(exc), give_up=give_up)
        log.error("github.delivery_failed", delivery=delivery.delivery_id, error=repr(exc),
                  give_up=give_up, exc=True)  # fmt: skip
        user = await self.relay.store(users.find_by_id, delivery.user_id)
        if give_up and user is not None:
            body = GAVE_UP.format(event=delivery.event, repo=delivery.repo)
            draft = self._draft(delivery, user.id, user.phone, body, part="failed")
            await self.relay.store(outbox.enqueue_now, [draft])
            self.relay.outbox_ready.set()

    async def handle(self, delivery: DeliveryRecord) -> None:
        """Write the delivery's message (if it deserves one) and close it."""
        user = await self.relay.store(users.find_by_id, delivery.user_id)
        notice = describe(delivery.event, delivery.payload)
        if notice is not None and notice.needs_jobs:
            jobs = await self._failed_jobs(delivery)
            notice = describe(delivery.event, delivery.payload, jobs) if jobs else notice
        drafts = []
        if notice is not None and user is not None:
            drafts.append(self._draft(delivery, user.id, user.phone, notice.text))
        fix = notice.fix.as_dict() if notice is not None and notice.fix is not None else None
        mine = await self.relay.store(
            github.finish, delivery.delivery_id, drafts, fix, self.relay.worker_id
        )
        log.info("github.handled", delivery=delivery.delivery_id, messages=len(drafts), mine=mine)
        if drafts:
            self.relay.outbox_ready.set()
        if mine and notice is not None and notice.screenshot_url and user is not None:
            await self._picture(delivery, user.id, user.phone, notice)

    async def _failed_jobs(self, delivery: DeliveryRecord) -> list[Job]:
        """The run's jobs from the Jobs API; none without a token or when GitHub fails."""
        token = await user_token(self.relay, delivery.user_id)
        run = delivery.payload.get("workflow_run")
        run_id = run.get("id") if isinstance(run, dict) else None
        if not token or not isinstance(run_id, int):
            return []
        api = GitHubAPI(self.relay.settings.github_api_base_url, token)
        try:
            return jobs_from_api(await api.run_jobs(delivery.repo, run_id))
        except GitHubError as exc:
            log.warning("github.jobs_failed", delivery=delivery.delivery_id, error=str(exc))
            return []
        finally:
            await api.aclose()

    async def _picture(
        self, delivery: DeliveryRecord, user_id: int, phone: str, notice: Notice
    ) -> None:
        """Ask the host for a screenshot of the deployed URL; say so when it cannot."""
        url = str(notice.screenshot_url)
        if self.manager is None:
            return  # the echo agent has no host to take pictures
        try:
            client = await self.manager.client(user_id)
            await client.visuals_screenshot(url, any_url=True)
        except CockpitError as exc:
            log.warning("github.screenshot_failed", delivery=delivery.delivery_id, error=str(exc))
            reason = getattr(exc, "user_message", "") or str(exc)
            body = NO_PICTURE.format(url=url, reason=reason)
            draft = self._draft(delivery, user_id, phone, body, part="picture")
            await self.relay.store(outbox.enqueue_now, [draft])
            self.relay.outbox_ready.set()

    @staticmethod
    def _draft(
        delivery: DeliveryRecord, user_id: int, phone: str, body: str, part: str = "text"
    ) -> OutboundDraft:
        return OutboundDraft(
            key=f"github:{delivery.delivery_id}:{part}", to=phone, body=body, kind="github",
            user_id=user_id,
        )  # fmt: skip
