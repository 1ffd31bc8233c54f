"""Sessions other than "main" work in their own git worktree and branch, at the same time."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cockpit.host.workspace import ensure_repo
from cockpit.host.worktrees import BadSessionName, Worktrees, check_name
from tests.fakes.anthropic import (
    AnthropicFake,
    Body,
    conversation_text,
    has_tool_result,
    last_user_text,
    say,
    slow,
    tool,
)
from tests.gitrepo import git_as_tester
from tests.host.conftest import Event, RunningHost
from tests.requirements import require_claude_cli


def _worktree(host: RunningHost, name: str) -> Path:
    return host.settings.data_dir.resolve() / "worktrees" / name


def _about(word: str, *, result: bool | None = None, seen: str | None = None) -> Any:
    """A predicate: the request belongs to the conversation mentioning `word`."""

    def accepts(body: Body) -> bool:
        if word not in conversation_text(body):
            return False
        if result is not None and has_tool_result(body) != result:
            return False
        return seen is None or seen in last_user_text(body)

    return accepts


def _of(events: list[Event], turn_id: str, type_: str | None = None) -> list[Event]:
    return [e for e in events if e["turn_id"] == turn_id and type_ in (None, e["type"])]


# --- the folders, with real git and no Claude ---------------------------------------------


def test_a_new_session_gets_a_worktree_on_its_own_branch_from_head(tmp_path: Path) -> None:
    """A session's first use makes `worktrees/<name>` on `cockpit/<name>` at the workspace HEAD."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    git_as_tester(workspace, "init", "-q", "-b", "main")  # no commit yet: one is made first
    folders = Worktrees(workspace, tmp_path / "worktrees")
    assert folders.ensure("main") == workspace
    path = folders.ensure("auth-fix")
    assert path == tmp_path / "worktrees" / "auth-fix"
    assert git_as_tester(path, "branch", "--show-current") == "cockpit/auth-fix"
    assert git_as_tester(path, "rev-parse", "HEAD") == git_as_tester(workspace, "rev-parse", "HEAD")
    assert folders.sessions() == ["auth-fix"]
    assert folders.branches(["main", "auth-fix", "none"]) == {
        "main": "main",
        "auth-fix": "cockpit/auth-fix",
        "none": None,
    }


def test_an_existing_branch_and_folder_are_reused(tmp_path: Path) -> None:
    """A branch `cockpit/<name>` made earlier is checked out; an existing worktree is kept."""
    workspace = tmp_path / "ws"
    ensure_repo(workspace)
    folders = Worktrees(workspace, tmp_path / "worktrees")
    (workspace / "README.md").write_text("hello\n")
    git_as_tester(workspace, "add", "README.md")
    git_as_tester(workspace, "commit", "-q", "-m", "readme")
    git_as_tester(workspace, "branch", "cockpit/old", "HEAD")
    git_as_tester(workspace, "rm", "-q", "README.md")
    git_as_tester(workspace, "commit", "-q", "-m", "no readme on main")
    path = folders.ensure("old")
    assert (path / "README.md").read_text() == "hello\n"  # the branch's own commit
    (path / "work.txt").write_text("unsaved work\n")
    assert folders.ensure("old") == path
    assert (path / "work.txt").read_text() == "unsaved work\n"


def test_a_removed_worktree_folder_is_made_again_on_its_branch(tmp_path: Path) -> None:
    """A worktree folder deleted by hand comes back, on the same branch, with its commits."""
    workspace = tmp_path / "ws"
    folders = Worktrees(workspace, tmp_path / "worktrees")
    path = folders.ensure("docs")
    (path / "guide.md").write_text("# Guide\n")
    git_as_tester(path, "add", "guide.md")
    git_as_tester(path, "commit", "-q", "-m", "guide")
    subprocess.run(["rm", "-rf", str(path)], check=True)
    again = folders.ensure("docs")
    assert (again / "guide.md").read_text() == "# Guide\n"
    assert git_as_tester(again, "branch", "--show-current") == "cockpit/docs"


