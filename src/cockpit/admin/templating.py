"""The admin pages' own Jinja environment (autoescaped; the signup pages have theirs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


_ENV.filters["when"] = _when


def render(template: str, **context: Any) -> str:
    """The HTML of `template` with `context`."""
    return _ENV.get_template(template).render(**context)
