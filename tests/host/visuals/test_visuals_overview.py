"""The overview picture for many files, and finding a file from a loose name."""

from __future__ import annotations

import io

from PIL import Image

from cockpit.host.visuals import match_file, render_changes, show_file
from cockpit.host.visuals.overview import HINT
from tests.host.visuals.conftest import Repo

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
