"""The agent that hands each message to the user's own Claude Code host.

It gathers the facts a message's meaning depends on (the open approval or question, the
prompt a tapped button names, the quoted session), lets `core/intents.py` decide what the
message means, then acts on that: a relay command, an answer, a visual, or a turn for
Claude. A quoted reply goes to the session that wrote the quoted message.
"""

from __future__ import annotations

from cockpit.core import intents, interactive
from cockpit.core.host_events import DECIDED_WORDS
from cockpit.core.intents import (
    AlreadyAnswered,
    AnswerQuestion,
    Decide,
    Intent,
    RunCommand,
    ShowFile,
    SuggestCommand,
    Turn,
    UnknownTap,
)
from cockpit.core.messages import OutboundDraft
from cockpit.errors import HostError, HostUnreachableError, MediaError
from cockpit.relay import commands as handlers
from cockpit.relay.hostclient import HostClient
from cockpit.relay.hosts import HostManager
from cockpit.relay.runtime import Relay
from cockpit.store import github, hosts, outbox, sessions
from cockpit.store.hosts import PromptRecord
from cockpit.store.inbox import InboundRecord

MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024
DECIDED = {
    "allow": "👍 Allowed.",
    "allow_session": "👍 Allowed, and I won't ask again for this tool in this session.",
    "deny": "✋ Denied. Claude was told.",
}
ALREADY_SETTLED = "That question was already settled (it may have timed out)."
UNKNOWN_TAP = "That button belongs to a request I no longer have; nothing was done."
STALE_APPROVAL = (
    "🔐 Your message went to Claude. An approval still waits: tap *Allow*, *Allow for "
    "session* or *Deny* under it (or quote it and reply *1*, *2* or *3*)."
)


class HostAgent:
    """Forwards messages to hosts through the HostManager."""

    def __init__(self, manager: HostManager):
        self.manager = manager

    async def handle(self, relay: Relay, record: InboundRecord) -> list[OutboundDraft]:
        assert record.user_id is not None
        client = await self.manager.client(record.user_id)
        session, quoted = await self._session(relay, record)
        intent = await self._classify(relay, record, session, quoted)
        return await self._act(relay, client, record, session, intent)

    async def _session(self, relay: Relay, record: InboundRecord) -> tuple[str, bool]:
        """The session a message is for: the quoted message's, else the current one."""
        assert record.user_id is not None
        if record.message.replied_sid:
            quoted = await relay.store(outbox.session_of_message, record.message.replied_sid)
            if quoted:
                return quoted, True
        link = await relay.store(hosts.get_link, record.user_id)
        return link.session, False

    @staticmethod
    async def _classify(relay: Relay, record: InboundRecord, session: str, quoted: bool) -> Intent:
        """What the message means: the facts from the database first, then the rules."""
        user_id, message = record.user_id, record.message
        assert user_id is not None
        tap = interactive.parse_payload(message.button_payload)
        tapped = await relay.store(hosts.get_prompt, tap.prompt_id) if tap else None
        waiting = await relay.store(hosts.open_prompt, user_id)
        in_quoted = await relay.store(hosts.open_prompt, user_id, session) if quoted else None
        superseded = False  # a typed answer counts only while the approval is the last word
        if not quoted and waiting and waiting.kind == "approval" and waiting.created_at:
            later = await relay.store(outbox.sent_after, message.from_number, waiting.created_at)
            superseded = bool(later)
        linked = await relay.store(github.user_repos, user_id)
        return intents.classify(
            message.body, has_media=bool(message.media), payload=message.button_payload,
            tapped=_prompt(tapped) if tapped and tapped.user_id == user_id else None,
            quoted=quoted, open_prompt=_prompt(waiting), quoted_prompt=_prompt(in_quoted),
            superseded=superseded, linked_repo=bool(linked),
        )  # fmt: skip

    async def _act(
        self, relay: Relay, client: HostClient, record: InboundRecord, session: str,
        intent: Intent,
    ) -> list[OutboundDraft]:  # fmt: skip
        """Do what the message means; the replies to send right away."""
        match intent:
            case Turn(text, approval_waits):
                await self._submit(relay, client, record, record.message.sid, session, text)
                return [self._reply(record, STALE_APPROVAL)] if approval_waits else []
            case RunCommand(name, args):
                ctx = self._context(relay, client, record, session)
                return _replies(record, await handlers.run(ctx, name, args))
            case SuggestCommand(typed, name):
                said = f"Did you mean /{name}? (Send //{typed} to pass it to Claude as it is.)"
                return _replies(record, said)
            case Decide() | AnswerQuestion():
                return _replies(record, await self._answer(relay, client, record, intent))
            case UnknownTap():
                return _replies(record, UNKNOWN_TAP)
            case AlreadyAnswered(prompt_id):
                return _replies(record, await _already(relay, prompt_id))
            case ShowFile(name, otherwise):
                if await _show(client, name, session):
                    return []
                return await self._act(relay, client, record, session, otherwise)

    async def _answer(
        self, relay: Relay, client: HostClient, record: InboundRecord,
        intent: Decide | AnswerQuestion,
    ) -> str:  # fmt: skip
        """Settle the prompt; a tap says in one short line when it came too late."""
        settled = await _settle(relay, client, intent)
        if not intent.tapped:
            return settled
        if settled == ALREADY_SETTLED:
            return await _already(relay, intent.prompt_id)
        # Tapped: the thread shows the choice; "typing…" says Claude goes on.
        return "" if await relay.typing.show(record.message.sid) else settled

    def _context(
        self, relay: Relay, client: HostClient, record: InboundRecord, session: str
    ) -> handlers.CommandContext:
        assert record.user_id is not None

        async def submit(turn_id: str, in_session: str, text: str) -> None:
            await self._submit(relay, client, record, turn_id, in_session, text)

        return handlers.CommandContext(
            relay, client, record.user_id, record.message.from_number, session,
            record.message.sid, submit,
        )  # fmt: skip

    async def _submit(
        self,
        relay: Relay,
        client: HostClient,
        record: InboundRecord,
        turn_id: str,
        session: str,
        text: str,
    ) -> None:
        assert record.user_id is not None
        media = []
        for i, ref in enumerate(record.message.media):
            try:
                data, kind = await relay.channel.fetch_media(ref.url, MAX_ATTACHMENT_BYTES)
            except MediaError as exc:
                text += f"\n\n(An attachment could not be fetched: {exc}.)"
                continue
            extension = kind.split("/")[-1].split("+")[0][:8] or "bin"
            media.append((f"attachment{i + 1}.{extension}", kind, data))
        await relay.store(sessions.ensure, record.user_id, session)
        await relay.store(hosts.record_turn, turn_id, record.user_id, session, text, record.id)
        await client.post_turn(turn_id, session, text, media)

    @staticmethod
    def _reply(record: InboundRecord, body: str) -> OutboundDraft:
        return OutboundDraft(
            key=f"reply:{record.message.sid}", to=record.message.from_number, body=body,
            user_id=record.user_id, inbound_id=record.id, kind="notice",
        )  # fmt: skip


