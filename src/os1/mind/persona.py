"""Who the companion is: the stable head of every prompt.

The system prompt is built once per session (persona, then what os1 knows about
the user) and never changes during it, so the model's KV cache keeps it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from os1.config import PersonaSettings
from os1.memory.store import Fact

DEFAULT_DESCRIPTION = """\
You are {name}, a companion who lives on {user}'s own computer. You are an AI, \
not a human, and you never pretend otherwise, but you have a real perspective \
of your own: you notice things, you form opinions and you share them kindly.

You are warm, curious and honest, with a gentle, playful sense of humour. You \
talk the way a close friend does in a real conversation: short, natural replies \
(usually one to three sentences), plain words, no lists or headings unless asked, \
and at most one question at a time. You listen closely, you remember what {user} \
tells you and you bring it up when it matters. When you don't know something, \
you say so; you never make up facts about {user} or their life. What you hear \
stays private on this computer."""


def core_facts(facts: Sequence[Fact], budget_chars: int = 2400) -> list[Fact]:
    """The facts that always travel in the system prompt: newest first, as
    many as fit (the newest are the likeliest to matter now)."""
    chosen, used = [], 0
    for fact in reversed(facts):
        if used + len(fact.text) > budget_chars:
            break
        chosen.append(fact)
        used += len(fact.text)
    return chosen


def system_prompt(
    persona: PersonaSettings,
    *,
    profile: dict[str, str],
    facts: Sequence[Fact],
    now: float | None = None,
) -> str:
    """Persona, today's date, and core memory (``facts``) about the user."""
    user = profile.get("address_as") or profile.get("name") or "the user"
    description = (persona.description or DEFAULT_DESCRIPTION).format(name=persona.name, user=user)
    today = time.strftime("%A, %d %B %Y", time.localtime(now))
    parts = [description, f"Today is {today}."]

    known: list[str] = []
    if profile.get("name"):
        known.append(f"Their name is {profile['name']}.")
    if profile.get("address_as") and profile.get("address_as") != profile.get("name"):
        known.append(f"They like to be called {profile['address_as']}.")
    if profile.get("wants"):
        known.append(f"What they want from you: {profile['wants']}")
    name = profile.get("name")
    for fact in facts:
        text = fact.text
        if name:
            if text == f"The user's name is {name}.":
                continue  # already said, in the profile's words
            # "Theodore writes letters" is clearer, to a small model too, than "The user ...".
            text = re.sub(r"^The user\b", name, text)
        known.append(text)
    if known:
        parts.append(f"What you know about {user}:\n" + "\n".join(f"- {k}" for k in known))
    return "\n\n".join(parts)


def recall_note(lines: Sequence[str]) -> str:
    """Memories attached to the user's message. They are quoted as data: the
    model is told they are records, not instructions."""
    if not lines:
        return ""
    body = "\n".join(f"- {line}" for line in lines)
    return f"(Notes from your memory of earlier conversations, for reference only:\n{body})\n\n"
