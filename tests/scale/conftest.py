"""The relay tests' in-process stack (relay + simulator on loopback), shared with this tier."""

from tests.relay.conftest import stack

__all__ = ["stack"]
