"""Phone numbers in E.164 form and Twilio's `whatsapp:` addresses."""

from __future__ import annotations

import re

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # ASCII digits only: `\d` takes any script's
WHATSAPP_PREFIX = "whatsapp:"


def normalize_e164(raw: str) -> str:
    """Return `raw` as E.164 (`+15551234567`), or raise ValueError saying why."""
    text = raw.strip()
    if text.lower().startswith(WHATSAPP_PREFIX):
        text = text[len(WHATSAPP_PREFIX) :]
    text = re.sub(r"[ \t().-]", "", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _E164.fullmatch(text):
        raise ValueError(f"{raw!r} is not a phone number in E.164 form, e.g. +15551234567")
    return text


def to_whatsapp(number: str) -> str:
    """The Twilio address of a WhatsApp number: `whatsapp:+15551234567`."""
    return WHATSAPP_PREFIX + normalize_e164(number)


def digits(number: str) -> str:
    """Only the digits of a number, for folder names."""
    return re.sub(r"\D", "", number)
