"""The agent that hands each message to the user's own Claude Code host.

A message is, in this order: a relay command (`core/commands.py`, answered here
without spending tokens; but a bare word like "stop" that is an option of the open
question answers it), a visual command (`show <file>` and friends, answered by
the host), an answer to an open approval or question, or a turn for Claude. A
quoted reply goes to the session that wrote the quoted message.
"""

from __future__ import annotations

from cockpit.core import commands, interactive
from cockpit.core.host_events import DECIDED_WORDS
from cockpit.core.messages import OutboundDraft
from cockpit.core.replies import approval_decision, fold, question_answer
from cockpit.core.visual_commands import VisualCommand, visual_command
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
AUTO_VISUALS = {
    True: "🖼 Automatic visuals are on: after each change you get the diffs (and a screenshot).",
    False: "🙈 Automatic visuals are off. */diff* and */screenshot* still work; "
    "*/visuals on* turns them back on.",
}
VISUAL_SLASH = {"diff", "screenshot", "visuals"}
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
        reply = await self._understood(relay, client, record, session, quoted)
        if reply is not None:
            return [self._reply(record, reply)] if reply else []
        text = commands.literal(record.message.body)
        await self._submit(relay, client, record, record.message.sid, session, text)
        if approval_decision(text) is not None and await self._approval_waits(relay, record):
            return [self._reply(record, STALE_APPROVAL)]  # "yes" went to Claude: say so
        return []

    @staticmethod
    async def _approval_waits(relay: Relay, record: InboundRecord) -> bool:
        assert record.user_id is not None
        prompt = await relay.store(hosts.open_prompt, record.user_id)
        return prompt is not None and prompt.kind == "approval"

    async def _session(self, relay: Relay, record: InboundRecord) -> tuple[str, bool]:
        """The session a message is for: the quoted message's, else the current one."""
        assert record.user_id is not None
        if record.message.replied_sid:
            quoted = await relay.store(outbox.session_of_message, record.message.replied_sid)
            if quoted:
                return quoted, True
        link = await relay.store(hosts.get_link, record.user_id)
        return link.session, False

    async def _understood(
        self, relay: Relay, client: HostClient, record: InboundRecord, session: str, quoted: bool
    ) -> str | None:
        """The reply to a command or answer; None when the message is for Claude."""
        if record.message.media:
            return None
        tap = interactive.parse_payload(record.message.button_payload)
        if tap is not None:
            return await self._tap(relay, client, record, tap)
        text = record.message.body
        parsed = commands.parse(text)
        if isinstance(parsed, commands.Invocation) and not text.strip().startswith("/"):
            answered = await self._bare_answer(relay, client, record, text)
            if answered is not None:  # "stop" answering "Agent may be stuck …"
                return answered
        if isinstance(parsed, commands.Suggestion):
            return (f"Did you mean /{parsed.command.name}? (Send //{parsed.typed} to pass "
                    "it to Claude as it is.)")  # fmt: skip
        if isinstance(parsed, commands.Invocation):
            name = parsed.command.name
            if name in VISUAL_SLASH:
                return await self._visual(client, _as_visual(name, parsed.args), session)
            ctx = self._context(relay, client, record, session)
            return await handlers.run(ctx, parsed)
        visual = visual_command(text)
        if visual is not None and visual.kind == "show":
            said = await self._visual(client, visual, session)
            if said is not None:
                return said
        assert record.user_id is not None
        prompt = await relay.store(hosts.open_prompt, record.user_id, session if quoted else None)
        if prompt is not None and (quoted or await self._typed_counts(relay, record, prompt)):
            return await self._answer(relay, client, prompt, text)
        if fold(text) == "approve":
            return await self._approve_is_pr(relay, client, record, session)
        return None

    async def _approve_is_pr(
        self, relay: Relay, client: HostClient, record: InboundRecord, session: str
    ) -> str | None:
        """The seed's "Reply approve to create PR": with no question open and a GitHub
        repository linked, `approve` is `/pr`; otherwise it goes to Claude."""
        assert record.user_id is not None
        linked = await relay.store(github.user_repos, record.user_id)
        if not linked:
            return None
        ctx = self._context(relay, client, record, session)
        return await handlers.run(ctx, commands.Invocation(commands.by_name("pr"), ""))

    async def _bare_answer(
        self, relay: Relay, client: HostClient, record: InboundRecord, text: str
    ) -> str | None:
        """A bare command word that is one of the open question's options answers it."""
        assert record.user_id is not None
        prompt = await relay.store(hosts.open_prompt, record.user_id)
        if prompt is None or prompt.kind != "question":
            return None
        if fold(text) not in {fold(option) for option in prompt.options}:
            return None
        return await self._answer(relay, client, prompt, text)

    @staticmethod
    async def _typed_counts(relay: Relay, record: InboundRecord, prompt: PromptRecord) -> bool:
        """A typed 1/2/3 or yes answers an approval only while it is clearly the thing
        being asked: nothing reached the phone after it (a quote or a tap always counts)."""
        if prompt.kind != "approval" or prompt.created_at is None:
            return True
        later = await relay.store(outbox.sent_after, record.message.from_number, prompt.created_at)
        return not later

    async def _tap(
        self, relay: Relay, client: HostClient, record: InboundRecord, tap: interactive.Tap
    ) -> str:
        """A tapped button answers exactly the prompt it came with, or says in one short
        line why not; a tap never reaches Claude."""
        prompt = await relay.store(hosts.get_prompt, tap.prompt_id)
        if prompt is None or prompt.user_id != record.user_id:
            return UNKNOWN_TAP
        if prompt.state != "open":
            return _already(prompt)
        text = _tapped_text(prompt, tap.choice)
        if text is None:
            return UNKNOWN_TAP
        reply = await self._answer(relay, client, prompt, text)
        if reply is None:
            return UNKNOWN_TAP
        settled = await relay.store(hosts.get_prompt, prompt.id)
        if settled is not None and reply.startswith("That question"):
            return _already(settled)
        # Tapped: the thread shows the choice; "typing…" says Claude goes on.
        return "" if await relay.typing.show(record.message.sid) else reply

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
                reply, resolution = DECIDED[decision], DECIDED_WORDS[decision]
            else:
                answer = question_answer(text, prompt.options)
                await client.answer_question(prompt.id, answer)
                reply, resolution = "", f"“{answer[:150]}”"
        except HostUnreachableError:
            raise
        except HostError as exc:
            if exc.status not in (404, 409):
                raise
            reply, resolution = "That question was already settled (it may have timed out).", None
        await relay.store(hosts.close_prompt, prompt.id, resolution)
        return reply

    @staticmethod
    async def _visual(client: HostClient, command: VisualCommand, session: str) -> str | None:
        """Run a visual command on the host; None when `show <x>` names no changed file."""
        if command.kind == "show":
            try:
                found = await client.visuals_diff(command.arg, require_match=True, session=session)
            except HostUnreachableError:
                raise
            except HostError:
                return None  # a host without visuals: let Claude read it
            return "" if found.get("matched") else None
        if command.kind == "diff":
            await client.visuals_diff(command.arg, session=session)
            return ""
        if command.kind == "screenshot":
            await client.visuals_screenshot(command.arg, session=session)
            return "📸 Taking a screenshot…"
        await client.set_auto_visuals(bool(command.enabled))
        return AUTO_VISUALS[bool(command.enabled)]

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


def _tapped_text(prompt: PromptRecord, choice: str) -> str | None:
    """What the tap means in the words of a typed answer; None when it fits no option."""
    if prompt.kind == "approval":  # the decision as its typed number
        return {"allow": "1", "allow_session": "2", "deny": "3"}.get(choice)
    if choice.isdigit() and 1 <= int(choice) <= len(prompt.options):
        return prompt.options[int(choice) - 1]
    return None


def _already(prompt: PromptRecord) -> str:
    """ "That was already answered: allowed at 14:02 UTC." """
    how = prompt.resolution or "settled"
    when = f" at {prompt.resolved_at:%H:%M} UTC" if prompt.resolved_at else ""
    return f"That was already answered: {how}{when}."


def _as_visual(name: str, args: str) -> VisualCommand:
    """The visual command of `/diff [file]`, `/screenshot [target]`, `/visuals on|off`."""
    if name == "visuals":
        return VisualCommand("auto", enabled=args.strip().lower() not in ("off", "0", "no"))
    return VisualCommand("screenshot" if name == "screenshot" else "diff", args.strip() or None)