def _replies(record: InboundRecord, body: str) -> list[OutboundDraft]:
    """The reply to send, none when it is empty (its results arrive by themselves)."""
    return [HostAgent._reply(record, body)] if body else []


def _prompt(record: PromptRecord | None) -> intents.Prompt | None:
    """What the classifier needs to know of a stored prompt."""
    if record is None:
        return None
    return intents.Prompt(record.id, record.kind, tuple(record.options), record.state == "open")


async def _settle(relay: Relay, client: HostClient, intent: Decide | AnswerQuestion) -> str:
    """Tell the host the decision or answer, and close the prompt with it."""
    try:
        if isinstance(intent, Decide):
            await client.resolve_approval(intent.prompt_id, intent.decision)
            reply, resolution = DECIDED[intent.decision], DECIDED_WORDS[intent.decision]
        else:
            await client.answer_question(intent.prompt_id, intent.answer)
            reply, resolution = "", f"“{intent.answer[:150]}”"
    except HostUnreachableError:
        raise
    except HostError as exc:
        if exc.status not in (404, 409):
            raise
        reply, resolution = ALREADY_SETTLED, None
    await relay.store(hosts.close_prompt, intent.prompt_id, resolution)
    return reply


async def _show(client: HostClient, name: str, session: str) -> bool:
    """Whether the host sent the diff of the changed file `show <name>` names."""
    try:
        found = await client.visuals_diff(name, require_match=True, session=session)
    except HostUnreachableError:
        raise
    except HostError:
        return False  # a host without visuals: let Claude read it
    return bool(found.get("matched"))


async def _already(relay: Relay, prompt_id: str) -> str:
    """ "That was already answered: allowed at 14:02 UTC." """
    prompt = await relay.store(hosts.get_prompt, prompt_id)
    if prompt is None:  # its row is gone: say what a typed late answer is told
        return ALREADY_SETTLED
    how = prompt.resolution or "settled"
    when = f" at {prompt.resolved_at:%H:%M} UTC" if prompt.resolved_at else ""
    return f"That was already answered: {how}{when}."
