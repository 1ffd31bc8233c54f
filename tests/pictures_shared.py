"""What the picture tests share: small sources to change, and opening what was drawn."""

from __future__ import annotations

import io

from PIL import Image

from cockpit.pictures.describe import RenderedImage

PY_OLD = 'def greet(name):\n    return "Hello " + name\n\n\nPORT = 8000\n'
PY_NEW = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n\n\nPORT = 8080\n'
TS_OLD = "export const total = (xs: number[]) => xs.length;\n"
TS_NEW = "export const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);\n"
CSS_NEW = ":root { --accent: #0969da; }\nbody { margin: 0; color: var(--accent); }\n"


def opened(image: RenderedImage) -> Image.Image:
    """The PNG as a loaded Pillow image."""
    picture = Image.open(io.BytesIO(image.png))
    picture.load()
    return picture


def save(image: RenderedImage, name: str) -> None:
    """Keep a copy in /tmp, for looking at it by eye."""
    with open(f"/tmp/visuals-{name}.png", "wb") as out:
        out.write(image.png)
