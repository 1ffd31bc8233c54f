"""What `render_changes` sends (one stacked picture, an overview), and finding a file."""

from __future__ import annotations

import io

from PIL import Image

from cockpit.host.visuals import match_file, read_changes, render_changes, show_file
from cockpit.host.visuals.overview import HINT
from cockpit.pictures.diff_image import render_file_diff
from cockpit.pictures.fonts import font_for, font_path
from tests.gitrepo import Repo
from tests.pictures_shared import CSS_NEW, PY_NEW, PY_OLD, TS_NEW, TS_OLD, opened, save

PATHS = [
    "src/settings.py",
    "src/app.ts",
    "src/components/Button.tsx",
    "tests/test_settings.py",
    "README.md",
    "styles/main.css",
]


def test_eight_files_give_one_overview(repo: Repo) -> None:
    """More than five changed files give a single overview picture and the 'show' hint."""
    for n in range(8):
        repo.write(f"src/module_{n}.py", "".join(f"v{k} = {k}\n" for k in range(n + 1)))

    bundle = render_changes(repo.path)

    assert len(bundle.images) == 1
    (image,) = bundle.images
    assert image.filename == "diff-overview.png"
    picture = Image.open(io.BytesIO(image.png))
    assert picture.width >= 1500
    assert len(image.png) < 5_000_000
    assert bundle.text == f"8 files changed, +36 −0\n{HINT}"
    assert len(bundle.files) == 8
    with open("/tmp/visuals-overview.png", "wb") as out:
        out.write(image.png)


def test_five_files_give_pictures_per_file(repo: Repo) -> None:
    """Up to five changed files are each drawn, no overview (small ones on one picture)."""
    for n in range(5):
        repo.write(f"f{n}.py", "x = 1\n")

    bundle = render_changes(repo.path)

    (sheet,) = bundle.images
    assert sheet.caption == " · ".join(f"f{n}.py +1 −0, new file" for n in range(5))


def test_no_changes_says_so(repo: Repo) -> None:
    """A clean working tree gives no picture and a sentence."""
    repo.write("a.txt", "a\n")
    repo.commit()

    bundle = render_changes(repo.path)

    assert bundle.images == [] and "No changes" in bundle.text


def test_show_file_finds_a_misspelt_file(repo: Repo) -> None:
    """`show setings` answers with the pictures of src/settings.py."""
    repo.write("src/settings.py", "DEBUG = True\n")
    repo.write("src/other.py", "x = 1\n")

    found = show_file(repo.path, "setings")
    missing = show_file(repo.path, "please tell me about the weather")

    assert [image.caption for image in found.images] == ["src/settings.py +1 −0, new file"]
    assert missing.images == [] and "No changed file matches" in missing.text


def test_match_file_is_forgiving() -> None:
    """Case, missing extension, typos, base names and ./ prefixes still find the file."""
    assert match_file("setings", PATHS) == "src/settings.py"
    assert match_file("setings.py", PATHS) == "src/settings.py"
    assert match_file("SETTINGS.PY", PATHS) == "src/settings.py"
    assert match_file("./src/app.ts", PATHS) == "src/app.ts"
    assert match_file("app", PATHS) == "src/app.ts"
    assert match_file("button", PATHS) == "src/components/Button.tsx"
    assert match_file("`main.css`", PATHS) == "styles/main.css"
    assert match_file("test_settings", PATHS) == "tests/test_settings.py"


def test_match_file_rejects_what_is_not_close() -> None:
    """Sentences and unrelated words match nothing."""
    assert match_file("can you explain what you changed in the login flow", PATHS) is None
    assert match_file("database", PATHS) is None
    assert match_file("", PATHS) is None
    assert match_file("settings", []) is None


def test_small_diffs_share_one_picture_whose_caption_names_every_file(repo: Repo) -> None:
    """`render_changes` of three small files: one picture as tall as the three pages
    together, its caption naming each file with its counts."""
    repo.write("src/app.py", PY_OLD)
    repo.write("src/total.ts", TS_OLD)
    repo.commit()
    repo.write("src/app.py", PY_NEW)
    repo.write("src/total.ts", TS_NEW)
    repo.write("src/style.css", CSS_NEW)
    pages = [image for fd in read_changes(repo.path) for image in render_file_diff(fd)]

    bundle = render_changes(repo.path)

    (sheet,) = bundle.images
    assert opened(sheet).height > sum(p.height for p in pages)
    for page in pages:
        assert page.caption in sheet.caption
    save(sheet, "stacked")
    assert bundle.text.startswith("3 files changed, +6 −4")


def test_emoji_and_cjk_are_drawn_from_the_fallback_fonts(repo: Repo) -> None:
    """A file with ✅, 🥚 and 中文 is drawn with Noto CJK and Noto Color Emoji (found by
    fontconfig), the emoji in colour, instead of boxes."""
    mono = font_path("mono")
    assert "CJK" in (font_for("中", mono) or "") and "Emoji" in (font_for("🥚", mono) or "")
    assert font_for("a", mono) is None and font_for("✅", mono) == font_for("🥚", mono)
    repo.write("eggs.py", "done = '✅'\negg = '🥚'\nname = '中文'\n")
    (image,) = render_changes(repo.path).images
    picture = opened(image).convert("RGB")
    save(image, "emoji-cjk")
    colours = picture.getcolors(maxcolors=1 << 20) or []
    egg = sum(n for n, (r, g, b) in colours if r > 200 and 110 < g < 200 and b < 140)
    check = sum(n for n, (r, g, b) in colours if g > 150 and r < 140 and b < 120)
    assert egg > 100 and check > 100  # the egg's orange, the check mark's green
