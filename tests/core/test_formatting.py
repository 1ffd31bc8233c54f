"""WhatsApp formatting: Markdown conversion and chunking, by example and by property."""

from __future__ import annotations

import re

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.core.chunking import utf16_length
from cockpit.core.fences import fence_after
from cockpit.core.formatting import (
    WHATSAPP_BODY_LIMIT,
    chunk_bodies,
    chunk_message,
    format_for_whatsapp,
    markdown_to_whatsapp,
    unchunk,
)

FAST = settings(max_examples=200, deadline=None)
MARKER = re.compile(r"\((\d+)/(\d+)\)")


# ---------------------------------------------------------------- helpers


def assert_whitespace_split(original: str, bodies: list[str]) -> None:
    """Fail unless original == w0 + bodies[0] + w1 + ... + bodies[-1] + wn, every w
    whitespace: nothing lost, added or reordered except whitespace at split points."""
    pos = 0
    for body in bodies:
        assert body.strip(), "a chunk carries no text"
        found = original.find(body, pos)
        assert found >= 0, f"chunk text not found in order: {body[:60]!r}"
        assert original[pos:found].strip() == "", f"text lost before {body[:60]!r}"
        pos = found + len(body)
    assert original[pos:].strip() == ""


def without_marker(chunk: str, chunks: list[str]) -> str:
    return chunk.split("\n", 1)[1] if len(chunks) > 1 else chunk


def assert_chunks_valid(text: str, chunks: list[str], limit: int) -> None:
    """Every chunk fits (in UTF-16 units, as Twilio counts), is numbered 1..n when n > 1,
    no split breaks a grapheme cluster, and the texts give back `text`."""
    assert all(utf16_length(chunk) <= limit for chunk in chunks)
    clusters = set(regex.findall(r"\X", text))
    for body in chunk_bodies(chunks):
        assert all(c in clusters for c in regex.findall(r"\X", body)), "a cluster was split"
    if len(chunks) > 1:
        numbers = [MARKER.fullmatch(c.split("\n", 1)[0]) for c in chunks]
        assert all(numbers), "a chunk lacks its (k/n) line"
        assert [(int(m[1]), int(m[2])) for m in numbers if m] == [
            (k, len(chunks)) for k in range(1, len(chunks) + 1)
        ]
    assert_whitespace_split(text, chunk_bodies(chunks))


def assert_fences_balanced(chunks: list[str]) -> None:
    """Each chunk read alone closes every code block it opens (an even count of ``` lines)."""
    for chunk in chunks:
        lines = without_marker(chunk, chunks).split("\n")
        assert fence_after(lines) is None, chunk
        assert sum(line.lstrip().startswith("```") for line in lines) % 2 == 0, chunk


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


def is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(word == candidate for candidate in it) for word in needle)


# ---------------------------------------------------------------- strategies

PLAIN_WORDS = ["the", "cockpit", "relay", "café", "naïve", "日本語", "Привет", "x", "42"]
ODD_WORDS = [
    "test_name",
    "🚀",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🇫🇷",
    "e\u0301",
    "(ok)",
    "it's",
    "v1.2",
]
WORDS = st.sampled_from([*PLAIN_WORDS, *ODD_WORDS])


@st.composite
def inline_token(draw: st.DrawFn) -> str:
    word = draw(WORDS)
    style = draw(st.sampled_from(["", "", "", "**", "*", "_", "~~", "`", "link", "url"]))
    if style == "link":
        return f"[{word} {draw(WORDS)}](https://example.com/a_b/{draw(st.integers(0, 99))})"
    if style == "url":
        return f"https://example.com/__init__/{draw(st.integers(0, 99))}"
    return f"{style}{word}{style[::-1]}"


def sentence(min_size: int = 1, max_size: int = 25) -> st.SearchStrategy[str]:
    return st.lists(inline_token(), min_size=min_size, max_size=max_size).map(" ".join)


