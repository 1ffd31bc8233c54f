"""Each user's host as the relay sees it: provisioned on demand, followed while it lives."""

from __future__ import annotations

from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.log import get_logger
from cockpit.provision.base import HostEndpoint, HostSpec, Provisioner, host_token
from cockpit.relay.follower import HostFollower
from cockpit.relay.hostclient import HostClient
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import TaskGroup, in_thread
from cockpit.store import secrets, users

# Which of a user's stored secrets their host gets, and under which environment name.
HOST_SECRETS = {
    secrets.ANTHROPIC_API_KEY: "ANTHROPIC_API_KEY",
    secrets.CLAUDE_OAUTH_TOKEN: "CLAUDE_CODE_OAUTH_TOKEN",  # from `claude setup-token`
    "openai_api_key": "OPENAI_API_KEY",
    secrets.GITHUB_TOKEN: "COCKPIT_GIT_TOKEN",  # to clone (and later push) their repository
}

log = get_logger(__name__)


class HostManager:
    """Owns the provisioner, one HostClient and one HostFollower per user."""

    def __init__(self, relay: Relay, provisioner: Provisioner):
        self.relay, self.provisioner = relay, provisioner
        self._clients: dict[int, HostClient] = {}
        self._followers = TaskGroup()
        self._followed: set[int] = set()

    def _spec(self, user: users.UserRecord) -> HostSpec:
        """The user's host spec; their own keys are decrypted here, only for the host."""
        settings = self.relay.settings
        assert settings.secret_key is not None
        env = {}
        for name, variable in HOST_SECRETS.items():
            value = secrets.get_secret(self.relay.db, user.id, name, key=settings.secret_keyring)
            if value is not None:
                env[variable] = value
        if user.repo_url:
            env["COCKPIT_REPO_URL"] = user.repo_url
        return HostSpec(
            user_id=user.id,
            phone=user.phone,
            token=host_token(settings.secret_key.get_secret_value(), user.phone),
            workspace=Path(user.repo_path) if user.repo_path else None,
            env=env,
        )

    async def client(self, user_id: int) -> HostClient:
        """A client of the user's host, provisioning the host if needed."""
        endpoint = await self.provisioner.endpoint(user_id)
        cached = self._clients.get(user_id)
        if cached is not None and endpoint is not None and cached.endpoint == endpoint:
            return cached
        user = await self.relay.store(users.find_by_id, user_id)
        if user is None:
            raise CockpitError(f"no user {user_id}")
        if endpoint is None:
            endpoint = await self.provisioner.create(await in_thread(self._spec, user))
        return await self._connect(user, endpoint)

    async def _connect(self, user: users.UserRecord, endpoint: HostEndpoint) -> HostClient:
        cached = self._clients.pop(user.id, None)
        if cached is not None:
            await cached.aclose()
        self._clients[user.id] = HostClient(endpoint)
        self.follow(user)
        return self._clients[user.id]

    async def start(self, user_id: int) -> None:
        """Create or start the user's host with their current keys, and follow it.

        Signup calls it once the keys are stored; the account page after a resume or
        a key rotation (a stopped host starts again with the new environment).
        """
        user = await self.relay.store(users.find_by_id, user_id)
        if user is None:
            raise CockpitError(f"no user {user_id}")
        endpoint = await self.provisioner.create(await in_thread(self._spec, user))
        await self._connect(user, endpoint)

    def follow(self, user: users.UserRecord) -> None:
        """Start following the user's host events (once)."""
        if user.id not in self._followed:
            self._followed.add(user.id)
            follower = HostFollower(self.relay, user, self.client)
            self._followers.start(f"follower-{user.id}", follower.run)

    async def start_all(self) -> None:
        """Provision and follow every active user's host; failures are logged."""
        for user in await self.relay.store(users.list_users):
            if user.status != "active":
                continue  # signing up (their setup provisions them), paused or failed
            try:
                await self.client(user.id)
            except CockpitError as exc:
                log.error("hosts.start_failed", user_id=user.id, error=str(exc))
                self.follow(user)

    async def _unfollow(self, user_id: int) -> None:
        """Stop following the user's host and drop its client."""
        await self._followers.cancel(f"follower-{user_id}")
        self._followed.discard(user_id)
        client = self._clients.pop(user_id, None)
        if client is not None:
            await client.aclose()

    async def pause(self, user_id: int) -> None:
        """Stop the user's host (its workspace stays); `client()` starts it again."""
        await self._unfollow(user_id)
        await self.provisioner.stop(user_id)

    async def remove(self, user_id: int) -> None:
        """Destroy the user's host for good (account deleted)."""
        await self._unfollow(user_id)
        await self.provisioner.destroy(user_id)

    async def aclose(self) -> None:
        """Stop following, close clients, release the provisioner."""
        await self._followers.aclose()
        for client in self._clients.values():
            await client.aclose()
        await self.provisioner.aclose()
