"""Diff pictures of real git changes: readable size, pages, odd files.

The changes come from a real repository through the host's `read_changes`, so the
pictures are drawn from what git really prints (binary sizes, renames, Latin-1).
"""

from __future__ import annotations

from cockpit.host.visuals import read_changes
from cockpit.pictures.diff_image import render_file_diff
from cockpit.pictures.highlight import Span
from cockpit.pictures.layout import wrap
from tests.gitrepo import Repo
from tests.pictures_shared import CSS_NEW, PY_NEW, PY_OLD, TS_NEW, TS_OLD, opened, save

FIVE_MB = 5_000_000


def test_python_typescript_css_give_one_valid_picture_each(repo: Repo) -> None:
    """Three small changed files give a PNG each, ≥ 1,500 px wide, under 5 MB, captioned
    (drawn on their own, as `show <file>` sends them)."""
    repo.write("src/app.py", PY_OLD)
    repo.write("src/total.ts", TS_OLD)
    repo.commit()
    repo.write("src/app.py", PY_NEW)
    repo.write("src/total.ts", TS_NEW)
    repo.write("src/style.css", CSS_NEW)

    diffs = read_changes(repo.path)
    images = [image for fd in diffs for image in render_file_diff(fd)]

    assert len(images) == 3
    for image in images:
        picture = opened(image)
        assert picture.format == "PNG"
        assert picture.width >= 1500 and image.width == picture.width
        assert len(image.png) < FIVE_MB
        save(image, image.filename.removesuffix(".png"))
    captions = sorted(image.caption for image in images)
    assert captions[0].startswith("src/app.py +3 −3")
    assert captions[1] == "src/style.css +2 −0, new file"
    assert captions[2].startswith("src/total.ts +1 −1")


def test_added_and_removed_lines_are_green_and_red(repo: Repo) -> None:
    """The picture holds GitHub's green and red line backgrounds."""
    repo.write("app.py", PY_OLD)
    repo.commit()
    repo.write("app.py", PY_NEW)

    (image,) = render_file_diff(read_changes(repo.path)[0])

    colours = {colour for _, colour in opened(image).getcolors(1_000_000) or []}
    assert (0xE6, 0xFF, 0xEC) in colours  # added line
    assert (0xFF, 0xEB, 0xE9) in colours  # removed line


def test_600_line_change_splits_into_numbered_pages(repo: Repo) -> None:
    """A long change becomes several pages captioned (n/m), each of legible height."""
    repo.write("long.py", "".join(f"value_{n} = {n}\n" for n in range(600)))

    images = render_file_diff(read_changes(repo.path)[0])

    pages = len(images)
    assert pages >= 7
    assert [image.caption.rsplit(" ", 1)[-1] for image in images] == [
        f"({n}/{pages})" for n in range(1, pages + 1)
    ]
    assert len({image.filename for image in images}) == pages
    assert all(image.height < 4000 for image in images)
    save(images[1], "page-2")


def test_pages_shrink_until_each_is_under_the_byte_limit(repo: Repo) -> None:
    """When a page would be too big, fewer rows go on each page until every PNG fits."""
    repo.write("long.py", "".join(f"value_{n} = {n} * 31 + 7\n" for n in range(120)))
    fd = read_changes(repo.path)[0]
    normal = render_file_diff(fd)
    limit = max(len(image.png) for image in normal) // 3

    smaller = render_file_diff(fd, max_bytes=limit)

    assert len(smaller) > len(normal)
    assert all(len(image.png) <= limit for image in smaller)


def test_binary_rename_and_deletion_get_a_picture(repo: Repo) -> None:
    """Binary, renamed and deleted files render a picture and say what happened."""
    repo.write("logo.png", b"\x89PNG\x00" + bytes(range(256)) * 48)
    repo.write("old/name.py", "".join(f"x{n} = {n}\n" for n in range(20)))
    repo.write("doomed.css", "a { color: red; }\n")
    repo.commit()
    repo.write("logo.png", b"\x89PNG\x00" + bytes(range(256)) * 56)
    repo.git("mv", "old/name.py", "new_name.py")
    repo.git("rm", "-q", "doomed.css")

    diffs = {fd.path: fd for fd in read_changes(repo.path)}
    captions = {path: render_file_diff(fd)[0].caption for path, fd in diffs.items()}

    assert captions["logo.png"] == "logo.png, binary file, 12 KB → 14 KB"
    assert captions["new_name.py"] == "new_name.py +0 −0, renamed from old/name.py"
    assert captions["doomed.css"] == "doomed.css +0 −1, deleted"
    save(render_file_diff(diffs["logo.png"])[0], "binary")


def test_huge_file_is_one_summary_picture(repo: Repo) -> None:
    """A change of thousands of lines gives one small picture with the counts."""
    repo.write("data.csv", "".join(f"{n},{n * n}\n" for n in range(3000)))

    images = render_file_diff(read_changes(repo.path)[0])

    assert len(images) == 1
    assert images[0].caption == "data.csv +3,000 −0, new file"
    assert opened(images[0]).height < 400


def test_emoji_wide_and_control_characters_do_not_crash(repo: Repo) -> None:
    """Emoji, CJK, tabs, NUL-free control characters and Latin-1 text all render."""
    repo.write("notes.md", "rocket 🚀 日本語\tand\x07bell\n")
    repo.write("legacy.txt", "caf\xe9\n".encode("latin-1"))

    images = [img for fd in read_changes(repo.path) for img in render_file_diff(fd)]

    assert len(images) == 2
    assert all(opened(image).width == 1500 for image in images)


def test_long_lines_wrap_without_losing_text(repo: Repo) -> None:
    """A line longer than the picture is wrapped onto more rows, every character kept."""
    text = "result = compute(" + ", ".join(f"argument_{n}" for n in range(30)) + ")"
    rows = wrap([Span(text)], 80)

    assert len(rows) > 1
    assert all(sum(len(s.text) for s in row) <= 80 for row in rows)
    assert "".join(s.text for row in rows for s in row) == text

    repo.write("short.py", "x = 1\n")
    repo.write("wide.py", text + "\n")
    heights = {fd.path: render_file_diff(fd)[0].height for fd in read_changes(repo.path)}
    assert heights["wide.py"] > heights["short.py"]


def test_narrower_width_is_honoured(repo: Repo) -> None:
    """`width_px` sets the picture width."""
    repo.write("a.py", "a = 1\n")

    (image,) = render_file_diff(read_changes(repo.path)[0], width_px=1800)

    assert opened(image).width == 1800
