"""Where media bytes live: the `ImageStore` port and its local-disk adapter."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cockpit.errors import MediaError

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's largest document; images must stay under 5 MB


@dataclass(frozen=True)
class StoredMedia:
    id: str
    content_type: str
    size: int
    sha256: str
    filename: str


class ImageStore(Protocol):
    """Keeps media bytes by id."""

    def put(self, data: bytes, content_type: str, filename: str) -> StoredMedia: ...

    def path(self, media_id: str) -> Path: ...


def safe_filename(name: str, content_type: str) -> str:
    """A file name with no path in it, keeping a sensible extension."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.replace("\\", "/")).name).strip("._")
    if not base:
        base = "file" + (mimetypes.guess_extension(content_type) or "")
    return base[:120]


class LocalImageStore:
    """Media as files under one folder, named by a random id."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, data: bytes, content_type: str, filename: str) -> StoredMedia:
        if len(data) > MAX_MEDIA_BYTES:
            raise MediaError(f"media of {len(data)} bytes is over the {MAX_MEDIA_BYTES} limit")
        media_id = uuid.uuid4().hex
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / media_id).write_bytes(data)
        except OSError as exc:
            raise MediaError(f"cannot store media: {exc.strerror}") from exc
        digest = hashlib.sha256(data).hexdigest()
        return StoredMedia(
            media_id, content_type, len(data), digest, safe_filename(filename, content_type)
        )

    def path(self, media_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", media_id):
            raise MediaError("no such media")
        return self.root / media_id
