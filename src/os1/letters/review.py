"""A review: a revised letter's changes, accepted or rejected one by one.

Pure. A :class:`Review` holds the document, its revision and the person's
decisions; :func:`decision` reads what they say back ("yes", "keep 2 and 4",
"reject 3", "accept all", "done", "cancel"). Changes are numbered across the
whole letter; those left undecided when they say "done" are not made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from os1.letters.changes import Change, apply, changes, context
from os1.letters.documents import Document
from os1.mind.consent import answer_in

#: Changes shown at once in a list (the rest on "more"); by voice, one at a time.
SHOWN = 12


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Literal["accept", "reject", "finish", "abandon", "more"]
    numbers: tuple[int, ...] = ()  # () with accept/reject: the next undecided one
    every: bool = False


@dataclass(slots=True)
class Review:
    document: Document
    revised: tuple[str, ...]
    how: str = "proofread"
    found: list[tuple[int, Change]] = field(default_factory=list)  # (paragraph, change)
    decided: dict[int, bool] = field(default_factory=dict)  # change number -> accepted
    id: int = 0  # told apart on a page that shows several

    def __post_init__(self) -> None:
        if not self.found:
            for i, (old, new) in enumerate(zip(self.document.paragraphs, self.revised)):
                self.found += [(i, c) for c in changes(old, new)]

    @property
    def numbers(self) -> list[int]:
        return list(range(1, len(self.found) + 1))

    @property
    def undecided(self) -> list[int]:
        return [n for n in self.numbers if n not in self.decided]

    def decide(self, numbers: Iterable[int], accept: bool) -> list[int]:
        """Decide ``numbers``; those that are not changes are returned."""
        wrong = []
        for n in numbers:
            if 1 <= n <= len(self.found):
                self.decided[n] = accept
            else:
                wrong.append(n)
        return wrong

    def line(self, n: int) -> str:
        para, change = self.found[n - 1]
        return f"{n}. {change.describe()} \u2014 {context(self.document.paragraphs[para], change)}"

    def listing(self, numbers: Sequence[int] | None = None) -> str:
        shown = list(numbers if numbers is not None else self.undecided)[:SHOWN]
        more = len(numbers if numbers is not None else self.undecided) - len(shown)
        lines = [self.line(n) for n in shown]
        if more > 0:
            lines.append(f"(and {more} more: say \u201cmore\u201d to see them)")
        return "\n".join(lines)

    def paragraphs(self) -> list[str]:
        """The letter with exactly the accepted changes."""
        out = []
        for i, old in enumerate(self.document.paragraphs):
            mine = [(n, c) for n, (p, c) in enumerate(self.found, 1) if p == i]
            accepted = {c.n for n, c in mine if self.decided.get(n)}
            out.append(apply(old, [c for _, c in mine], accepted))
        return out

    def view(self, *, saved: str = "", closed: bool = False) -> dict[str, Any]:
        """The review for a page's tracked changes: each paragraph as plain text
        and changes (number, before, after, "open" / "kept" / "rejected")."""
        paragraphs = []
        for i, old in enumerate(self.document.paragraphs):
            parts: list[dict[str, Any]] = []
            at = 0
            for n, (p, c) in enumerate(self.found, 1):
                if p != i:
                    continue
                if c.start > at:
                    parts.append({"text": old[at:c.start]})
                state = "open" if n not in self.decided else "kept" if self.decided[n] else "rejected"
                parts.append({"n": n, "before": c.before, "after": c.after, "state": state})
                at = c.end
            if at < len(old):
                parts.append({"text": old[at:]})
            paragraphs.append(parts)
        return {"id": self.id, "title": self.document.title, "file": self.document.path.name, "how": self.how,
                "paragraphs": paragraphs, "open": not closed, "saved": saved}

    @property
    def accepted(self) -> list[int]:
        return [n for n in self.numbers if self.decided.get(n)]


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "first": 1, "second": 2, "third": 3,
                 "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
_ACCEPT = r"accept|keep|take|yes(?: to)?|approve|use|apply|ok(?:ay)?"
_REJECT = r"reject|drop|skip|no(?: to)?|not|discard|undo|refuse|leave out|don'?t (?:use|take|apply)"
_NUMS = r"(?:(?:changes?|numbers?|#)\s*)?(?:\d+|" + "|".join(_NUMBER_WORDS) + r")(?:\s*(?:,|and|&|-|to)\s*" \
        r"(?:\d+|" + "|".join(_NUMBER_WORDS) + r"))*"
_PART = re.compile(rf"\b(?P<verb>{_ACCEPT}|{_REJECT})\s+(?P<what>all(?: the rest| of them| others)?|the rest|"
                   rf"everything(?: else)?|{_NUMS})\b")


def _numbers(words: str) -> tuple[int, ...]:
    out: list[int] = []
    tokens = re.findall(r"\d+|[a-z]+|-|to", words)
    for i, tok in enumerate(tokens):
        n = int(tok) if tok.isdigit() else _NUMBER_WORDS.get(tok)
        if n is None:
            continue
        if i >= 2 and tokens[i - 1] in ("-", "to") and out:
            out += range(out[-1] + 1, n + 1)
        else:
            out.append(n)
    return tuple(dict.fromkeys(out))


def decision(text: str) -> list[Decision] | None:
    """What the person decided, in order, or None if ``text`` is about something else."""
    said = " ".join(re.sub(r"[^\w'#,&-]", " ", text.lower()).split()).strip(" ,")
    if not said:
        return None
    if re.fullmatch(r"(?:ok(?:ay)? |alright )?(?:done|that's it|that's all|finish(?:ed)?|save(?: it)?|"
                    r"save the (?:new )?version|i'?m done|all done|we'?re done)(?: thanks?(?: you)?)?", said):
        return [Decision("finish")]
    if re.fullmatch(r"(?:cancel|stop|forget it|never ?mind|abandon|throw (?:it|them) away|"
                    r"leave (?:it|the letter) (?:as it is|alone))(?: the review)?(?: please)?", said):
        return [Decision("abandon")]
    if re.fullmatch(r"(?:show me )?(?:more|next ones|the rest|show (?:me )?(?:the )?(?:rest|more|all))", said):
        return [Decision("more")]
    if re.fullmatch(r"(?:accept|keep|take|use) (?:it|that|this one)|good|fine", said):
        return [Decision("accept")]
    if re.fullmatch(r"(?:reject|skip|drop|discard) (?:it|that|this one)|leave it|keep the original", said):
        return [Decision("reject")]
    if (yes := answer_in(text)) is not None:  # a plain yes or no, as to any question os1 asks
        return [Decision("accept" if yes else "reject")]
    found = []
    for m in _PART.finditer(said):
        accept = re.fullmatch(_ACCEPT, m["verb"]) is not None
        what = m["what"]
        if what.startswith(("all", "the rest", "everything")):
            found.append(Decision("accept" if accept else "reject", every=True))
        elif numbers := _numbers(what):
            found.append(Decision("accept" if accept else "reject", numbers))
    return found or None