@pytest.mark.parametrize("name", ["../x", "Bad Name", "UPPER", "-lead", "a" * 33, "", "a/b"])
def test_bad_session_names_are_refused(name: str) -> None:
    """Names that are not 1-32 lowercase letters, digits or dashes cannot name a session."""
    with pytest.raises(BadSessionName):
        check_name(name)


# --- through the host's HTTP API ---------------------------------------------------------


async def test_bad_session_names_get_400_and_nothing_is_made(start_host: Any) -> None:
    """POST /turns and /visuals/diff with "../x" or "Bad Name" answer 400; nothing is made."""
    host: RunningHost = await start_host()
    for i, name in enumerate(["../x", "Bad Name", "x" * 33, ""]):
        response = await host.client.post(
            "/turns", json={"turn_id": f"bad{i}", "session": name, "text": "hi"}
        )
        assert response.status_code == 400, response.text
        assert "session name" in response.json()["detail"]
        assert (await host.client.get(f"/turns/bad{i}")).status_code == 404
    diff = await host.client.post("/visuals/diff", json={"session": "../x"})
    assert diff.status_code == 400
    cancel = await host.client.post("/turns/cancel-queued", json={"session": "Bad Name"})
    assert cancel.status_code == 400
    assert not (host.settings.data_dir / "worktrees").exists()
    assert not (host.settings.data_dir / "x").exists()
    assert git_as_tester(host.workspace, "branch", "--list", "cockpit/*") == ""
    health = (await host.client.get("/health")).json()
    assert list(health["sessions"]) == []


@pytest.mark.claude
async def test_two_sessions_write_the_same_file_at_once_in_their_own_worktrees(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """Two sessions' turns overlap; each one's notes.txt lands in its own worktree and branch."""
    require_claude_cli()
    host: RunningHost = await start_host()
    alpha, beta = _worktree(host, "alpha"), _worktree(host, "beta")
    anthropic_fake.script(
        [
            tool(
                "Write",
                {"file_path": str(alpha / "notes.txt"), "content": "alpha\n"},
                when=_about("ALPHA", result=False),
            ),
            tool(
                "Bash",
                {"command": "git branch --show-current", "description": "which branch"},
                when=_about("ALPHA", result=True),
            ),
            tool(
                "Write",
                {"file_path": str(host.workspace / "notes.txt"), "content": "alpha\n"},
                when=_about("ALPHA", seen="cockpit/alpha"),
            ),
            say("alpha done", when=_about("ALPHA", seen="beta went first")),
            slow(
                0.5,
                tool(
                    "Write",
                    {"file_path": str(beta / "notes.txt"), "content": "beta\n"},
                    when=_about("BETA", result=False),
                ),
            ),
            say("beta done", when=_about("BETA", result=True)),
        ]
    )
    events = host.reader()
    await host.turn("a1", "ALPHA: write notes", session="alpha")
    # alpha's write to the main workspace waits for the phone's approval: alpha is still
    # running while beta's whole turn runs, so the two sessions' turns really overlap.
    request = await events.wait_type("approval_request", "a1")
    assert request["summary"] == f"Write {host.workspace / 'notes.txt'} (outside the workspace)?"
    assert (await host.turn("b1", "BETA: write notes", session="beta"))["position"] == 0
    beta_result = await events.finished("b1")
    assert (await host.client.get("/turns/a1")).json()["state"] == "running"
    await host.approve(request["approval_id"], "deny", "beta went first")
    alpha_result = await events.finished("a1")
    assert alpha_result["type"] == beta_result["type"] == "result"
    assert alpha_result["branch"] == "cockpit/alpha" and beta_result["branch"] == "cockpit/beta"
    bash = [r for r in anthropic_fake.main_requests if _about("ALPHA", seen="cockpit/alpha")(r)]
    assert bash, "Claude's `git branch` in alpha's folder did not say cockpit/alpha"
    assert (alpha / "notes.txt").read_text() == "alpha\n"
    assert (beta / "notes.txt").read_text() == "beta\n"
    assert not (host.workspace / "notes.txt").exists()
    assert git_as_tester(alpha, "branch", "--show-current") == "cockpit/alpha"
    assert git_as_tester(beta, "branch", "--show-current") == "cockpit/beta"
    assert git_as_tester(host.workspace, "status", "--porcelain") == ""
    health = (await host.client.get("/health")).json()
    assert health["sessions"]["alpha"]["branch"] == "cockpit/alpha"
    assert health["sessions"]["beta"]["branch"] == "cockpit/beta"
    assert health["branch"] == "main"


@pytest.mark.claude
async def test_the_diffs_of_a_worktree_session_show_only_its_own_change(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """After a "docs" turn, its automatic diff and /visuals/diff show guide.md, not main's file."""
    require_claude_cli()
    host: RunningHost = await start_host()
    (host.workspace / "main-only.txt").write_text("main's own work\n")
    docs = _worktree(host, "docs")
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(docs / "guide.md"), "content": "# Guide\n"}),
            say("wrote the guide", when=has_tool_result),
        ]
    )
    events = host.reader()
    await host.turn("d1", "write the guide", session="docs")
    await events.finished("d1")
    said = _of(events.events, "d1", "message")
    assert len(said) == 1 and said[0]["session"] == "docs"
    assert said[0]["text"].startswith("📝 1 file changed")  # main-only.txt is not counted
    assert [e["caption"].split()[0] for e in _of(events.events, "d1", "image")] == ["guide.md"]
    assert not (docs / "main-only.txt").exists()

    asked = (await host.client.post("/visuals/diff", json={"session": "docs"})).json()
    shown = await events.wait_type("image", asked["request_id"])
    assert shown["caption"].split()[0] == "guide.md" and shown["session"] == "docs"
    main = (await host.client.post("/visuals/diff", json={})).json()
    shown = await events.wait_type("image", main["request_id"])
    assert shown["caption"].split()[0] == "main-only.txt"
    await events.wait_for(lambda e: len(_of(events.events, main["request_id"])) >= 2)
    assert len(_of(events.events, main["request_id"], "image")) == 1