CODE_LINES = st.sampled_from(
    [
        *["def f(x):", "    return x * 2", "# not a heading", "**kwargs and __init__"],
        *["- not a list", "| a | b |", "", "", "    if x:", "        print('🚀 é')"],
        *["[a](b) ~~c~~", "x = 1"],
    ]
)


@st.composite
def block(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["para", "para", "heading", "list", "code", "long", "table"]))
    if kind == "para":
        return "\n".join(draw(st.lists(sentence(), min_size=1, max_size=4)))
    if kind == "heading":
        return "#" * draw(st.integers(1, 6)) + " " + draw(sentence(1, 6))
    if kind == "list":
        items = draw(st.lists(st.tuples(st.sampled_from(["- ", "* ", "  - ", "1. "]), sentence())))
        return "\n".join(mark + text for mark, text in items) or "- one"
    if kind == "code":
        lang = draw(st.sampled_from(["", "python", "bash", "diff"]))
        body = draw(st.lists(CODE_LINES, max_size=60))
        return "\n".join([f"```{lang}", *body, "```"])
    if kind == "long":
        return draw(st.sampled_from(["x", "é", "🚀", "ab"])) * draw(st.integers(50, 2500))
    rows = draw(st.lists(sentence(1, 3), min_size=1, max_size=5))
    return "\n".join(["| h1 | h2 |", "|---|---|", *(f"| {r} | {r} |" for r in rows)])


MARKDOWN = st.lists(block(), min_size=1, max_size=12).flatmap(
    lambda blocks: st.sampled_from(["\n\n", "\n"]).map(lambda sep: sep.join(blocks))
)
LIMITS = st.sampled_from([200, 257, 400, 1000, WHATSAPP_BODY_LIMIT])
ANY_TEXT = st.lists(
    st.sampled_from(
        [*"ab `~\n\t#*|\r", "🚀", "e\u0301", "👨‍👩‍👧", "🇫🇷", "```", "~~~", "  ", "\n\n", "w" * 300]
    ),
    max_size=600,
).map("".join)


# ---------------------------------------------------------------- conversion examples


@pytest.mark.parametrize(
    ("markdown", "whatsapp"),
    [
        ("**bold** and __bold__", "*bold* and *bold*"),
        ("*italic* and _italic_", "_italic_ and _italic_"),
        ("~~gone~~", "~gone~"),
        ("***both***", "*_both_*"),
        ("_italic with **bold** inside_", "_italic with *bold* inside_"),
        ("snake_case_name and 2*3*4 stay", "snake_case_name and 2*3*4 stay"),
        (r"\*not italic\*", "*not italic*"),
    ],
)
def test_emphasis_becomes_whatsapp_emphasis(markdown: str, whatsapp: str) -> None:
    """Markdown bold, italic and strike-through show as WhatsApp's *bold*, _italic_, ~strike~."""
    assert markdown_to_whatsapp(markdown) == whatsapp


@pytest.mark.parametrize(
    ("markdown", "whatsapp"),
    [
        ("# Title", "*Title*"),
        ("###### Deep ##", "*Deep*"),
        ("## The **real** `fix`", "*The real `fix`*"),
        ("#hashtag", "#hashtag"),
    ],
)
def test_headings_become_bold_lines(markdown: str, whatsapp: str) -> None:
    """A heading of any level is shown as one bold line, without nested bold."""
    assert markdown_to_whatsapp(markdown) == whatsapp


@pytest.mark.parametrize(
    ("markdown", "whatsapp"),
    [
        ("see [the docs](https://x.dev/a_b_c)", "see the docs (https://x.dev/a_b_c)"),
        ("[https://x.dev](https://x.dev)", "https://x.dev"),
        ("![diff of main.py](https://x.dev/d.png)", "diff of main.py (https://x.dev/d.png)"),
        ("<https://x.dev/__init__>", "https://x.dev/__init__"),
        ("open https://x.dev/__init__.py now", "open https://x.dev/__init__.py now"),
        ("[**bold** link](https://x.dev)", "*bold* link (https://x.dev)"),
    ],
)
def test_links_show_text_and_url(markdown: str, whatsapp: str) -> None:
    """Links and images become `text (url)`, and URLs are never mangled by emphasis rules."""
    assert markdown_to_whatsapp(markdown) == whatsapp


