"""Structured logs: one stable `event` name and the ids that tie a journey together.

Secrets never reach this module's output: values of keys that look like
secrets are replaced before formatting.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_SECRET_KEYS = ("token", "secret", "password", "api_key", "authorization", "signature")


def _safe(key: str, value: Any) -> Any:
    if any(part in key.lower() for part in _SECRET_KEYS):
        return "***"
    return value


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        parts = [f"{self.formatTime(record)} {record.levelname} {record.name}"]
        parts.append(f"event={record.getMessage()}")
        parts += [f"{k}={json.dumps(_safe(k, v), default=str)}" for k, v in fields.items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str = "INFO") -> None:
    """Send key=value log lines to stderr at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_KeyValueFormatter())
    root = logging.getLogger("cockpit")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


class EventLogger:
    """A logger whose calls name an event and its fields: `log.info("sent", sid=...)`."""

    def __init__(self, name: str):
        self._log = logging.getLogger(name)

    def _emit(self, level: int, event: str, exc: bool, fields: dict[str, Any]) -> None:
        if self._log.isEnabledFor(level):
            self._log.log(level, event, extra={"fields": fields}, exc_info=exc)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, False, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, False, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, False, fields)

    def error(self, event: str, *, exc: bool = False, **fields: Any) -> None:
        self._emit(logging.ERROR, event, exc, fields)


def get_logger(name: str) -> EventLogger:
    """An EventLogger for module `name`."""
    return EventLogger(name)