@pytest.mark.claude
async def test_a_worktree_session_asks_before_editing_the_main_workspace(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """Edits in the session's own worktree run at once; an edit of the main workspace asks."""
    require_claude_cli()
    host: RunningHost = await start_host()
    own, main = _worktree(host, "ui") / "own.txt", host.workspace / "intrude.txt"
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(own), "content": "mine\n"}),
            tool("Write", {"file_path": str(main), "content": "x\n"}, when=has_tool_result),
            say("ok", when=_about("ui work", seen="not in main")),
        ]
    )
    events = host.reader()
    await host.turn("u1", "ui work", session="ui")
    request = await events.wait_type("approval_request", "u1")
    assert request["tool"] == "Write" and "outside the workspace" in request["summary"]
    assert own.read_text() == "mine\n"
    await host.approve(request["approval_id"], "deny", "not in main")
    assert (await events.finished("u1"))["type"] == "result"
    assert not main.exists()


@pytest.mark.claude
async def test_files_sent_to_a_worktree_session_land_in_its_worktree(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A photo sent to session "ui" is saved in its worktree, where its Claude can read it."""
    require_claude_cli()
    host: RunningHost = await start_host()
    anthropic_fake.script([say("got it")])
    events = host.reader()
    media = [{"filename": "shot.png", "content_type": "image/png", "data_b64": "iVBORw0K"}]
    await host.turn("m1", "look", session="ui", media=media)
    await events.finished("m1")
    turn = (await host.client.get("/turns/m1")).json()
    saved = _worktree(host, "ui") / turn["media"][0]["path"]
    assert saved.read_bytes() == base64.b64decode("iVBORw0K")
    assert not (host.workspace / ".cockpit" / "inbox" / "m1").exists()
    assert git_as_tester(_worktree(host, "ui"), "status", "--porcelain") == ""