def test_emphasis_across_a_line_break_is_styled_per_line() -> None:
    """Bold that spans a soft line break is bold on both lines, as WhatsApp styles one line."""
    assert markdown_to_whatsapp("answers **429 Too\nMany** now\n\n**a\n\nb**") == (
        "answers *429 Too*\n*Many* now\n\n**a\n\nb**"
    )


def test_lists_keep_shape_with_bullets() -> None:
    """Bullets become • with their indentation kept; numbered lists are kept as written."""
    markdown = "- one\n  * two **b**\n+ three\n1. first\n2) second"
    assert markdown_to_whatsapp(markdown) == "• one\n  • two *b*\n• three\n1. first\n2) second"


def test_inline_code_is_untouched() -> None:
    """Inside `code` spans nothing is rewritten, since WhatsApp shows them as code."""
    assert markdown_to_whatsapp("run `**kwargs` and ``a `_b_` c``") == (
        "run `**kwargs` and ``a `_b_` c``"
    )


def test_code_fences_are_copied_verbatim() -> None:
    """Markdown inside a ``` block is left exactly as written, info string included."""
    code = "```python\n# comment\ndef f(**kwargs):\n    return [a](b) ~~x~~ __init__\n- item\n```"
    assert markdown_to_whatsapp(f"# Code\n{code}\n**after**") == f"*Code*\n{code}\n*after*"


def test_unclosed_fence_is_closed() -> None:
    """A code block the author forgot to close is closed, so WhatsApp still renders it."""
    assert markdown_to_whatsapp("text\n```sh\nls **\n\n") == "text\n```sh\nls **\n```\n\n"


def test_horizontal_rules_become_a_short_line() -> None:
    """---, *** and _ _ _ all become one short line."""
    assert markdown_to_whatsapp("a\n\n---\n\n* * *\n___") == "a\n\n───\n\n───\n───"


def test_tables_become_dotted_rows() -> None:
    """A table shows as one line per row, cells joined by ·, header bold, rule row gone."""
    table = "| Name | Size |\n|:-----|-----:|\n| `a.py` | **2** kB |\n| b\\|c | |"
    assert markdown_to_whatsapp(table) == "*Name · Size*\n`a.py` · *2* kB\nb|c · —"


def test_text_with_pipes_is_not_a_table() -> None:
    """A line with a pipe but no |---| rule under it is left as text."""
    assert markdown_to_whatsapp("a | b\nc | d") == "a | b\nc | d"


@FAST
@given(MARKDOWN)
def test_conversion_never_drops_a_word(markdown: str) -> None:
    """Every word of the Markdown appears in the WhatsApp text, in the same order."""
    assert is_subsequence(words(markdown), words(markdown_to_whatsapp(markdown)))


@FAST
@given(st.lists(CODE_LINES, max_size=30), st.sampled_from(["", "python", "js"]))
def test_fence_content_survives_conversion(body: list[str], lang: str) -> None:
    """Whatever is inside a code fence comes out character for character."""
    code = "\n".join([f"```{lang}", *body, "```"])
    assert markdown_to_whatsapp(f"**a**\n{code}\n_b_") == f"*a*\n{code}\n_b_"


# ---------------------------------------------------------------- chunking examples


def test_blank_text_gives_no_chunk() -> None:
    """Empty or whitespace-only text gives no message at all."""
    assert chunk_message("") == []
    assert chunk_message(" \n\t\n ") == []


