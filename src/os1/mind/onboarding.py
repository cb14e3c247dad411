"""First meeting: three questions whose answers go into memory.

A pure state machine (question in, answer out) so every front end can drive
it and tests need no model: the questions are fixed, warm text; the answers
are parsed with small rules rather than the model, so onboarding is instant
and never mishears a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Words a person names themselves with, anywhere in what they say ("call me Sam")...
NAMING = r"my name is|my name's|name's|i am|i'm|im|call me|they call me|i go by"
#: ...and only as their words open ("it's Sam", not "it's Sam's").
NAMING_OPENS = r"it's|it is|this is"
_NAME_LEADS = re.compile(rf"^(?:hi|hello|hey)?[,! ]*(?:{NAMING}|{NAMING_OPENS})\s+", re.IGNORECASE)
_FILLERS = frozenset({"just", "please", "simply", "only", "plain"})
_AGREE = re.compile(
    r"^(?:yes|yeah|yep|sure|ok|okay|that's fine|thats fine|fine|that works|"
    r"that's good|either|whatever|just that)\b", re.IGNORECASE,
)


def parse_name(answer: str) -> str:
    """"Hi, I'm Theodore Twombly." -> "Theodore Twombly"."""
    text = _NAME_LEADS.sub("", answer.strip()).strip(" .!?,")
    text = re.split(
        r"[,.!?;]| and | but | is | would | works| sounds | please", text, maxsplit=1,
        flags=re.IGNORECASE,
    )[0].strip()
    words = [w for w in text.split() if w.lower() not in _FILLERS][:3]
    return " ".join(w[:1].upper() + w[1:] for w in words) if words else ""


@dataclass
class Onboarding:
    """Ask :attr:`question`, feed the answer to :meth:`answer`, until :attr:`done`."""

    companion_name: str
    profile: dict[str, str] = field(default_factory=dict)
    facts: list[tuple[str, str]] = field(default_factory=list)
    _step: int = 0

    @property
    def done(self) -> bool:
        return self._step >= 3

    @property
    def question(self) -> str:
        first = self.profile.get("name", "").split(" ")[0]
        return (
            f"Hi. I'm {self.companion_name}. I'm really glad to meet you. What's your name?",
            f"Lovely to meet you, {first}. What would you like me to call you: {first}, "
            "or something else?",
            "And what are you hoping I can be for you? A friend to talk things through with, "
            "help with email and letters, someone who keeps track of things... anything goes.",
        )[self._step]

    def answer(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if self._step == 0:
            name = parse_name(text)
            if not name:
                return
            self.profile["name"] = name
            self.facts.append((f"The user's name is {name}.", "identity"))
        elif self._step == 1:
            first = self.profile["name"].split(" ")[0]
            short = parse_name(text)
            address = first if _AGREE.match(text) or not short else short
            self.profile["address_as"] = address
            if address != self.profile["name"]:
                self.facts.append((f"The user likes to be called {address}.", "identity"))
        else:
            self.profile["wants"] = text
            self.facts.append((f"The user wants os1 to be: {text}", "preference"))
        self._step += 1

    @property
    def farewell(self) -> str:
        address = self.profile.get("address_as") or self.profile.get("name", "")
        return f"Thank you, {address}. I'll remember that. So, tell me: how are you, really?"
