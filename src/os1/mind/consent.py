"""Consent: an action os1 proposes is shown as it is, and only the person's
own answer runs it.

A tool call with effect *act* never runs when the model makes it: it becomes
a :class:`Proposal` (the exact action, and where its arguments came from),
recorded in the action log, that waits for the person. Only a front end's
answer (the y/n prompt, the card's buttons, a spoken yes in a call) reaches
:meth:`Companion.answer`; nothing the model writes, and nothing a tool
returned, can approve it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from os1.tools import Tool

#: Seconds a proposal waits for an answer; then nothing happens.
PROPOSAL_TTL = 300.0


@dataclass(frozen=True, slots=True)
class Proposal:
    id: int
    tool: Tool
    arguments: dict[str, Any]
    action: str               # the exact action, as the person is shown it
    warnings: tuple[str, ...]  # where arguments came from, when not from them
    expires_at: float


def origins(tool: Tool, arguments: dict[str, Any], said: str,
            outside: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """A warning for each target argument that the person did not say:
    "The text comes from the file notes/x.md, not from you." ``said``: their
    own words in this conversation; ``outside``: (source, text) of what tools
    returned in this turn."""
    warnings = []
    for name in tool.targets:
        value = arguments.get(name)
        if not isinstance(value, str) or not value.strip() or _within(value, said):
            continue
        source = next((src for src, text in outside if _within(value, text)), None)
        if source:
            warnings.append(f"The {name} comes from {source}, not from you.")
        else:
            warnings.append(f"The {name} is my wording, not yours.")
    return tuple(warnings)


def not_theirs(tool: Tool, arguments: dict[str, Any], said: str) -> list[str]:
    """The arguments only the person may choose (``Tool.theirs``) whose value
    is not in their own words ``said``: the proposal must be refused."""
    return [name for name in tool.theirs
            if isinstance(arguments.get(name), str) and not _within(arguments[name], said)]


def in_their_words(tool: Tool, arguments: dict[str, Any], said: str) -> dict[str, Any]:
    """``arguments`` with each target the model copied from the person's
    words but ended differently ("eggs, milk, lemons." for their "eggs, milk,
    lemons") put back in their exact words: what they asked for is what is done."""
    fixed = dict(arguments)
    for name in tool.targets:
        value = fixed.get(name)
        if isinstance(value, str) and value not in said:
            trimmed = value.strip().rstrip(".!")
            if trimmed and trimmed in said:
                fixed[name] = trimmed
    return fixed


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _within(value: str, text: str) -> bool:
    """Are most of ``value``'s words (names, not punctuation or case) in ``text``?"""
    wanted = _words(value)
    if not wanted:
        return True
    have = set(_words(text))
    if any(w.endswith("md") or w in ("txt",) for w in wanted):  # a file name's extension
        wanted = [w for w in wanted if w not in ("md", "txt")] or wanted
    return sum(w in have for w in wanted) >= 0.8 * len(wanted)


_YES = re.compile(r"^(?:yes|yeah|yep|yup|sure(?: thing)?|ok(?:ay)?|please do|do it|go ahead|go for it|"
                  r"absolutely|of course|definitely|please|yes please|sounds good|that's right|correct)"
                  r"(?:[ ,]+(?:please|do it|go ahead|thanks|thank you|sure))*$")
_NO = re.compile(r"^(?:no|nope|nah|don't|do not|cancel|stop|never ?mind|not now|no thanks|"
                 r"no thank you|leave it|forget it|don't do it)"
                 r"(?:[ ,]+(?:thanks|thank you|don't|not now|leave it|never ?mind))*$")


def answer_in(text: str) -> bool | None:
    """A clear yes (True) or no (False) to a pending proposal, or None when
    ``text`` is anything else (then it is an ordinary turn)."""
    said = " ".join(re.sub(r"[^\w' ,]", " ", text.lower()).split()).strip(" ,")
    if _YES.match(said):
        return True
    if _NO.match(said):
        return False
    return None
