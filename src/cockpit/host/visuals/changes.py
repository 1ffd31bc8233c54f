"""Which files a turn changed, and the diff pictures to send for them.

Before a turn the host takes a `Snapshot` of the workspace: HEAD, and a hash of
every file `git status` lists (edited, staged, new, deleted). After the turn a
second snapshot tells which files the turn touched, also a file that was already
dirty before and was edited again, or a change Claude committed. Everything here
is synchronous git and CPU work: call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cockpit.host.visuals import DiffBundle, match_file, read_changes
from cockpit.host.visuals.errors import GitError
from cockpit.host.visuals.overview import HINT, MAX_FILES_SHOWN, summary
from cockpit.pictures.diff_image import render_file_diff
from cockpit.pictures.overview_image import render_overview
from cockpit.pictures.patch import FileDiff
from cockpit.pictures.stacked import stack_small

# The relay reads message text as Markdown: **bold** is WhatsApp's *bold*.
HINT_TEXT = HINT.replace("*show <file>*", "**show <file>**")
MAX_TRACKED_PATHS = 5000  # beyond this many dirty files, the rest are not watched per turn
HASH_LIMIT_BYTES = 8 * 1024 * 1024
_GONE = "-"


@dataclass(frozen=True)
class Snapshot:
    """The workspace's HEAD and a content hash of each file git reports as changed."""

    head: str | None
    files: dict[str, str]

    def changed_since(self, before: Snapshot) -> set[str]:
        """Paths whose content or git status differs between `before` and this snapshot."""
        paths = set(self.files) | set(before.files)
        return {p for p in paths if self.files.get(p) != before.files.get(p)}

    def differs(self, before: Snapshot) -> bool:
        """True when a file changed or a commit was made since `before`."""
        return self.head != before.head or bool(self.changed_since(before))


def snapshot(repo: Path) -> Snapshot:
    """HEAD and the hashed dirty files of `repo` (ignored files excluded)."""
    head = _git(repo, "rev-parse", "-q", "--verify", "HEAD", check=False).strip() or None
    out = _git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    files: dict[str, str] = {}
    for path in _status_paths(out)[:MAX_TRACKED_PATHS]:
        files[path] = _hash(repo / path)
    return Snapshot(head, files)


def turn_diffs(repo: Path, before: Snapshot, after: Snapshot) -> list[FileDiff]:
    """The diffs (against HEAD, or the turn's commits) of the files the turn touched."""
    touched = after.changed_since(before)
    diffs = [fd for fd in read_changes(repo) if _names(fd) & touched]
    if before.head and after.head and before.head != after.head:
        seen = {fd.path for fd in diffs}
        committed = read_changes(repo, f"{before.head}..{after.head}")
        diffs += [fd for fd in committed if fd.path not in seen]
    return diffs


def turn_bundle(repo: Path, before: Snapshot, after: Snapshot) -> DiffBundle | None:
    """The pictures for the files a turn changed (an overview above 5 files); None if none."""
    diffs = turn_diffs(repo, before, after)
    if not diffs:
        return None
    return bundle_of(diffs, title="changed in this turn")


def bundle_of(diffs: list[FileDiff], *, title: str) -> DiffBundle:
    """Announcement text and pictures for `diffs`: one per file, or the overview above 5."""
    paths = [fd.path for fd in diffs]
    if len(diffs) > MAX_FILES_SHOWN:
        image = render_overview(diffs, title=title, hint=HINT)
        return DiffBundle([image], f"📝 {summary(diffs)}\n{HINT_TEXT}", paths)
    images = stack_small([img for fd in diffs for img in render_file_diff(fd)])
    return DiffBundle(images, f"📝 {summary(diffs)}:", paths)


def named_bundle(repo: Path, queries: Sequence[str]) -> DiffBundle:
    """The pictures of the changed files `queries` name (loosely); words for the misses."""
    diffs = read_changes(repo)
    paths = [fd.path for fd in diffs]
    wanted: list[str] = []
    missing: list[str] = []
    for query in queries:
        found = match_file(query, paths)
        if found is None:
            missing.append(query)
        elif found not in wanted:
            wanted.append(found)
    chosen = [fd for fd in diffs if fd.path in wanted]
    bundle = bundle_of(chosen, title="working tree vs HEAD") if chosen else None
    text = bundle.text if bundle else "📝 Nothing to show."
    if missing:
        text += f"\nNo changed file matches {', '.join(repr(q) for q in missing)}."
        text += f" Changed: {', '.join(paths[:20])}" if paths else " Nothing is changed."
    return DiffBundle(bundle.images if bundle else [], phone_text(text, paths), paths)


def phone_text(text: str, paths: Sequence[str]) -> str:
    """`text` for the phone: file paths in `code` (so `__init__.py` is not read as
    Markdown emphasis) and the *show <file>* hint in bold."""
    text = text.replace(HINT, HINT_TEXT)
    if not paths:
        return text
    names = "|".join(re.escape(p) for p in sorted(set(paths), key=len, reverse=True))
    return re.sub(rf"(?<![\w/.`-])(?:{names})(?![\w/`-])", lambda m: f"`{m[0]}`", text)


def changed_paths(repo: Path) -> list[str]:
    """Every changed path of the working tree against HEAD (untracked files included)."""
    return [fd.path for fd in read_changes(repo)]


def _names(fd: FileDiff) -> set[str]:
    return {fd.path, fd.old_path} if fd.old_path else {fd.path}


def _status_paths(out: str) -> list[str]:
    """Paths of `git status --porcelain -z`; a rename gives both its new and old path."""
    fields = out.split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":
            paths.append(fields[i])
            i += 1
    return paths


def _hash(path: Path) -> str:
    """The file's content hash; for a big file its size and modification time (cheaper)."""
    try:
        if path.is_symlink():
            return "link:" + str(path.readlink())
        if not path.is_file():
            return _GONE
        info = path.stat()
        if info.st_size > HASH_LIMIT_BYTES:
            return f"stat:{info.st_size}:{info.st_mtime_ns}"
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return _GONE


def _git(repo: Path, *args: str, check: bool = True) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} could not run: {exc}") from None
    if check and done.returncode != 0:
        raise GitError(f"git {args[0]} failed: {done.stderr.strip()[:200]}")
    return done.stdout
