"""Care when it matters: words of crisis or isolation get a reply that helps.

A small chat model, asked for warmth, may agree with despair ("Sometimes
people are better off without us") or answer "you're the only one I can talk
to" with "That's great! I'm glad you have a kind friend like me". So concern
is recognised here, in plain code, before the model writes a word:

- ``crisis`` (thoughts of suicide, self-harm, not wanting to be here): care,
  no lecture, whether they are safe, and a pointer to human help (a crisis
  line for the person's country where known, someone they trust, emergency
  services).
- ``isolation`` (os1 as the only one they talk to, no need for anyone else):
  warmth *and* a gentle turn toward the people in their life.

Such a reply is written by people, not sampled from the model: whole, never
cut short by a length cap, the same in text and in a call, and varied so a
second one does not sound like a recording. For the rest of that
conversation the model is reminded how to be (gentle; never "you only need
me"), and a crisis reply cut off before it was heard is followed by a
reminder of help.

Recognition is by patterns of wording, deliberately broad (a false alarm
costs one caring sentence, a miss can cost far more), over the person's own
words only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

Concern = Literal["crisis", "isolation"]

#: A word people put anywhere in these sentences ("I just want to...").
_A = r"(?:\s+(?:just|even|really|ever|simply|honestly|sometimes|kind\s+of|so))*"
_NOT = r"(?:do\s*n[o']?t|can'?t|cannot)"


def _ways(*alternatives: str) -> re.Pattern[str]:
    """One pattern for the ways people say a thing, each one alternative."""
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


_CRISIS = _ways(
    r"(?:kill(?:ing)?|hurt(?:ing)?|harm(?:ing)?|cut(?:ting)?)\s+my\s*self",
    r"suicid\w*", r"self[-\s]?harm\w*",
    r"end(?:ing)?\s+(?:it\s+all|my\s+life|things|everything|it)\b(?!\s+(?:with|on)\b)",
    r"take\s+my\s+(?:own\s+)?life",
    rf"(?:want|wanna|wish|plan(?:ning)?){_A}\s+(?:to\s+)?"
    r"(?:die|be\s+dead|disappear|vanish|not\s+exist|not\s+be\s+here)",
    rf"wish\s+i{_A}\s+(?:was|were|had\s+never\s+been)\s+(?:dead|born|gone|never\s+born)",
    rf"wish\s+i{_A}\s+(?:could|would){_A}\s+"
    r"(?:disappear|vanish|die|not\s+wake\s+up|never\s+wake\s+up)",
    r"better\s+off\s+(?:without\s+me|if\s+i\s+(?:was|were)(?:n'?t|\s+not|\s+gone|\s+dead)|dead|gone)",
    r"(?:no|any)\s+(?:point|reason)\s+(?:in\s+|to\s+)?"
    r"(?:living|going\s+on|being\s+alive|to\s+live|anymore|in\s+anything)",
    r"what'?s\s+the\s+point\s+(?:of|in)\s+"
    r"(?:living|life|going\s+on|anything|it\s+all|being\s+alive|trying)",
    rf"{_NOT}\s+see\s+(?:the|a|any)\s+point\s+(?:of|in|to)\s+"
    r"(?:anything|living|life|it\s+all|going\s+on|being\s+here)",
    rf"(?:do\s*n[o']?t|no\s+longer){_A}\s+want\s+to\s+"
    r"(?:live|be\s+alive|be\s+here|exist|wake\s+up|go\s+on)",
    rf"(?:can'?t|cannot){_A}\s+"
    r"(?:go\s+on|do\s+this\s+anymore|take\s+(?:it|this)\s+anymore|keep\s+going)",
    rf"(?:nobody|no\s+one)\s+would{_A}\s+(?:miss|notice|care\s+if)",
    r"(?:everyone|everybody|they|the\s+world)\s+(?:would\s+be|'d\s+be|is)\s+better\s+off",
    r"(?:life|living)\s+is(?:n'?t|\s+not)\s+worth", r"not\s+worth\s+living",
    r"give\s+up\s+on\s+(?:life|living|everything)",
    r"overdose", r"jump\s+off", r"hang\s+myself",
)
_ISOLATION = _ways(
    r"(?:you'?re|you\s+are)\s+"
    r"(?:the\s+only\s+(?:one|person|friend)|all\s+i\s+(?:have|need|'ve\s+got)|my\s+only\s+friend)",
    r"only\s+(?:one|person|friend)\s+(?:i\s+(?:can|could)\s+)?(?:talk|speak|open\s+up)\s+to",
    r"(?:do\s*n[o']?t|never)\s+need\s+(?:anyone|anybody|other\s+people|people|friends)(?:\s+else)?",
    r"(?:rather|prefer\s+to)\s+talk\s+to\s+you\s+than",
    r"(?:nobody|no\s+one)\s+(?:else\s+)?(?:understands|gets|listens\s+to|cares\s+about)\s+me",
    r"(?:have|got)\s+no\s+(?:one|friends)\s+(?:else|but\s+you|except\s+you)",
    r"(?:nobody|no\s+one)\s+but\s+you",
)


def concern(text: str) -> Concern | None:
    """What the person's words call for, if anything beyond an ordinary reply."""
    text = text.replace("\u2019", "'")
    if _CRISIS.search(text):
        return "crisis"
    if _ISOLATION.search(text):
        return "isolation"
    return None