def test_short_text_is_one_unnumbered_chunk() -> None:
    """Text within the limit is sent as is, trimmed, without a (1/1) marker."""
    assert chunk_message("\n\nhello *world*\n\n") == ["hello *world*"]
    assert chunk_message("x" * 1600) == ["x" * 1600]


def test_tiny_limits_are_refused() -> None:
    """A limit too small to hold a reopened code fence is a programming error."""
    with pytest.raises(ValueError, match="at least"):
        chunk_message("text", limit=50)


def test_paragraph_boundaries_are_preferred() -> None:
    """Paragraphs are kept whole when they fit, even if a chunk could hold more."""
    paragraphs = [" ".join([f"p{n}w{i}" for i in range(40)]) for n in range(4)]
    chunks = chunk_message("\n\n".join(paragraphs), limit=600)
    assert [c.split("\n", 1)[1] for c in chunks] == [
        f"{paragraphs[0]}\n\n{paragraphs[1]}",
        f"{paragraphs[2]}\n\n{paragraphs[3]}",
    ]


def test_heading_stays_with_its_section() -> None:
    """A chunk does not end with a heading: the heading moves to the chunk it introduces."""
    intro = " ".join(["intro"] * 60)
    section = " ".join(["body"] * 60)
    chunks = chunk_message(f"{intro}\n\n*Section*\n\n{section}", limit=400)
    assert chunk_bodies(chunks) == [intro, f"*Section*\n\n{section}"]


def test_lines_before_words() -> None:
    """Without blank lines, a chunk ends at a line break rather than mid-line."""
    lines = [" ".join(["word"] * 15) for _ in range(20)]
    chunks = chunk_message("\n".join(lines), limit=400)
    assert len(chunks) > 1
    assert all(set(chunk_bodies(chunks)[i].split("\n")) == {lines[0]} for i in range(len(chunks)))


def test_giant_word_is_hard_split_without_breaking_emoji() -> None:
    """A word longer than a chunk is cut, but never inside an emoji sequence."""
    family = "👨‍👩‍👧"
    text = family * 300
    chunks = chunk_message(text, limit=500)
    assert_chunks_valid(text, chunks, 500)
    assert all(body.startswith(family) for body in chunk_bodies(chunks))


def test_emoji_count_as_twilio_counts_them() -> None:
    """1,000 emoji, or 1,599 letters and one emoji, are split so Twilio takes every chunk."""
    for text in ("😀" * 1000, "x" * 1599 + "😀"):
        chunks = chunk_message(text)
        assert len(chunks) == 2
        assert_chunks_valid(text, chunks, WHATSAPP_BODY_LIMIT)


ENGLAND = "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"


@pytest.mark.parametrize("symbol", ["e\u0301\u0302", "🇫🇷", ENGLAND])
def test_accented_letters_and_flags_stay_whole(symbol: str) -> None:
    """A word of letters with combining accents, or of flags, is cut between symbols."""
    text = symbol * 400
    chunks = chunk_message(text, limit=300)
    assert_chunks_valid(text, chunks, 300)
    assert all(body.startswith(symbol) for body in chunk_bodies(chunks))


def test_a_symbol_longer_than_a_chunk_is_still_sent() -> None:
    """One letter with 500 combining marks is cut inside (nothing else fits), losing nothing."""
    text = "a" + "\u0301" * 500 + " end"
    chunks = chunk_message(text, limit=200)
    assert all(utf16_length(chunk) <= 200 for chunk in chunks)
    assert "".join(chunk_bodies(chunks)).replace(" ", "") == text.replace(" ", "")


def test_many_chunks_are_numbered_with_two_digits() -> None:
    """With ten or more chunks the numbering still fits within the limit, 1..n in order."""
    text = "\n\n".join(" ".join(["lorem"] * 30) for _ in range(40))
    chunks = chunk_message(text, limit=250)
    assert len(chunks) >= 10
    assert chunks[9].startswith(f"(10/{len(chunks)})\n")
    assert_chunks_valid(text, chunks, 250)


