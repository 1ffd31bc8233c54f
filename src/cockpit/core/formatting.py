"""Claude's Markdown made ready for WhatsApp: converted markup, split into sendable chunks.

The two halves live in `cockpit.core.markdown` (conversion) and `cockpit.core.chunking`
(splitting); this module is the one entry point the relay needs.
"""

from __future__ import annotations

from cockpit.core.chunking import WHATSAPP_BODY_LIMIT, chunk_bodies, chunk_message, unchunk
from cockpit.core.markdown import markdown_to_whatsapp

__all__ = [
    "WHATSAPP_BODY_LIMIT",
    "chunk_bodies",
    "chunk_message",
    "format_for_whatsapp",
    "markdown_to_whatsapp",
    "unchunk",
]


def format_for_whatsapp(markdown: str, limit: int = WHATSAPP_BODY_LIMIT) -> list[str]:
    """Markdown as a list of WhatsApp message bodies, each at most `limit` characters,
    numbered `(k/n)` when there are several; [] for blank text."""
    return chunk_message(markdown_to_whatsapp(markdown), limit)
