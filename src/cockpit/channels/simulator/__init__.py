"""The phone simulator: a WhatsApp-like page plus a fake of Twilio's Messages API.

It is a product feature (`cockpit up` serves `/phone` to talk to your agent
without a Twilio account) and the Twilio stand-in of the tests: the relay talks
to it exactly as to Twilio.
"""

from cockpit.channels.simulator.app import PhoneSimulator, create_simulator_app
from cockpit.channels.simulator.state import Faults, SendAttempt, SimMedia, SimMessage

__all__ = [
    "Faults",
    "PhoneSimulator",
    "SendAttempt",
    "SimMedia",
    "SimMessage",
    "create_simulator_app",
]
