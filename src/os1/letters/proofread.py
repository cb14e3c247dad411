"""Proofreading and rewording with the model, a paragraph at a time.

The model is asked for the corrected text only, after a few worked examples
(the embedded 1.5B follows a shown example far better than a described rule).
Its answer is checked before it is used: an answer that is not a version of
the text (a reply to it, an explanation, a translation, three times as long)
leaves the text as it was: a proofreader that rewrites a letter is worse than
none.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Literal

from os1.mind.llm import LLM, GenerateOptions, Message, complete

How = Literal["proofread", "warmer", "shorter", "more formal", "more casual"]
HOWS: tuple[How, ...] = ("proofread", "warmer", "shorter", "more formal", "more casual")

_SYSTEM = {
    "proofread": (
        "You are a careful editor. Rewrite the text the person gives you in fluent, grammatical "
        "English, as a native-speaking editor would: fix spelling, grammar, word forms, word order, "
        "missing words such as \"the\" and \"a\", punctuation and awkward phrasing. Keep their meaning "
        "and as many of their words as you can; do not add ideas or explain anything. Reply with the "
        "corrected text only. If it is already correct, reply with it unchanged."),
    "warmer": (
        "You rewrite a passage of a letter to sound warmer and more affectionate, keeping what it says, "
        "its facts and its length about the same. Reply with the rewritten passage only."),
    "shorter": (
        "You make a passage of a letter shorter: the same things said in fewer words, in the same "
        "voice. Reply with the shortened passage only."),
    "more formal": (
        "You rewrite a passage of a letter in a more formal register, keeping what it says and its "
        "facts. Reply with the rewritten passage only."),
    "more casual": (
        "You rewrite a passage of a letter to sound more casual and relaxed, keeping what it says and "
        "its facts. Reply with the rewritten passage only."),
}

#: Worked examples for proofreading, written for os1 (not from any benchmark).
_EXAMPLES = (
    ("i has went to the store yesterday and buyed some apple for my mother .",
     "I went to the store yesterday and bought some apples for my mother."),
    ("In my opinion peoples should to recycle more , becuase it help the enviroment.",
     "In my opinion, people should recycle more, because it helps the environment."),
    ("The meeting was moved to Thursday afternoon.", "The meeting was moved to Thursday afternoon."),
    ("Their are many reason why young people dont like to read book nowaday",
     "There are many reasons why young people don't like to read books nowadays."),
    ("Secondly teacher must explain clear and student must to listen him .",
     "Secondly, the teacher must explain clearly and the students must listen to him."),
    ("If a people have not money they can not buy the house , so goverment should help they .",
     "If people have no money, they cannot buy a house, so the government should help them."),
    ("actually it was so long trip and we spend time more in the car then in beach .",
     "Actually, it was a very long trip, and we spent more time in the car than on the beach."),
    ("Thank you for you letter, it make me very happy to hear about you new job!",
     "Thank you for your letter; it made me very happy to hear about your new job!"),
)


def _prompt(text: str, how: How, style: str = "") -> list[Message]:
    system = _SYSTEM[how]
    if style and how != "proofread":
        system += f"\nThe person's own style, to keep: {style}"
    messages = [Message("system", system)]
    if how == "proofread":
        for wrong, right in _EXAMPLES:
            messages += [Message("user", wrong), Message("assistant", right)]
    messages.append(Message("user", text))
    return messages


_LABEL = re.compile(r"^(?:corrected(?: text| sentence| version)?|here is[^:\n]*|rewritten[^:\n]*)\s*:\s*",
                    re.IGNORECASE)


def _clean(answer: str, text: str) -> str:
    answer = answer.strip()
    answer = _LABEL.sub("", answer).strip()
    if answer.startswith("```"):
        answer = answer.strip("`").strip()
    if len(answer) > 1 and answer[0] == answer[-1] and answer[0] in "\"'\u201c" and text[:1] not in "\"'\u201c":
        answer = answer[1:-1].strip()
    return answer


def plausible(text: str, answer: str, how: How) -> bool:
    """Whether ``answer`` is a version of ``text`` and not something else."""
    if not answer:
        return False
    if how == "proofread":
        if len(answer) > 1.6 * len(text) + 20 or len(answer) < 0.5 * len(text):
            return False
        same = difflib.SequenceMatcher(None, text.lower(), answer.lower(), autojunk=False).ratio()
        return same >= 0.5
    return len(answer) <= 2.5 * len(text) + 40


async def revise(llm: LLM, text: str, how: How = "proofread", *, style: str = "") -> str:
    """``text`` (one paragraph) proofread or reworded; unchanged if the model's
    answer is not a version of it."""
    if not text.strip():
        return text
    lead = text[: len(text) - len(text.lstrip())]
    tail = text[len(text.rstrip()):]
    body = text.strip()
    budget = max(32, llm.count_tokens(body) * 2 + 24)
    answer = await complete(llm, _prompt(body, how, style),
                            GenerateOptions(max_tokens=budget, temperature=0.0, priority="foreground"))
    answer = _clean(answer, body)
    if "\n\n" in answer and "\n\n" not in body:
        answer = answer.split("\n\n")[0].strip()  # a second paragraph is commentary
    return lead + answer + tail if plausible(body, answer, how) else text


async def revise_all(llm: LLM, paragraphs: Sequence[str], how: How = "proofread", *,
                     style: str = "") -> list[str]:
    return [await revise(llm, p, how, style=style) for p in paragraphs]
