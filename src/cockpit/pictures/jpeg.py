"""Encode pictures as JPEG and keep them under WhatsApp's 5 MB media limit."""

from __future__ import annotations

import io

from PIL import Image

MAX_IMAGE_BYTES = 5_000_000
_QUALITIES = (70, 60, 50, 40)


def encode_jpeg(image: Image.Image, quality: int = 80) -> bytes:
    """`image` as JPEG bytes (RGB, progressive, optimised)."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
    return buf.getvalue()


def fit_jpeg(image: Image.Image, max_bytes: int = MAX_IMAGE_BYTES, quality: int = 80) -> bytes:
    """`image` as JPEG under `max_bytes`: lower quality first, then smaller dimensions."""
    data = encode_jpeg(image, quality)
    for q in _QUALITIES:
        if len(data) <= max_bytes:
            return data
        data = encode_jpeg(image, min(q, quality))
    while len(data) > max_bytes and min(image.size) > 64:
        image = image.resize(
            (image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS
        )
        data = encode_jpeg(image, _QUALITIES[-1])
    return data


def shrink_jpeg(data: bytes, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """`data` unchanged when small enough, else re-encoded by `fit_jpeg`."""
    if len(data) <= max_bytes:
        return data
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return fit_jpeg(image, max_bytes, quality=_QUALITIES[0])
