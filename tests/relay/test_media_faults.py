"""The relay's media folder turns read-only while Claude sends a picture to the phone."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cockpit.core.host_events import NOT_STORED
from tests.fakes.anthropic import AnthropicFake, has_tool_result, say, tool
from tests.live import wait_until
from tests.relay.conftest import CLASSIC_THREAD, Stack
from tests.requirements import require

pytestmark = [pytest.mark.claude, pytest.mark.slow]


@pytest.fixture
def thread() -> dict[str, Any]:
    """This module checks replies one by one: the classic thread ("👀 on it", no joins)."""
    return CLASSIC_THREAD


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` refuses new files until the block ends (for root too: chattr +i)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    immutable = os.geteuid() == 0  # root ignores the mode bits
    if immutable:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        require(done.returncode == 0, f"chattr +i is refused here: {done.stderr.decode()!r}")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(out, "PNG")
    return out.getvalue()


def _send_chart(fake: AnthropicFake, answer: str) -> None:
    fake.script(
        [
            tool("mcp__phone__send_image", {"path": "chart.png", "caption": "the chart"}),
            say(answer, when=has_tool_result),
        ]
    )


def test_a_read_only_media_folder_is_told_plainly_and_the_next_picture_arrives(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """The phone gets the caption and a plain sentence instead of the picture, the rest of the
    turn arrives; once the folder is writable again the picture itself comes through."""
    workspace = (claude_stack.settings.data_dir / "workspaces" / "15551230001").resolve()
    (workspace / "chart.png").write_bytes(_png())
    with read_only(claude_stack.settings.data_dir / "media"):
        _send_chart(anthropic_fake, "There is your chart.")
        claude_stack.send("send me the chart")
        bodies = claude_stack.wait_for("✅ Done", timeout=60)
    assert bodies[:4] == ["👀 on it", "🖼️ sending an image", f"the chart\n({NOT_STORED})",
                          "There is your chart."]  # fmt: skip
    assert bodies[4].startswith("✅ Done · ") and len(bodies) == 5
    assert not any(m.media for m in claude_stack.received())
    _send_chart(anthropic_fake, "There it is again.")
    claude_stack.send("try again")
    wait_until(lambda: sum(b.startswith("✅ Done") for b in claude_stack.bodies()) == 2, timeout=60)
    (picture,) = [m for m in claude_stack.received() if m.media]
    wait_until(lambda: picture.media[0].data is not None, timeout=15)
    assert picture.body == "the chart" and picture.media[0].data == _png()
    again = [b for b in claude_stack.bodies()[5:] if b != "🖼️ sending an image"]  # throttled
    assert again[:3] == ["👀 on it", "the chart", "There it is again."] and len(again) == 4
