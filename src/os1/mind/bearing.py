"""What os1 knows that bears on what the person just said.

The small models leave a fact in the system prompt unused even when it is the
point of the message: told "I miss my sister" with "The user's sister Ana moved
to Lisbon last year" among what they know, the 1.5B named neither Ana nor Lisbon
in 3 of 3 replies (`os1 bench character`, sister-memory). Restated beside the
person's words, where small models look, it is used. The facts are chosen by
plain signals, without a model: a word they share ("sister"), the
topic of a question about the person's own life ("what I do for work" → the
work fact), or a day they name that a plan falls on ("this weekend" → the
concert on Saturday).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from os1.memory.store import STOPWORDS, Fact, Note
from os1.memory.when import due_day, time_window

#: At most this many facts in the note: more would turn a reply into a recital.
LIMIT = 2

#: Words that say little about what a fact is about ("The user moved…" and
#: "I moved the sofa" are not about the same thing).
_GENERIC = frozenset(
    """user users like likes liked really think feel feeling felt want wants get got going go
    goes went make made lot lots thing things something anything much many well good bad
    great time times day days week weeks year years last first new old little big lives live
    lived moved move work works worked name named called also still ever never always one two
    said says say see saw look looking back home love loves loved hate enjoy need needs
    wanted miss missed hope wish try trying know knew remember forget talk talked told ask asked
    help happy sad nervous tired excited worried glad sorry""".split()
)

#: A question about their own life names a topic; the facts of that kind answer it.
_TOPICS = (
    (re.compile(r"\b(?:work|job|career|for a living|profession|do all day)\b"), "work"),
    (re.compile(r"\b(?:live|living|home|city|town|country|from)\b"), "place"),
    (re.compile(r"\b(?:name|called|old|age|birthday)\b"), "identity"),
    (re.compile(r"\b(?:like|love|favou?rite|enjoy|hate)\b"), "preference"),
)

_WORD = re.compile(r"[a-z][a-z'’]+")


def words(text: str) -> set[str]:
    """The content words of ``text``, lower-case, plural "s" taken off."""
    found = set()
    for word in _WORD.findall(text.lower()):
        word = word.replace("’", "'").removesuffix("'s").rstrip("'")
        if len(word) < 3 or word in STOPWORDS or word in _GENERIC:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return found


def named_days(text: str, now: float, zone: tzinfo | None = None) -> tuple[float, float] | None:
    """The days ``text`` talks about, ahead or now ("tomorrow", "on Friday",
    "this weekend"), as ``(start, end)`` epoch seconds."""
    lowered = text.lower()
    if m := re.search(r"\b(?:this|the) (weekend|week)\b", lowered):
        return time_window(f"this {m.group(1)}", now, zone)
    day = due_day(text, now, zone)
    if day is None:
        return None
    start = datetime.fromtimestamp(day, zone)
    length = 2 if re.search(r"\bweekend\b", lowered) else 1
    return day, (start + timedelta(days=length)).timestamp()


def bearing(text: str, facts: Sequence[Fact], loops: Sequence[Note] = (), *,
            about_themselves: bool = False, now: float, zone: tzinfo | None = None,
            limit: int = LIMIT) -> list[str]:
    """The texts of current ``facts`` and ``loops`` (open loops, promises) that
    bear on ``text``, best first: a plan on a day it names, then the topic of a
    question ``about_themselves``, then the most words in common."""
    said = words(text)
    days = named_days(text, now, zone)
    topics = {kind for pattern, kind in _TOPICS if pattern.search(text.lower())} if about_themselves else set()
    ranked: list[tuple[float, str]] = []
    items: list[Fact | Note] = [*facts, *loops]
    for item in items:
        if isinstance(item, Fact) and not item.current:
            continue
        score = 0.0
        if days is not None:
            when = item.due_at if isinstance(item, Note) else None
            if when is None:
                when = due_day(item.text, item.created_at, zone)
            if when is not None and days[0] <= when < days[1]:
                score += 4
        if isinstance(item, Fact) and item.kind in topics:
            score += 2
        elif not (isinstance(item, Fact) and item.kind == "identity"):
            # Who they are (their name, their age) is in the prompt's profile already:
            # "I'm Dana" needs no note that their name is Dana.
            score += len(said & words(item.text))
        if score:
            ranked.append((score, item.text))
    ranked.sort(key=lambda pair: -pair[0])  # stable: the newer of equals keeps its place
    chosen: list[str] = []
    for _, fact in ranked:
        if fact not in chosen:
            chosen.append(fact)
    return chosen[:limit]
