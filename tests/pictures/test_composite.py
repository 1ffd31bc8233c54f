"""Screenshots side by side, drawn from anything with a viewport, a JPEG and a URL."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from cockpit.pictures.composite import side_by_side


@dataclass(frozen=True)
class FakeShot:
    """Only what a composite reads of a screenshot."""

    viewport: str
    jpeg: bytes
    url: str


def jpeg(width: int, height: int, colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG")
    return out.getvalue()


def test_shots_are_scaled_to_the_lowest_and_named_in_the_caption() -> None:
    """Two shots of different heights meet at the lower one; the caption names the URL and
    the viewports in order (no browser needed)."""
    url = "http://127.0.0.1:5173/"
    shots = [
        FakeShot("mobile", jpeg(390, 800, "red"), url),
        FakeShot("desktop", jpeg(1440, 1600, "blue"), url),
    ]

    composite = side_by_side(shots)

    image = Image.open(io.BytesIO(composite.data))
    assert image.format == "JPEG" and composite.content_type == "image/jpeg"
    assert (image.width, image.height) == (40 + 390 + 48 + 720 + 40, 40 + 72 + 800 + 40)
    assert composite.caption == f"{url} · mobile + desktop"