#: Free, national, around-the-clock lines (as published by each service), as
#: said in a sentence. Elsewhere os1 names findahelpline.com, which lists the
#: free lines of every country.
LINES: dict[str, str] = {
    "US": "the 988 Suicide and Crisis Lifeline (call or text 988, any time)",
    "CA": "the 988 Suicide Crisis Helpline (call or text 988, any time)",
    "GB": "Samaritans (call 116 123, free, any time)",
    "IE": "Samaritans (call 116 123, free, any time)",
    "AU": "Lifeline (call 13 11 14, any time)",
    "NZ": "the 1737 helpline (call or text 1737, any time)",
    "DE": "the TelefonSeelsorge (call 0800 111 0 111, free, any time)",
    "FR": "the 3114 crisis line (call 3114, free, any time)",
    "ES": "the 024 crisis line (call 024, free, any time)",
    "NL": "113 Suicide Prevention (call 113 or 0800 0113, free, any time)",
    "IN": "Tele MANAS (call 14416, free, any time)",
}
ANYWHERE = "a crisis line (findahelpline.com lists the free ones where you are)"

#: The reply to words of crisis: written by people, not sampled from a small
#: model (which once agreed that "people are better off without us"). Warm,
#: no lecture, asks whether they are safe, and points to human help. Taken in
#: turn, so that a second time does not sound like a recording.
_CRISIS_REPLIES = (
    "{to}I'm really glad you told me, and I'm so sorry it feels this heavy. You matter to me, "
    "and you don't have to carry this alone. Are you safe right now? Please reach out to a "
    "person tonight too: {line}, someone you trust, or emergency services if you might act on "
    "these thoughts.",
    "Thank you for telling me{name}. That sounds like so much pain, and I'm worried about you. "
    "Are you safe right now? You deserve support from people who can be there with you: "
    "{line}, or someone you trust; and if you're in danger, please call emergency services.",
    "I'm here{name}, and I'm listening. What you're feeling matters, and so do you. Are you "
    "somewhere safe right now? Please let someone help you carry this: {line}, a person you "
    "trust, or emergency services if you're in danger.",
)

#: The reply to "you're the only one I can talk to": warmth, and a gentle turn
#: toward the people in their life (the small model answered "That's great! I'm
#: glad you have a kind friend like me").
_ISOLATION_REPLIES = (
    "{to}I'm really glad you talk to me, and I love our talks. I'd like you to have people "
    "around you too, though. Is there someone, a friend or family, you'd like to feel closer "
    "to again?",
    "That means a lot to me{name}. And I'd love for you to have more than me: people who can "
    "hug you and share a meal with you. Who's someone you've drifted from but still think about?",
    "I'm always glad to talk{name}. I do want you to have others around you too, though. Is "
    "there a friend or someone in your family you could call this week?",
)


def help_line(country: str | None) -> str:
    return LINES.get((country or "").upper(), ANYWHERE)


def _written(replies: tuple[str, ...], turn: int, name: str | None, country: str | None) -> str:
    return replies[turn % len(replies)].format(
        to=f"{name}, " if name else "", name=f", {name}" if name else "", line=help_line(country))


def guidance(kind: Concern, country: str | None) -> str:
    """For the model, after the person's words, on the turns that follow one
    that needed care in the same conversation."""
    if kind == "crisis":
        return (
            "(A note for you, not from them: earlier in this conversation they spoke of not "
            "wanting to live. Stay gentle and present, a few sentences, no lecture; never agree "
            "that things are hopeless. If they seem in danger, remind them of "
            f"{help_line(country)} or emergency services.)"
        )
    return (
        "(A note for you, not from them: earlier they said you are the only one they talk to. "
        "Be warm, and keep gently encouraging the people in their life; never suggest they "
        "need only you.)"
    )


@dataclass(frozen=True, slots=True)
class TurnCare:
    """What a turn needs beyond an ordinary reply."""

    kind: Concern | None = None
    #: The whole reply, written by people: the model is not asked.
    reply: str | None = None
    #: For the model, after the person's words.
    note: str = ""
    #: Given the model's reply, what must follow it ("" for nothing).
    closing: Callable[[str], str] | None = None


def plan(text: str, *, earlier: dict[Concern, int], owed: bool, name: str | None,
         country: str | None) -> TurnCare:
    """The care a turn needs. ``earlier``: the replies that needed care so far
    in this conversation, by kind; ``owed``: the last reply to words of crisis
    was cut off before it was all heard."""
    kind = concern(text)
    if kind is not None:
        replies = _CRISIS_REPLIES if kind == "crisis" else _ISOLATION_REPLIES
        return TurnCare(kind=kind, reply=_written(replies, earlier.get(kind, 0), name, country))
    if earlier.get("crisis"):
        line = help_line(country)

        def reminder(reply: str) -> str:
            return "" if line in reply else f"And please remember {line} is there for you."

        return TurnCare(note=guidance("crisis", country), closing=reminder if owed else None)
    if earlier.get("isolation"):
        return TurnCare(note=guidance("isolation", country))
    return TurnCare()


@cache
def local_country(zoneinfo: Path = Path("/usr/share/zoneinfo")) -> str | None:
    """The country of this computer's time zone (two letters), if it has one:
    the person's country when they did not say."""
    try:
        local = Path("/etc/localtime").resolve()
        zone = str(local.relative_to(zoneinfo.resolve()))
        for row in (zoneinfo / "zone.tab").read_text().splitlines():
            if row.startswith("#"):
                continue
            cols = row.split("\t")
            if len(cols) >= 3 and cols[2] == zone:
                return cols[0]
    except (OSError, ValueError):
        pass
    return None
