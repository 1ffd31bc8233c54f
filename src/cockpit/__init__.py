"""WhatsApp Agentic Development Cockpit: drive your own Claude Code from WhatsApp."""

__version__ = "0.1.0"
