"""Each user's host as the relay sees it: provisioned on demand, followed while it lives."""

from __future__ import annotations

from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.log import get_logger
from cockpit.provision.base import HostSpec, Provisioner, host_token
from cockpit.relay.follower import HostFollower
from cockpit.relay.hostclient import HostClient
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import TaskGroup, in_thread
from cockpit.store import users

log = get_logger(__name__)


class HostManager:
    """Owns the provisioner, one HostClient and one HostFollower per user."""

    def __init__(self, relay: Relay, provisioner: Provisioner):
        self.relay, self.provisioner = relay, provisioner
        self._clients: dict[int, HostClient] = {}
        self._followers = TaskGroup()
        self._followed: set[int] = set()

    def _spec(self, user: users.UserRecord) -> HostSpec:
        settings = self.relay.settings
        assert settings.secret_key is not None
        return HostSpec(
            user_id=user.id,
            phone=user.phone,
            token=host_token(settings.secret_key.get_secret_value(), user.phone),
            workspace=Path(user.repo_path) if user.repo_path else None,
        )

    async def client(self, user_id: int) -> HostClient:
        """A client of the user's host, provisioning the host if needed."""
        endpoint = await self.provisioner.endpoint(user_id)
        cached = self._clients.get(user_id)
        if cached is not None and endpoint is not None and cached.endpoint == endpoint:
            return cached
        user = await in_thread(users.find_by_id, self.relay.db, user_id)
        if user is None:
            raise CockpitError(f"no user {user_id}")
        if endpoint is None:
            endpoint = await self.provisioner.create(self._spec(user))
        if cached is not None:
            await cached.aclose()
        self._clients[user_id] = HostClient(endpoint)
        self.follow(user)
        return self._clients[user_id]

    def follow(self, user: users.UserRecord) -> None:
        """Start following the user's host events (once)."""
        if user.id not in self._followed:
            self._followed.add(user.id)
            follower = HostFollower(self.relay, user, self.client)
            self._followers.start(f"follower-{user.id}", follower.run)

    async def start_all(self) -> None:
        """Provision and follow every registered user's host; failures are logged."""
        for user in await in_thread(users.list_users, self.relay.db):
            try:
                await self.client(user.id)
            except CockpitError as exc:
                log.error("hosts.start_failed", user_id=user.id, error=str(exc))
                self.follow(user)

    async def aclose(self) -> None:
        """Stop following, close clients, release the provisioner."""
        await self._followers.aclose()
        for client in self._clients.values():
            await client.aclose()
        await self.provisioner.aclose()
