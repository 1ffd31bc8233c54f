"""Read changes from a real git repository by running `git` (no GitPython).

Two questions are answered:

* `read_changes(repo)`: the working tree against HEAD, untracked files included,
  staged or not. To see untracked files without touching the user's index, the
  index is copied to a temporary file and `git add -A` runs against the copy
  (`GIT_INDEX_FILE`); `.gitignore` is respected.
* `read_changes(repo, "a..b")`: a commit range (`a...b` works too); a single
  revision means that commit against its first parent.

File names come from `git diff --raw -z` (exact, unquoted); lines come from the
patch of the same diff, split per file in the same order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cockpit.host.visuals.errors import GitError
from cockpit.pictures.patch import FileDiff, Status, decode_patch, parse_patch

MAX_CHANGED_LINES = 2000
_DIFF_OPTS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--find-renames",
    "--ignore-submodules=dirty",
)
_ZERO_SHA_CHARS = {"0"}
_STATUS_OF_LETTER: dict[str, Status] = {"A": "added", "C": "added", "D": "deleted", "R": "renamed"}


@dataclass(frozen=True)
class _RawEntry:
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    letter: str
    path: str
    old_path: str | None


def read_changes(
    repo: Path, rev_range: str | None = None, *, max_changed_lines: int = MAX_CHANGED_LINES
) -> list[FileDiff]:
    """The changed files of `repo`: working tree vs HEAD, or the commits of `rev_range`."""
    repo = _toplevel(repo)
    if rev_range is None:
        return _working_tree(repo, max_changed_lines)
    return _collect(repo, _range_args(repo, rev_range.strip()), {}, max_changed_lines)


def _working_tree(repo: Path, max_changed_lines: int) -> list[FileDiff]:
    base = _resolve(repo, "HEAD") or _empty_tree(repo)
    with tempfile.TemporaryDirectory(prefix="cockpit-index-") as tmp:
        index = Path(tmp) / "index"
        real = Path(_git(repo, "rev-parse", "--git-path", "index").decode().strip())
        real = real if real.is_absolute() else repo / real
        if real.exists():
            shutil.copyfile(real, index)
        env = {"GIT_INDEX_FILE": str(index)}
        _git(repo, "add", "-A", "--", ".", env=env)
        return _collect(repo, ["--cached", base], env, max_changed_lines)


def _range_args(repo: Path, rev_range: str) -> list[str]:
    if not rev_range or rev_range.startswith("-"):
        raise GitError(f"'{rev_range}' is not a revision or range")
    sep = "..." if "..." in rev_range else ".." if ".." in rev_range else None
    if sep is None:
        commit = _must_resolve(repo, rev_range)
        parent = _resolve(repo, f"{commit}^") or _empty_tree(repo)
        return [parent, commit]
    left, right = rev_range.split(sep, 1)
    left_sha = _must_resolve(repo, left or "HEAD")
    right_sha = _must_resolve(repo, right or "HEAD")
    return [f"{left_sha}{sep}{right_sha}"]


def _collect(
    repo: Path, args: list[str], env: dict[str, str], max_changed_lines: int
) -> list[FileDiff]:
    raw = _parse_raw(_git(repo, "diff", *_DIFF_OPTS, "--raw", "-z", "--no-abbrev", *args, env=env))
    if not raw:
        return []
    patch = _git(
        repo, "diff", *_DIFF_OPTS, "-p", "--src-prefix=a/", "--dst-prefix=b/", *args, env=env
    )
    chunks = _split_patch(patch)
    if len(chunks) != len(raw):  # never seen; degrade to names without lines
        chunks = [b""] * len(raw)
    sizes = _blob_sizes(repo, raw, chunks)
    return [_file_diff(e, c, sizes, max_changed_lines) for e, c in zip(raw, chunks, strict=True)]


def _file_diff(
    entry: _RawEntry, chunk: bytes, sizes: dict[str, int], max_changed_lines: int
) -> FileDiff:
    text, encoding = decode_patch(chunk)
    parsed = parse_patch(text, max_changed_lines=max_changed_lines)
    status = _status(entry.letter, parsed.binary)
    old_size = sizes.get(entry.old_sha) if parsed.binary else None
    new_size = sizes.get(entry.new_sha) if parsed.binary else None
    return FileDiff(
        path=entry.path,
        old_path=entry.old_path,
        status=status,
        additions=parsed.additions,
        deletions=parsed.deletions,
        hunks=parsed.hunks,
        binary=parsed.binary,
        old_size=old_size,
        new_size=new_size,
        summarized=parsed.summarized,
        encoding=encoding,
        old_mode=None if set(entry.old_mode) <= _ZERO_SHA_CHARS else entry.old_mode,
        new_mode=None if set(entry.new_mode) <= _ZERO_SHA_CHARS else entry.new_mode,
    )


def _status(letter: str, binary: bool) -> Status:
    if binary:
        return "binary"
    return _STATUS_OF_LETTER.get(letter, "modified")


def _parse_raw(out: bytes) -> list[_RawEntry]:
    fields = out.split(b"\0")
    entries: list[_RawEntry] = []
    i = 0
    while i < len(fields) and fields[i].startswith(b":"):
        old_mode, new_mode, old_sha, new_sha, status = fields[i][1:].decode().split(" ")
        letter = status[0]
        if letter in "RC":
            old, new = _path(fields[i + 1]), _path(fields[i + 2])
            entries.append(_RawEntry(old_mode, new_mode, old_sha, new_sha, letter, new, old))
            i += 3
        else:
            path = _path(fields[i + 1])
            entries.append(_RawEntry(old_mode, new_mode, old_sha, new_sha, letter, path, None))
            i += 2
    return entries


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _split_patch(patch: bytes) -> list[bytes]:
    if not patch:
        return []
    parts = (b"\n" + patch).split(b"\ndiff --git ")
    return [b"diff --git " + part for part in parts[1:]]


def _blob_sizes(repo: Path, entries: list[_RawEntry], chunks: list[bytes]) -> dict[str, int]:
    wanted = {
        sha
        for entry, chunk in zip(entries, chunks, strict=True)
        if b"Binary files " in chunk or b"GIT binary patch" in chunk
        for sha in (entry.old_sha, entry.new_sha)
        if set(sha) - _ZERO_SHA_CHARS
    }
    if not wanted:
        return {}
    out = _git(repo, "cat-file", "--batch-check", stdin="\n".join(sorted(wanted)) + "\n")
    sizes: dict[str, int] = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            sizes[parts[0]] = int(parts[2])
    return sizes


def _toplevel(repo: Path) -> Path:
    if not Path(repo).is_dir():
        raise GitError(f"{repo} is not a folder")
    return Path(_git(Path(repo), "rev-parse", "--show-toplevel").decode().strip())


def _resolve(repo: Path, rev: str) -> str | None:
    try:
        out = _git(
            repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
    except GitError:
        return None
    return out.decode().strip() or None


def _must_resolve(repo: Path, rev: str) -> str:
    sha = _resolve(repo, rev)
    if sha is None:
        raise GitError(f"git does not know the revision '{rev}'")
    return sha


def _empty_tree(repo: Path) -> str:
    return _git(repo, "hash-object", "-t", "tree", "--stdin", stdin="").decode().strip()


def _git(
    repo: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> bytes:
    cmd = ["git", "-C", str(repo), "-c", "core.quotePath=false", *args]
    full_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.run(
            cmd,
            input=None if stdin is None else stdin.encode(),
            capture_output=True,
            env=full_env,
            timeout=120,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed on this machine") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than two minutes") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        detail = reason[-1] if reason else f"exit code {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {detail.removeprefix('fatal: ')}")
    return proc.stdout
