"""The agent that hands each message to the user's own Claude Code host.

Short replies are understood first: a control word (retry, cancel, stop), a visual
command (/screenshot, /diff, show <file>, /visuals on|off, answered by the host
without Claude), or an answer to an open approval or question. Everything else
becomes a turn.
"""

from __future__ import annotations

from cockpit.core.messages import OutboundDraft
from cockpit.core.replies import approval_decision, control_word, question_answer
from cockpit.core.visual_commands import VisualCommand, visual_command
from cockpit.errors import HostError, HostUnreachableError, MediaError
from cockpit.relay.hostclient import HostClient
from cockpit.relay.hosts import HostManager
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import in_thread
from cockpit.store import hosts
from cockpit.store.hosts import PromptRecord
from cockpit.store.inbox import InboundRecord

MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024
DECIDED = {
    "allow": "👍 Allowed.",
    "allow_session": "👍 Allowed, and I won't ask again for this tool in this session.",
    "deny": "✋ Denied. Claude was told.",
}
AUTO_VISUALS = {
    True: "🖼 Automatic visuals are on: after each change you get the diffs (and a screenshot).",
    False: "🙈 Automatic visuals are off. */diff* and */screenshot* still work; "
    "*/visuals on* turns them back on.",
}


class HostAgent:
    """Forwards messages to hosts through the HostManager."""

    def __init__(self, manager: HostManager):
        self.manager = manager

    async def handle(self, relay: Relay, record: InboundRecord) -> list[OutboundDraft]:
        assert record.user_id is not None
        client = await self.manager.client(record.user_id)
        text = record.message.body
        control = control_word(text)
        if control is not None:
            answer = await self._control(relay, client, record, control.word)
            return [self._reply(record, answer)] if answer else []
        visual = None if record.message.media else visual_command(text)
        if visual is not None:
            said = await self._visual(client, visual)
            if said is not None:
                return [self._reply(record, said)] if said else []
        prompt = await in_thread(hosts.open_prompt, relay.db, record.user_id)
        if prompt is not None and not record.message.media:
            answered = await self._answer(relay, client, prompt, text)
            if answered is not None:
                return [self._reply(record, answered)] if answered else []
        await self._submit(relay, client, record, record.message.sid, text)
        return []

    async def _answer(
        self, relay: Relay, client: HostClient, prompt: PromptRecord, text: str
    ) -> str | None:
        """Answer the open prompt; None when `text` is not an answer to it."""
        try:
            if prompt.kind == "approval":
                decision = approval_decision(text)
                if decision is None:
                    return None
                await client.resolve_approval(prompt.id, decision)
                reply = DECIDED[decision]
            else:
                await client.answer_question(prompt.id, question_answer(text, prompt.options))
                reply = ""
        except HostUnreachableError:
            raise
        except HostError as exc:
            if exc.status not in (404, 409):
                raise
            reply = "That question was already settled (it may have timed out)."
        await in_thread(hosts.close_prompt, relay.db, prompt.id)
        return reply

    @staticmethod
    async def _visual(client: HostClient, command: VisualCommand) -> str | None:
        """Run a visual command on the host; None when `show <x>` names no changed file."""
        if command.kind == "show":
            try:
                found = await client.visuals_diff(command.arg, require_match=True)
            except HostUnreachableError:
                raise
            except HostError:
                return None  # a host without visuals: let Claude read it
            return "" if found.get("matched") else None
        if command.kind == "diff":
            await client.visuals_diff(command.arg)
            return ""
        if command.kind == "screenshot":
            await client.visuals_screenshot(command.arg)
            return "📸 Taking a screenshot…"
        await client.set_auto_visuals(bool(command.enabled))
        return AUTO_VISUALS[bool(command.enabled)]

    async def _control(
        self, relay: Relay, client: HostClient, record: InboundRecord, word: str
    ) -> str:
        assert record.user_id is not None
        last = await in_thread(hosts.last_turn, relay.db, record.user_id)
        link = await in_thread(hosts.get_link, relay.db, record.user_id)
        if word == "cancel":
            dropped = await client.cancel_queued(link.session)
            return f"Dropped {dropped} queued message{'s' * (dropped != 1)}."
        if word == "stop":
            if last is None or last.state not in ("running", "submitted", "queued"):
                return "Nothing is running."
            await client.interrupt(last.id)
            return "⏹ Stopping…"
        if last is None or last.state not in ("failed", "interrupted"):
            return "There is nothing to retry: your last message did not fail."
        await self._submit(relay, client, record, f"{record.message.sid}-retry", last.text)
        return ""

    async def _submit(
        self, relay: Relay, client: HostClient, record: InboundRecord, turn_id: str, text: str
    ) -> None:
        assert record.user_id is not None
        link = await in_thread(hosts.get_link, relay.db, record.user_id)
        media = []
        for i, ref in enumerate(record.message.media):
            try:
                data, kind = await relay.channel.fetch_media(ref.url, MAX_ATTACHMENT_BYTES)
            except MediaError as exc:
                text += f"\n\n(An attachment could not be fetched: {exc}.)"
                continue
            extension = kind.split("/")[-1].split("+")[0][:8] or "bin"
            media.append((f"attachment{i + 1}.{extension}", kind, data))
        await in_thread(hosts.record_turn, relay.db, turn_id, record.user_id, link.session, text)
        await client.post_turn(turn_id, link.session, text, media)

    @staticmethod
    def _reply(record: InboundRecord, body: str) -> OutboundDraft:
        return OutboundDraft(
            key=f"reply:{record.message.sid}", to=record.message.from_number, body=body,
            user_id=record.user_id, inbound_id=record.id, kind="notice",
        )  # fmt: skip