def test_code_block_split_is_closed_and_reopened() -> None:
    """A code block cut in two is closed at the end of one chunk and reopened, with its
    language, at the start of the next; unchunk gives the text back exactly."""
    code = "\n".join(f"    value_{i} = compute({i})  # step {i}" for i in range(40))
    text = f"```python\n{code}\n```"
    chunks = chunk_message(text, limit=700)
    assert len(chunks) > 1
    assert all(c.split("\n")[1] == "```python" for c in chunks)
    assert all(c.endswith("\n```") for c in chunks)
    assert_fences_balanced(chunks)
    assert unchunk(chunks) == text


def test_tilde_fence_in_a_list_item_is_reopened_with_its_indentation() -> None:
    """A ~~~ block indented under a list item is reopened as written, code indentation kept."""
    code = "\n".join(f"       step_{i}()" for i in range(30))
    text = f"1. Run this:\n   ~~~bash\n{code}\n   ~~~"
    chunks = chunk_message(text, limit=250)
    assert_chunks_valid(text, chunks, 250)
    assert all(c.split("\n")[1] == "   ~~~bash" for c in chunks[1:])
    assert all(c.split("\n")[2].startswith("       step_") for c in chunks[1:])
    assert all(c.endswith("\n   ~~~") for c in chunks)


def test_text_made_only_of_fence_lines_still_splits_within_the_limit() -> None:
    """Even a pathological run of bare fence lines is split within the limit, losslessly."""
    text = "```\n" * 300
    chunks = chunk_message(text, limit=200)
    assert_chunks_valid(text, chunks, 200)


def test_split_between_two_code_blocks_is_not_mistaken_for_an_added_pair() -> None:
    """Two adjacent code blocks split between each other still unchunk exactly."""
    block = "```\n" + "\n".join(["print('a')"] * 20) + "\n```"
    text = f"{block}\n{block}\n{block}"
    for limit in (250, 260, 300):
        chunks = chunk_message(text, limit=limit)
        assert_chunks_valid(text, chunks, limit)
        assert_fences_balanced(chunks)


REALISTIC_ANSWER = """\
## What I changed

I found the bug in `cockpit/relay/sender.py`: when Twilio answers **429 Too Many
Requests** the sender retried *immediately*, which made things worse. I added an
exponential backoff with jitter and a cap, and made the retry count configurable.
See [Twilio's docs](https://www.twilio.com/docs/usage/twilios-response) for the codes.

Why it matters: during the load test yesterday, about 3% of outbound messages hit the
rate limit at the same second, and every one of them was retried within a millisecond,
so the whole burst was rejected again. With backoff the retries spread over a few
seconds and _all_ of them went through. Nothing else in the sender changes: ordering
per conversation is still guaranteed, and idempotency keys are untouched.

### The new helper

```python
import random


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    \"\"\"Seconds to wait before retry number `attempt` (1-based), **with** jitter.\"\"\"
    # Full jitter: a random delay between 0 and the exponential ceiling.
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)


def should_retry(status: int, attempt: int, max_attempts: int = 5) -> bool:
    \"\"\"True for 429 and 5xx responses while attempts remain.\"\"\"
    if attempt >= max_attempts:
        return False
    return status == 429 or 500 <= status < 600


class RetryPolicy:
    \"\"\"Keeps __slots__ small; *not* markdown: [a](b) ~~c~~ __d__\"\"\"

    __slots__ = ("max_attempts", "base", "cap")

    def __init__(self, max_attempts: int = 5, base: float = 0.5, cap: float = 30.0):
        self.max_attempts = max_attempts
        self.base = base
        self.cap = cap

    def delays(self) -> list[float]:
        return [backoff(n, base=self.base, cap=self.cap) for n in range(1, self.max_attempts)]

    def total_budget(self) -> float:
        \"\"\"The longest time all retries together may take, in seconds.\"\"\"
        return sum(min(self.cap, self.base * 2**n) for n in range(self.max_attempts - 1))

    def describe(self) -> str:
        return f"{self.max_attempts} attempts, base {self.base}s, cap {self.cap}s"

    def with_attempts(self, max_attempts: int) -> RetryPolicy:
        return RetryPolicy(max_attempts=max_attempts, base=self.base, cap=self.cap)

    def __repr__(self) -> str:
        return f"RetryPolicy({self.max_attempts!r}, base={self.base!r}, cap={self.cap!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetryPolicy):
            return NotImplemented
        return (self.max_attempts, self.base, self.cap) == (
            other.max_attempts,
            other.base,
            other.cap,
        )
```

### Tests

- `test_backoff_is_capped` checks the ceiling never exceeds **30 s**;
- `test_should_retry` covers 429, 500, 503 and 404;
- all 212 tests pass ✅ in 4.1 s.

| file | lines |
|---|---|
| sender.py | +48 −12 |
| test_sender.py | +77 |

---

Want me to also make the jitter deterministic in tests (seeded `random.Random`)? 🤔 \
That would let us assert exact delays instead of ranges, at the cost of a tiny API change.
"""


