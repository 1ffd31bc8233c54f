"""What Claude's tokens cost, estimated from the usage Claude Code reports as it works.

Claude Code gives the exact cost only in a turn's final result; a per-turn budget
has to be checked while the turn runs, so it uses this estimate: Anthropic's list
prices per million tokens by model family (cache writes 1.25×, cache reads 0.1× the
input price). An unknown model is priced as Sonnet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (family marker in the model name, input $/MTok, output $/MTok); first match wins.
PRICES: tuple[tuple[str, float, float], ...] = (
    ("opus-4-1", 15.0, 75.0),
    ("opus-4-0", 15.0, 75.0),
    ("opus-4-2", 15.0, 75.0),  # claude-opus-4-20250514
    ("3-opus", 15.0, 75.0),
    ("opus", 5.0, 25.0),
    ("sonnet", 3.0, 15.0),
    ("3-5-haiku", 0.8, 4.0),
    ("3-haiku", 0.25, 1.25),
    ("haiku", 1.0, 5.0),
)
DEFAULT = (3.0, 15.0)


def prices(model: str) -> tuple[float, float]:
    """Input and output price per million tokens of `model`."""
    name = model.lower()
    for marker, price_in, price_out in PRICES:
        if marker in name:
            return price_in, price_out
    return DEFAULT


def estimate_usd(model: str, usage: Mapping[str, Any]) -> float:
    """The cost of one model call's `usage` (Anthropic's usage object)."""
    price_in, price_out = prices(model)

    def tokens(key: str) -> float:
        value = usage.get(key)
        return float(value) if isinstance(value, int | float) else 0.0

    weighted_in = (
        tokens("input_tokens")
        + 1.25 * tokens("cache_creation_input_tokens")
        + 0.1 * tokens("cache_read_input_tokens")
    )
    return (weighted_in * price_in + tokens("output_tokens") * price_out) / 1_000_000
