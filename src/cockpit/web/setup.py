"""What happens after the signup form is submitted, and around it: codes, setup, deletion.

Setup runs as a background job of the relay that received the submit; its progress
is written to the user's row (`setup_step`), so the progress page can be served by
any relay. Failures are told on the page and on WhatsApp, never swallowed.
"""

from __future__ import annotations

import asyncio
import secrets as random
from typing import Any

from cockpit.core import signup
from cockpit.core.messages import OutboundDraft
from cockpit.errors import CockpitError, StoreError
from cockpit.log import get_logger
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import wait_for_work
from cockpit.store import outbox, phone_codes, phone_proofs, secrets, users

log = get_logger(__name__)

STEPS = ("Saving your keys", "Starting your workspace", "Sending your welcome message", "Done")


RULES = signup.CodeRules()
CODE_BODY = "Your cockpit code (sent in the verification template; never stored)."


async def send_code(relay: Relay, phone: str, purpose: str, *, send: bool = True) -> None:
    """Queue a new 6-digit code to `phone` in the authentication template
    (`TWILIO_CONTENT_SID_VERIFY`); TooSoonError when asked too often.

    The code is never stored: the outbox row holds a random key from which the sender
    derives it (`signup.sent_code`, keyed by COCKPIT_SECRET_KEY) as it sends the
    template; `send` False keeps a code nobody gets.
    """
    assert relay.settings.secret_key is not None
    secret = relay.settings.secret_key.get_secret_value()
    key = f"code:{phone}:{random.token_hex(16)}"
    digest = signup.code_digest(secret, phone, signup.sent_code(secret, key))
    message = OutboundDraft(
        key=key, to=phone, body=CODE_BODY, kind="code",
        content_sid=relay.settings.twilio_content_sid_verify,
    )  # fmt: skip
    await relay.store(
        phone_codes.issue, phone, purpose, digest, message if send else None,
        ttl=signup.CODE_TTL_SECONDS, rules=RULES, now=relay.clock.now(),
    )  # fmt: skip
    log.info("web.code_sent", purpose=purpose, phone_tail=phone[-4:], sent=send)
    relay.outbox_ready.set()


async def check_code(relay: Relay, phone: str, purpose: str, typed: str) -> phone_codes.Check:
    """Check a typed code against the phone's latest one."""
    assert relay.settings.secret_key is not None
    digest = signup.code_digest(relay.settings.secret_key.get_secret_value(), phone, typed)
    return await relay.store(
        phone_codes.check, phone, purpose, digest, rules=RULES, now=relay.clock.now()
    )


class SetupTakenOver(Exception):
    """Another relay took this setup over (our claim lapsed): it finishes it, not us."""


async def _step(
    relay: Relay, user_id: int, step: str, status: str = "provisioning", *, done: bool = False
) -> None:
    if not await relay.store(
        users.setup_progress, user_id, relay.worker_id, step=step, status=status,
        done=done,
    ):  # fmt: skip
        raise SetupTakenOver(f"setup of user {user_id} taken over by another relay")


def _notice(user: users.UserRecord, key: str, body: str) -> OutboundDraft:
    return OutboundDraft(key=key, to=user.phone, body=body, kind="notice", user_id=user.id)


async def begin_set_up(relay: Relay, jobs: Any, hosts: Any, user: users.UserRecord) -> None:
    """The signup was submitted: claim its setup for this relay and run it in the background."""
    await relay.store(
        users.start_setup, user.id, relay.worker_id, relay.settings.claim_lease_seconds,
        STEPS[0], now=relay.clock.now(),
    )  # fmt: skip
    jobs.spawn(f"setup-{user.id}", set_up(relay, hosts, user))


async def set_up(relay: Relay, hosts: Any, user: users.UserRecord) -> None:
    """Provision the user's host with their keys, activate them, say welcome on WhatsApp.

    Runs under the setup's claim, renewed by the relay's heartbeat: if this relay dies
    another one runs the setup again from the start (every step may be repeated: the
    host is started or adopted, the welcome has a fixed key), see `SetupResumer`.
    """
    relay.claims.hold("setup", user.id)
    try:
        await _step(relay, user.id, STEPS[1])
        if hosts is not None:
            await hosts.start(user.id)
        await _step(relay, user.id, STEPS[2])
        welcome = _notice(user, f"welcome:{user.id}", signup.WELCOME)
        await relay.store(outbox.enqueue_now, [welcome])
        relay.outbox_ready.set()
        await _step(relay, user.id, STEPS[3], status="active", done=True)
        log.info("web.setup_done", user_id=user.id)
    except asyncio.CancelledError:
        # Stopping: another relay (or this one, restarted) goes on with it at once.
        await relay.store(users.release_setup, user.id, relay.worker_id)
        relay.setup_ready.set()
        raise
    except SetupTakenOver as exc:
        log.warning("web.setup_taken_over", user_id=user.id, error=str(exc))
    except CockpitError as exc:
        log.error("web.setup_failed", user_id=user.id, error=str(exc))
        await _failed(relay, user, exc.user_message)
    finally:
        relay.claims.drop("setup", user.id)


class SetupResumer:
    """Finishes signups whose relay died (or stopped) during their setup.

    A setup's claim lapses `COCKPIT_CLAIM_LEASE_SECONDS` after its relay stopped renewing
    it; then the first relay to look takes it and runs the setup here.
    """

    def __init__(self, relay: Relay, jobs: Any, hosts: Any):
        self.relay, self.jobs, self.hosts = relay, jobs, hosts

    async def run(self) -> None:
        """Look every few seconds (at once when another relay hands one back)."""
        while True:
            await wait_for_work(self.relay.setup_ready, self.relay.settings.renew_every)
            self.relay.setup_ready.clear()
            if self.relay.stopping.is_set():
                continue
            try:
                await self.resume_once()
            except StoreError as exc:
                log.warning("web.setup_resume_failed", error=str(exc))

    async def resume_once(self) -> int:
        """Take every stalled setup there is; how many."""
        relay, taken = self.relay, 0
        while user := await relay.store(
            users.take_stalled_setup,
            relay.worker_id,
            relay.settings.claim_lease_seconds,
            now=relay.clock.now(),
        ):
            log.warning("web.setup_resumed", user_id=user.id, step=user.setup_step)
            self.jobs.spawn(f"setup-{user.id}", set_up(relay, self.hosts, user))
            taken += 1
        return taken


async def _failed(relay: Relay, user: users.UserRecord, said: str) -> None:
    await relay.store(users.update_user, user.id, status="failed", setup_step=said)
    notice = _notice(user, f"setup-failed:{user.id}:{random.token_hex(4)}",
                     f"⚠️ Setting up your cockpit failed: {said}")  # fmt: skip
    await relay.store(outbox.enqueue_now, [notice])
    relay.outbox_ready.set()


async def delete_account(relay: Relay, hosts: Any, user: users.UserRecord) -> None:
    """Destroy the user's host, erase their secrets and codes, remove them, say goodbye."""
    if hosts is not None:
        await hosts.remove(user.id)
    await relay.store(secrets.erase_secrets, user.id)
    await relay.store(phone_codes.forget, user.phone)
    await relay.store(phone_proofs.forget, user.phone)
    await relay.store(users.delete_user, user.id)
    goodbye = OutboundDraft(key=f"goodbye:{user.phone}:{random.token_hex(4)}", to=user.phone,
                            body=signup.GOODBYE, kind="notice")  # fmt: skip
    await relay.store(outbox.enqueue_now, [goodbye])
    relay.outbox_ready.set()
    log.info("web.account_deleted", user_id=user.id)
