"""Find the changed file a person meant when they typed its name on a phone.

Tried in order, the first tier with a hit wins (ties go to the shortest path):
exact path; path ending with the query; same file name; same name without
extension; query contained in the path; then a close spelling (difflib ratio
of at least 0.75 against the file name, its stem or the whole path). A query
that reads like a sentence (several words, no path characters) matches nothing.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable, Sequence

_MIN_RATIO = 0.75
_STRIP = " \t\n'\"`*_“”‘’<>"


def match_file(query: str, paths: list[str]) -> str | None:
    """The path in `paths` that `query` most likely names, or None when nothing is close."""
    q = _normalise(query)
    if not q or not paths:
        return None
    tiers: tuple[Callable[[str], bool], ...] = (
        lambda p: p.lower() == q,
        lambda p: p.lower().endswith("/" + q),
        lambda p: _base(p) == q,
        lambda p: _stem(p) == q,
        lambda p: len(q) >= 3 and q in p.lower(),
    )
    for test in tiers:
        hits = [p for p in paths if test(p)]
        if hits:
            return min(hits, key=lambda p: (len(p), p))
    if len(q.split()) > 2:
        return None
    return _closest(q, paths)


def _closest(q: str, paths: Sequence[str]) -> str | None:
    best: tuple[float, int, str] | None = None
    for path in paths:
        targets = (_base(path), _stem(path), path.lower())
        ratio = max(difflib.SequenceMatcher(None, q, t).ratio() for t in targets)
        key = (ratio, -len(path), path)
        if ratio >= _MIN_RATIO and (best is None or key > best):
            best = key
    return best[2] if best else None


def _normalise(query: str) -> str:
    q = query.strip(_STRIP).lower().replace("\\", "/")
    while q.startswith("./"):
        q = q[2:]
    return q.strip("/")


def _base(path: str) -> str:
    return posixpath.basename(path).lower()


def _stem(path: str) -> str:
    base = _base(path)
    return base.split(".", 1)[0] if not base.startswith(".") else base
