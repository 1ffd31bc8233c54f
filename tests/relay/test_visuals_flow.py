"""Issue 4 end to end: diff pictures and screenshots reach the simulated phone.

Phone simulator → relay → local host → the real Claude Code CLI (scripted Anthropic
stand-in) and a real Chromium; images are fetched by the simulator through the
relay's signed media URLs, as Twilio would.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from cockpit.channels.simulator import SimMessage
from tests.fakes.anthropic import AnthropicFake, has_tool_result, say, tool
from tests.live import free_port, wait_until
from tests.relay.conftest import Stack, claude_overrides, host_answers, running_stack
from tests.requirements import require, require_chromium

pytestmark = [pytest.mark.claude, pytest.mark.slow]

PY = "DEBUG = False\nNAME = 'cockpit'\n"
TS = "export function add(a: number, b: number): number {\n  return a + b;\n}\n"


def _workspace(stack: Stack) -> Path:
    return (stack.settings.data_dir / "workspaces" / "15551230001").resolve()


def _images(stack: Stack) -> list[SimMessage]:
    """Messages with media, once the simulator has fetched every one of them."""
    with_media = [m for m in stack.received() if m.media]
    wait_until(lambda: all(item.data for m in with_media for item in m.media), timeout=15)
    return with_media


def _picture(message: SimMessage) -> Image.Image:
    data = message.media[0].data
    assert data is not None
    return Image.open(io.BytesIO(data))


def _wait_images(stack: Stack, count: int, timeout: float = 30) -> list[SimMessage]:
    wait_until(lambda: len([m for m in stack.received() if m.media]) >= count, timeout=timeout)
    return _images(stack)


def test_claude_edits_two_files_and_the_phone_gets_answer_announcement_and_diffs(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """One message with the answer, "📝 2 files changed" and ✅ Done, then one PNG ≥ 1,500 px
    (fetched by URL) whose caption names both files."""
    ws = _workspace(claude_stack)
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(ws / "settings.py"), "content": PY}),
            tool("Write", {"file_path": str(ws / "add.ts"), "content": TS}, when=has_tool_result),
            say("I changed **two files**.", when=has_tool_result),
        ]
    )
    claude_stack.send("add settings and a helper")
    claude_stack.wait_for("✅ Done", timeout=60)
    (image,) = _wait_images(claude_stack, 1)
    received = claude_stack.received()
    (answer,) = [m for m in received if m.body.startswith("I changed *two files*.")]
    lines = answer.body.splitlines()
    assert lines[2].startswith("📝 2 files changed") and lines[-1].startswith("✅ Done")
    assert received.index(answer) < received.index(image)
    assert image.body.startswith("add.ts ") and " · settings.py " in image.body
    picture = _picture(image)
    assert picture.format == "PNG" and picture.width >= 1500


def test_claude_screenshot_of_the_dev_server_reaches_the_phone_as_a_jpeg(
    claude_db: str, tmp_path: Path, anthropic_fake: AnthropicFake
) -> None:
    """mcp__phone__screenshot starts `npm run dev` and the phone gets a 780 px mobile JPEG."""
    require_chromium()
    require(shutil.which("npm") is not None, "npm is not installed")
    overrides = claude_overrides(anthropic_fake) | {"dev_port": free_port()}
    with running_stack(claude_db, tmp_path / "data", **overrides) as stack:
        wait_until(lambda: host_answers(tmp_path / "data/hosts/15551230001"), timeout=30)
        ws = _workspace(stack)
        dev = {"dev": "python3 -m http.server $PORT --bind 127.0.0.1"}
        (ws / "package.json").write_text(json.dumps({"name": "app", "scripts": dev}))
        (ws / "index.html").write_text("<h1 style='color:#c00'>Hello from the dev server</h1>")
        anthropic_fake.script(
            [
                tool("mcp__phone__screenshot", {"target": "/", "viewports": "mobile"}),
                say("That is your home page.", when=has_tool_result),
            ]
        )
        stack.send("show me the home page")
        stack.wait_for("✅ Done", timeout=90)
        (shot,) = _images(stack)
        picture = _picture(shot)
        assert shot.media[0].content_type == "image/jpeg"
        assert picture.format == "JPEG" and picture.width == 780
        assert "mobile" in shot.body


def test_diff_show_and_visuals_off_from_the_phone(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """/diff and `Show setings.py.` send the right pictures; a sentence goes to Claude;
    after /visuals off a turn that writes a file sends no pictures."""
    ws = _workspace(claude_stack)
    (ws / "settings.py").write_text(PY)
    (ws / "add.ts").write_text(TS)
    claude_stack.send("/diff")
    (both,) = _wait_images(claude_stack, 1)  # two small diffs share one picture
    assert both.body.startswith("add.ts ") and " · settings.py " in both.body
    claude_stack.send("Show setings.py.")
    third = _wait_images(claude_stack, 2)[-1]
    assert third.body.startswith("settings.py +2") and _picture(third).width >= 1500
    anthropic_fake.script([say("Claude heard it.")])
    claude_stack.send("show me the settings page")
    claude_stack.wait_for("✅ Done", timeout=60)
    assert any(b.startswith("Claude heard it.") for b in claude_stack.bodies())
    claude_stack.send("/visuals off")
    claude_stack.wait_for("🙈 Automatic visuals are off")
    told_before = sum(b.startswith("📝") for b in claude_stack.bodies())
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(ws / "more.py"), "content": "X = 1\n"}),
            say("Wrote more.py.", when=has_tool_result),
        ]
    )
    claude_stack.send("write more.py")
    wait_until(lambda: sum(b.startswith("✅ Done") for b in claude_stack.bodies()) == 2, 60)
    assert (ws / "more.py").exists()
    assert len(_images(claude_stack)) == 2
    assert sum(b.startswith("📝") for b in claude_stack.bodies()) == told_before
