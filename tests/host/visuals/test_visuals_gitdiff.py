"""Reading changes from real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.host.visuals import GitError, read_changes
from cockpit.pictures.patch import FileDiff
from tests.gitrepo import Repo


def by_path(diffs: list[FileDiff]) -> dict[str, FileDiff]:
    return {fd.path: fd for fd in diffs}


def test_working_tree_includes_staged_unstaged_and_untracked(repo: Repo) -> None:
    """Unstaged edits, staged and untracked files all show; git's own index is untouched."""
    repo.write("app.py", "a = 1\nb = 2\nc = 3\n")
    repo.write("gone.txt", "bye\n")
    repo.commit()
    repo.write("app.py", "a = 1\nb = 20\nc = 3\nd = 4\n")
    repo.write("staged.py", "x = 1\n")
    repo.git("add", "staged.py")
    repo.write("untracked.css", "body { margin: 0; }\n")
    (repo.path / "gone.txt").unlink()
    status_before = repo.git("status", "--porcelain")

    diffs = by_path(read_changes(repo.path))

    assert set(diffs) == {"app.py", "staged.py", "untracked.css", "gone.txt"}
    assert diffs["app.py"].status == "modified"
    assert (diffs["app.py"].additions, diffs["app.py"].deletions) == (2, 1)
    assert diffs["staged.py"].status == "added"
    assert diffs["untracked.css"].status == "added"
    assert diffs["gone.txt"].status == "deleted"
    assert repo.git("status", "--porcelain") == status_before


def test_hunk_lines_carry_old_and_new_numbers(repo: Repo) -> None:
    """Each line of a hunk knows its old and new line numbers and its kind."""
    repo.write("f.txt", "".join(f"line {n}\n" for n in range(1, 21)))
    repo.commit()
    repo.write("f.txt", "".join(f"line {n}\n" for n in range(1, 21)).replace("line 10\n", "ten\n"))

    (fd,) = read_changes(repo.path)

    (hunk,) = fd.hunks
    assert (hunk.old_start, hunk.new_start) == (7, 7)
    changed = [(line.kind, line.text, line.old_no, line.new_no) for line in hunk.lines]
    assert ("-", "line 10", 10, None) in changed
    assert ("+", "ten", None, 10) in changed
    assert (" ", "line 11", 11, 11) in changed


def test_rename_keeps_old_path(repo: Repo) -> None:
    """A moved file is one 'renamed' entry with its old path, not a delete plus an add."""
    repo.write("old_name.py", "".join(f"value_{n} = {n}\n" for n in range(30)))
    repo.commit()
    (repo.path / "pkg").mkdir()
    repo.git("mv", "old_name.py", "pkg/new_name.py")

    (fd,) = read_changes(repo.path)

    assert (fd.path, fd.old_path, fd.status) == ("pkg/new_name.py", "old_name.py", "renamed")


def test_binary_file_reports_sizes(repo: Repo) -> None:
    """A changed binary file is marked binary with its old and new sizes, no lines."""
    repo.write("logo.png", b"\x89PNG\x00" + bytes(range(256)) * 40)
    repo.commit()
    repo.write("logo.png", b"\x89PNG\x00" + bytes(range(256)) * 50)

    (fd,) = read_changes(repo.path)

    assert fd.status == "binary" and fd.binary
    assert (fd.old_size, fd.new_size) == (5 + 256 * 40, 5 + 256 * 50)
    assert fd.hunks == ()


def test_non_utf8_content_is_decoded(repo: Repo) -> None:
    """A Latin-1 file's lines come out readable instead of failing."""
    repo.write("legacy.txt", "caf\xe9 cr\xe8me\n".encode("latin-1"))

    (fd,) = read_changes(repo.path)

    assert fd.encoding == "latin-1"
    assert fd.hunks[0].lines[0].text == "café crème"


def test_huge_change_is_summarised(repo: Repo) -> None:
    """More than 2,000 changed lines keep their counts but no lines."""
    repo.write("big.txt", "".join(f"row {n}\n" for n in range(2500)))

    (fd,) = read_changes(repo.path)

    assert fd.summarized and fd.hunks == ()
    assert fd.additions == 2500


def test_range_and_single_commit(repo: Repo) -> None:
    """`a..b` gives the changes between two commits, a lone commit its own changes."""
    repo.write("one.txt", "1\n")
    first = repo.commit("one")
    repo.write("two.txt", "2\n")
    repo.commit("two")
    repo.write("three.txt", "3\n")
    third = repo.commit("three")

    assert [fd.path for fd in read_changes(repo.path, f"{first}..{third}")] == [
        "three.txt",
        "two.txt",
    ]
    assert [fd.path for fd in read_changes(repo.path, third)] == ["three.txt"]
    assert [fd.path for fd in read_changes(repo.path, first)] == ["one.txt"]
    assert read_changes(repo.path) == []


def test_repository_without_commits(repo: Repo) -> None:
    """In a new repository every file is new."""
    repo.write("README.md", "# hi\n")

    (fd,) = read_changes(repo.path)

    assert fd.status == "added" and fd.additions == 1


def test_git_errors_are_plain_sentences(repo: Repo, tmp_path: Path) -> None:
    """Not a repository, or an unknown revision, raise GitError with a readable message."""
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError, match="not a git repository"):
        read_changes(plain)
    repo.write("a.txt", "a\n")
    repo.commit()
    with pytest.raises(GitError, match="does not know the revision 'nope'"):
        read_changes(repo.path, "nope..HEAD")
    with pytest.raises(GitError, match="not a revision"):
        read_changes(repo.path, "--output=/tmp/x")