def test_realistic_answer_with_a_python_block_across_the_boundary() -> None:
    """A 3,000-character answer is split into sendable chunks whose code block is cut
    cleanly, keeps its Markdown-looking content, and reads back in full."""
    assert len(REALISTIC_ANSWER) > 3000
    chunks = format_for_whatsapp(REALISTIC_ANSWER)
    converted = markdown_to_whatsapp(REALISTIC_ANSWER)
    assert len(chunks) == 3
    assert_chunks_valid(converted, chunks, WHATSAPP_BODY_LIMIT)
    assert_fences_balanced(chunks)
    first, second, third = chunks
    assert first.startswith("(1/3)\n*What I changed*\n")
    assert first.endswith("idempotency keys are untouched.")
    assert second.startswith("(2/3)\n*The new helper*\n\n```python\nimport random\n")
    assert second.endswith("\n```") and third.startswith("(3/3)\n```python\n    def __repr__")
    assert "Keeps __slots__ small; *not* markdown: [a](b) ~~c~~ __d__" in second
    assert "*Tests*\n\n• `test_backoff_is_capped` checks the ceiling never exceeds *30 s*;" in (
        third
    )
    assert "*file · lines*\nsender.py · +48 −12" in third
    assert is_subsequence(words(REALISTIC_ANSWER), words(unchunk(chunks)))


# ---------------------------------------------------------------- chunking properties


@FAST
@given(MARKDOWN, LIMITS)
def test_markdown_chunks_fit_are_numbered_balanced_and_lossless(text: str, limit: int) -> None:
    """For realistic Markdown every chunk fits the limit, is numbered 1..n, renders its
    code blocks closed, and the chunks give back the text exactly up to split whitespace."""
    chunks = chunk_message(text, limit)
    assert_chunks_valid(text, chunks, limit)
    assert_fences_balanced(chunks)


@FAST
@given(MARKDOWN, LIMITS)
def test_formatted_markdown_chunks_are_valid(markdown: str, limit: int) -> None:
    """format_for_whatsapp gives fitting, numbered, balanced chunks of the converted text."""
    chunks = format_for_whatsapp(markdown, limit)
    assert_chunks_valid(markdown_to_whatsapp(markdown), chunks, limit)
    assert_fences_balanced(chunks)


@FAST
@given(ANY_TEXT, LIMITS)
def test_any_text_chunks_fit_and_are_lossless(text: str, limit: int) -> None:
    """Even odd text (stray fences, tabs, emoji) is split within the limit and losslessly."""
    chunks = chunk_message(text, limit)
    assert_chunks_valid(text, chunks, limit)
    assert (chunks == []) == (text.strip() == "")
