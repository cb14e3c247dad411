"""Changes between a text and its revision, each to accept or reject alone.

Pure: ``changes(old, new)`` finds the edits word by word (difflib on words,
spaces and punctuation), so each is a whole word or mark a person can judge
alone ("recieved" -> "received", a comma made a semicolon, "has" removed);
``apply(old, changes, accepted)`` makes the text with exactly the accepted
ones. With all accepted it is ``new``; with none, ``old``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|\s+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Change:
    """Replace ``old[start:end]`` (``before``) with ``after``. ``n`` counts from 1."""

    n: int
    start: int
    end: int
    before: str
    after: str

    def describe(self) -> str:
        before, after = self.before.strip(), self.after.strip()
        if not before:
            return f"add \u201c{after}\u201d"
        if not after:
            return f"remove \u201c{before}\u201d"
        return f"\u201c{before}\u201d \u2192 \u201c{after}\u201d"


def _tokens(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _TOKEN.finditer(text)]


def changes(old: str, new: str) -> list[Change]:
    a, b = _tokens(old), _tokens(new)
    words_a = [old[s:e] for s, e in a]
    words_b = [new[s:e] for s, e in b]
    spans: list[list[int]] = []  # [i1, i2, j1, j2] in tokens
    matcher = difflib.SequenceMatcher(None, words_a, words_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            spans.append([i1, i2, j1, j2])
    found = []
    for i1, i2, j1, j2 in spans:
        start = a[i1][0] if i1 < len(a) else len(old)
        end = a[i2 - 1][1] if i2 > i1 else start
        b_start = b[j1][0] if j1 < len(b) else len(new)
        b_end = b[j2 - 1][1] if j2 > j1 else b_start
        found.append((start, end, new[b_start:b_end]))
    return [Change(n, s, e, old[s:e], after) for n, (s, e, after) in enumerate(found, 1)]


def apply(old: str, found: Sequence[Change], accepted: Collection[int]) -> str:
    """``old`` with the changes numbered in ``accepted`` made, the rest not."""
    out, at = [], 0
    for c in sorted(found, key=lambda c: c.start):
        if c.n not in accepted:
            continue
        out += [old[at:c.start], c.after]
        at = c.end
    out.append(old[at:])
    return "".join(out)


def context(old: str, change: Change, chars: int = 30) -> str:
    """The change in its place: "...went to [has went -> went] the shop..."."""
    left = old[max(0, change.start - chars):change.start]
    right = old[change.end:change.end + chars]
    left = ("\u2026" + left.split(" ", 1)[-1]) if change.start > chars else left
    right = (right.rsplit(" ", 1)[0] + "\u2026") if change.end + chars < len(old) else right
    before, after = change.before.strip() or "+", change.after.strip() or "\u2212"
    return f"{left}[{before} \u2192 {after}]{right}"
