"""Visual review on the host: /visuals endpoints, automatic visuals after a turn, snapshots."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from cockpit.core.formatting import format_for_whatsapp
from cockpit.host.visuals.changes import phone_text, snapshot, turn_diffs
from cockpit.host.visuals.overview import HINT
from cockpit.host.visuals.service import is_loopback_url
from tests.fakes.anthropic import AnthropicFake, has_tool_result, say, tool
from tests.gitrepo import git_as_tester
from tests.host.conftest import Event, RunningHost
from tests.live import free_port
from tests.requirements import require_chromium, require_claude_cli

_SHOWN = ("text", "message", "image", "result")
PY = "def settings():\n    return {'debug': False}\n"


async def _picture(host: RunningHost, event: Event) -> Image.Image:
    response = await host.client.get(f"/files/{event['image_id']}")
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


def _of(events: list[Event], turn_id: str) -> list[Event]:
    return [e for e in events if e["turn_id"] == turn_id]


async def test_diff_command_sends_one_picture_for_small_changed_files(
    start_host: Callable[..., Any],
) -> None:
    """POST /visuals/diff sends a summary, then one PNG at least 1,500 px wide whose
    caption names both small files."""
    host: RunningHost = await start_host()
    (host.workspace / "settings.py").write_text(PY)
    (host.workspace / "style.css").write_text("body { color: red; }\n")
    reader = host.reader()
    response = await host.client.post("/visuals/diff", json={})
    assert response.status_code == 202
    request_id = response.json()["request_id"]
    assert request_id.startswith("visuals-")
    await reader.wait_for(lambda e: len(_of(reader.of("image"), request_id)) == 1)
    sent = _of(reader.events, request_id)
    assert [e["type"] for e in sent] == ["message", "image"]
    assert sent[0]["session"] == "main" and sent[0]["text"].startswith("📝 2 files changed")
    image = await _picture(host, sent[1])
    assert image.format == "PNG" and image.width >= 1500
    assert sent[1]["caption"].startswith("settings.py ") and " · style.css " in sent[1]["caption"]


async def test_show_finds_a_misspelled_file_and_ignores_words_that_name_none(
    start_host: Callable[..., Any],
) -> None:
    """`require_match` finds "setings.py" but sends nothing for a query naming no file."""
    host: RunningHost = await start_host()
    (host.workspace / "settings.py").write_text(PY)
    (host.workspace / "app.ts").write_text("export const x = 1;\n")
    reader = host.reader()
    miss = await host.client.post("/visuals/diff", json={"query": "banana", "require_match": True})
    assert miss.status_code == 200 and miss.json() == {"request_id": None, "matched": None}
    hit = await host.client.post(
        "/visuals/diff", json={"query": "setings.py", "require_match": True}
    )
    assert hit.status_code == 202 and hit.json()["matched"] == "settings.py"
    image = await reader.wait_type("image", hit.json()["request_id"])
    assert image["caption"].startswith("settings.py +2")
    assert {e["turn_id"] for e in reader.events} == {hit.json()["request_id"]}


async def test_diff_of_a_missing_file_and_screenshot_without_dev_server_are_told_plainly(
    start_host: Callable[..., Any],
) -> None:
    """No silence: a /diff naming nothing and a screenshot with no dev server get sentences."""
    host: RunningHost = await start_host()
    reader = host.reader()
    diff = (await host.client.post("/visuals/diff", json={"query": "nothing.py"})).json()
    said = await reader.wait_type("message", diff["request_id"])
    assert "No changed file matches 'nothing.py'" in said["text"]
    shot = (await host.client.post("/visuals/screenshot", json={})).json()
    said = await reader.wait_type("message", shot["request_id"])
    assert "No package.json" in said["text"]
    far = await host.client.post("/visuals/screenshot", json={"target": "https://example.com/"})
    said = await reader.wait_type("message", far.json()["request_id"])
    assert "only photograph pages served on this workspace" in said["text"]


async def test_a_dev_server_that_fails_is_explained_with_its_output(
    start_host: Callable[..., Any],
) -> None:
    """A configured dev command that crashes: the phone reads the last lines it printed."""
    host: RunningHost = await start_host(
        dev_command="echo 'Error: Cannot find module vite' >&2; exit 1", dev_port=45999
    )
    reader = host.reader()
    shot = (await host.client.post("/visuals/screenshot", json={"target": "/login"})).json()
    said = await reader.wait_type("message", shot["request_id"])
    assert "did not come up" in said["text"]
    assert "Cannot find module vite" in said["text"]


async def test_the_auto_switch_is_remembered_and_shown_in_health(
    start_host: Callable[..., Any], tmp_path: Path
) -> None:
    """/visuals/auto off survives a host restart and GET /health reports it."""
    host: RunningHost = await start_host()
    assert (await host.client.get("/health")).json()["auto_visuals"] is True
    answer = await host.client.post("/visuals/auto", json={"enabled": False})
    assert answer.json() == {"auto_visuals": False}
    await host.stop()
    again: RunningHost = await start_host(tmp_path / "host")
    health = (await again.client.get("/health")).json()
    assert health["auto_visuals"] is False and health["dev_server"] is None


async def test_screenshot_command_and_a_fresh_screenshot_after_a_change(
    start_host: Callable[..., Any], anthropic_fake: AnthropicFake
) -> None:
    """/visuals/screenshot starts the dev server and sends one mobile + desktop JPEG; a
    later turn that edits the page ends with its diff and a fresh screenshot."""
    require_chromium()
    require_claude_cli()
    host: RunningHost = await start_host(
        dev_command="python3 -m http.server $PORT --bind 127.0.0.1", dev_port=free_port()
    )
    page = host.workspace / "index.html"
    page.write_text("<h1 style='color:#c00'>Hello cockpit</h1>")
    reader = host.reader()
    shot = (await host.client.post("/visuals/screenshot", json={})).json()
    image = await reader.wait_type("image", shot["request_id"], within=60)
    assert image["content_type"] == "image/jpeg" and "mobile + desktop" in image["caption"]
    picture = await _picture(host, image)
    assert picture.format == "JPEG" and picture.width > 780 + 1000
    assert (await host.client.get("/health")).json()["dev_server"]["running"] is True
    anthropic_fake.script(
        [
            tool("Edit", {"file_path": str(page), "old_string": "Hello", "new_string": "Bye"}),
            say("Edited.", when=has_tool_result),
        ]
    )
    await host.turn("t1", "say bye")
    await reader.finished("t1", within=60)
    after = [e for e in reader.events if e["turn_id"] == "t1" and e["type"] in _SHOWN]
    assert [e["type"] for e in after] == ["text", "message", "image", "image", "result"]
    assert [e["content_type"] for e in after[2:4]] == ["image/png", "image/jpeg"]


async def test_a_turn_that_changes_files_shows_them_before_its_result(
    start_host: Callable[..., Any], anthropic_fake: AnthropicFake
) -> None:
    """After Claude's text: the announcement (marked as the turn's changes), one picture
    for both small files, then the result; off: none."""
    require_claude_cli()
    host: RunningHost = await start_host()
    ws = host.workspace
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(ws / "a.py"), "content": PY}),
            tool(
                "Write", {"file_path": str(ws / "b.css"), "content": "a{}\n"}, when=has_tool_result
            ),
            say("Wrote both.", when=has_tool_result),
        ]
    )
    reader = host.reader()
    await host.turn("t1", "write two files")
    await reader.finished("t1")
    kinds = [
        e["type"] for e in reader.events if e["type"] in ("text", "message", "image", "result")
    ]
    assert kinds == ["text", "message", "image", "result"]
    assert reader.of("message", "t1")[0]["part"] == "changes"
    await host.client.post("/visuals/auto", json={"enabled": False})
    anthropic_fake.script([tool("Write", {"file_path": str(ws / "c.py"), "content": "x = 1\n"}),
                           say("Wrote c.", when=has_tool_result)])  # fmt: skip
    await host.turn("t2", "write c")
    await reader.finished("t2")
    assert reader.of("image", "t2") == [] and reader.of("message", "t2") == []


def test_a_snapshot_sees_re_edits_of_dirty_files_and_commits(tmp_path: Path) -> None:
    """A file already dirty and edited again, and a change Claude committed, both count."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git_as_tester(repo, "init", "-q", "-b", "main")
    (repo / "keep.py").write_text("a = 1\n")
    git_as_tester(repo, "add", "-A")
    git_as_tester(repo, "commit", "-q", "-m", "one")
    (repo / "keep.py").write_text("a = 2\n")
    (repo / "untouched.txt").write_text("same\n")
    before = snapshot(repo)
    (repo / "keep.py").write_text("a = 3\n")
    (repo / "new.ts").write_text("export {};\n")
    git_as_tester(repo, "add", "new.ts")
    git_as_tester(repo, "commit", "-q", "-m", "two")
    after = snapshot(repo)
    assert after.changed_since(before) == {"keep.py"} and after.differs(before)
    assert sorted(fd.path for fd in turn_diffs(repo, before, after)) == ["keep.py", "new.ts"]


def test_only_loopback_addresses_may_be_photographed() -> None:
    """127.0.0.0/8, ::1 and localhost are this machine; anything else is refused."""
    assert is_loopback_url("http://127.0.0.1:5173/x")
    assert is_loopback_url("http://localhost:3000")
    assert is_loopback_url("https://[::1]:8443/")
    assert not is_loopback_url("http://example.com/")
    assert not is_loopback_url("http://10.0.0.1/")
    assert not is_loopback_url("file:///etc/passwd")


def test_paths_in_phone_texts_are_code_and_the_hint_is_bold() -> None:
    """`__init__.py` is not turned into emphasis, and the hint reads *show <file>* on WhatsApp."""
    paths = ["src/__init__.py", "a.py", "src/a.py"]
    text = phone_text(f"3 files changed: {', '.join(paths)}\n{HINT}", paths)
    assert format_for_whatsapp(text) == [
        "3 files changed: `src/__init__.py`, `a.py`, `src/a.py`\n"
        "Reply *show <file>* for a file's diff"
    ]
