"""The person's letter-writing style, learned from their own letters, and new
letters drafted in it.

The notes are grounded: how their letters open and close is read from the
letters themselves; the model adds a sentence or two on tone and phrasing.
They are kept in memory as a fact ("user.letter_style"), so the person sees
them with everything else os1 knows, and can correct them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from os1.letters.documents import Document
from os1.mind.llm import LLM, GenerateOptions, Message, complete

STYLE_KEY = "user.letter_style"
#: Letters (and characters of each) the model reads to describe a style.
STYLE_LETTERS, STYLE_CHARS = 4, 1500

_SIGN_OFF = re.compile(r"^(?:love|yours|sincerely|best|warmly|with love|all my love|cheers|regards|kind regards|"
                       r"best wishes|warm regards|xo|hugs|always|truly)\b[^\n]{0,40}$", re.IGNORECASE)


def habits(letters: Sequence[Document]) -> str:
    """How their letters open and close, counted from the letters themselves."""
    openings: Counter[str] = Counter()
    closings: Counter[str] = Counter()
    for letter in letters:
        lines = [p.strip() for p in letter.paragraphs if p.strip()]
        if not lines:
            continue
        first = lines[0].split("\n")[0]
        if first.lower().startswith(("dear", "hi", "hello", "my dear", "dearest", "hey")):
            openings[re.sub(r"\s+\S+,?$", "", first) or first] += 1
        for line in lines[-3:]:
            if _SIGN_OFF.match(line):
                closings[line.rstrip(",")] += 1
                break
    parts = []
    if openings:
        parts.append(f"opens with \u201c{openings.most_common(1)[0][0]} \u2026\u201d")
    if closings:
        parts.append(f"signs off \u201c{closings.most_common(1)[0][0]}\u201d")
    return "; ".join(parts)


async def describe_style(llm: LLM, letters: Sequence[Document]) -> str:
    """Style notes: their habits, and the model's two sentences on tone."""
    chosen = [letter for letter in letters if letter.text.strip()][:STYLE_LETTERS]
    if not chosen:
        return ""
    samples = "\n\n---\n\n".join(letter.text[:STYLE_CHARS] for letter in chosen)
    prompt = [
        Message("system", "You describe a person's letter-writing style for someone who will write in it. "
                          "In two short sentences, say their tone, how long their sentences are, and any words "
                          "or turns of phrase they favour. Describe; do not quote whole sentences."),
        Message("user", samples),
    ]
    said = await complete(llm, prompt, GenerateOptions(max_tokens=90, temperature=0.2))
    said = " ".join(said.split())
    found = habits(chosen)
    return f"Their letters: {found}. {said}".strip() if found else said


async def draft(llm: LLM, to: str, about: str, style: str, examples: Sequence[Document] = ()) -> str:
    """A new letter to ``to`` about ``about``, in their style."""
    system = ("You write a letter for the person, as them, in their own style. Write only the letter: the "
              "greeting, the body in a few short paragraphs, and their sign-off. No notes or explanations.")
    if style:
        system += f"\nTheir style: {style}"
    messages = [Message("system", system)]
    for example in list(examples)[:1]:
        messages += [Message("user", f"An earlier letter of theirs, for its voice:\n\n{example.text[:STYLE_CHARS]}"),
                     Message("assistant", "I have their voice.")]
    messages.append(Message("user", f"Write a letter to {to}: {about}"))
    text = await complete(llm, messages, GenerateOptions(max_tokens=450, temperature=0.7))
    return text.strip()
