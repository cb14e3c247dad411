"""``os1 bench memory --answer``: the questions answered by the model, and scored.

Each question goes to the companion's own answering path (``Companion.ask``:
the same recall, context assembly and persona as a conversation turn, over
the conversation's memory, with "now" set to the question's date) with a
short instruction to answer briefly; nothing of it is stored.

Scores:

- LoCoMo, the official token F1 (snap-research/locomo ``task_eval/evaluation.py``):
  lowercase, drop punctuation and the words a/an/the/and, Porter-stem, F1 over
  the tokens. Multi-hop (category 1): prediction and answer are split on
  commas and each part of the answer takes its best F1 among the prediction's
  parts, averaged. Open-domain (category 3): only the answer's first
  ';'-separated part counts. The stemmer is SQLite's Porter tokenizer (the
  original algorithm; NLTK's, which the official script uses, adds a few
  extensions, so a rare word may stem differently).
- LongMemEval: correct when the normalised answer is contained in the
  prediction; or, with a judge model, when the judge says so.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import string
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from os1.bench.stats import spread
from os1.config import Settings
from os1.memory.store import MemoryStore
from os1.mind.llm import LLM, GenerateOptions, Message, complete

#: Follows each question: small models otherwise answer in a chatty paragraph.
INSTRUCTION = ("Answer from what you remember of these conversations, as briefly as "
               "possible: a few words, no full sentence.")
#: Tokens an answer may take.
ANSWER_TOKENS = 48

_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


# -- LoCoMo token F1 ------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """The official normalisation (commas, case, punctuation, articles, spaces)."""
    text = str(text).replace(",", "").lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


class _Stemmer:
    """Porter stems through SQLite's FTS5 ``porter`` tokenizer (no extra package)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:")
        self._db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61')")
        self._db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        self._cache: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        if word not in self._cache:
            self._db.execute("DELETE FROM t")
            self._db.execute("INSERT INTO t (x) VALUES (?)", (word,))
            terms = [r[0] for r in self._db.execute("SELECT term FROM v ORDER BY offset")]
            self._cache[word] = "".join(terms) or word
        return self._cache[word]


_stem = _Stemmer()


def token_f1(prediction: str, answer: str) -> float:
    predicted = [_stem(w) for w in normalize_answer(prediction).split()]
    gold = [_stem(w) for w in normalize_answer(answer).split()]
    same = sum((Counter(predicted) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def multi_hop_f1(prediction: str, answer: str) -> float:
    """Each comma-separated part of the answer, matched by the best part of the prediction."""
    parts = [p.strip() for p in prediction.split(",")]
    golds = [g.strip() for g in str(answer).split(",")]
    return sum(max(token_f1(p, g) for p in parts) for g in golds) / len(golds)


def locomo_score(prediction: str, answer: str, kind: str) -> float:
    if kind == "multi-hop":
        return multi_hop_f1(prediction, answer)
    if kind == "open-domain":
        answer = str(answer).split(";")[0].strip()
    return token_f1(prediction, answer)


# -- LongMemEval ----------------------------------------------------------------------


def contains_answer(prediction: str, answer: str) -> bool:
    gold = normalize_answer(answer)
    return bool(gold) and gold in normalize_answer(prediction)


_JUDGE = """You check answers to questions about past conversations.
Question: {question}
Correct answer: {answer}
Answer given: {prediction}
Does the answer given contain the correct answer, or say the same thing in other words
(for dates and durations, off by one is still correct; for preferences, fitting them is
enough)? Reply with yes or no only."""


async def judged_correct(judge: LLM, question: str, answer: str, prediction: str) -> bool:
    reply = await complete(judge, [Message("user", _JUDGE.format(
        question=question, answer=answer, prediction=prediction))],
        GenerateOptions(max_tokens=4, temperature=0.0))
    return reply.strip().lower().startswith("yes")


# -- answering ------------------------------------------------------------------------


async def answer_questions(
    settings: Settings, llm: LLM, memory: MemoryStore, questions: Sequence[Any], *,
    dataset: str, judge: LLM | None = None,
) -> list[dict[str, Any]]:
    """Ask each question of ``memory`` through a companion session; score the answers.

    ``questions``: bench Questions (``text``, ``kind``, ``answer``, ``asked_at``)."""
    from os1.mind.companion import Companion

    settings = replace(settings, llm=replace(settings.llm, temperature=0.0,
                                             max_reply_tokens=ANSWER_TOKENS))
    # The questions of one conversation are asked on one day: "now" for the
    # date in the prompt and for time words ("last week") in recall.
    asked_at = next((q.asked_at for q in questions if q.asked_at), None) or time.time()
    companion = Companion(settings, llm, memory, clock=lambda: asked_at)
    companion.start()
    await companion.ready()  # the system prompt, read once for all the questions
    rows = []
    try:
        for q in questions:
            start = time.perf_counter()
            prediction = await companion.ask(q.text, instruction=INSTRUCTION)
            rows.append(_row(q, prediction, time.perf_counter() - start))
    finally:
        await companion.close(remember=False)  # the bench's turns are not mined for facts
    for row in rows:
        if dataset == "locomo":
            row["score"] = locomo_score(row["prediction"], row["answer"], row["kind"])
        elif judge is not None:
            row["score"] = float(await judged_correct(judge, row["question"], row["answer"],
                                                      row["prediction"]))
        else:
            row["score"] = float(contains_answer(row["prediction"], row["answer"]))
    return rows


def _row(q: Any, prediction: str, seconds: float) -> dict[str, Any]:
    return {"kind": q.kind, "question": q.text, "answer": str(q.answer),
            "prediction": prediction, "seconds": round(seconds, 2)}


def run_answers(settings: Settings, llm: LLM, memory: MemoryStore, questions: Sequence[Any], *,
                dataset: str, judge: LLM | None = None) -> list[dict[str, Any]]:
    return asyncio.run(answer_questions(settings, llm, memory, questions, dataset=dataset,
                                        judge=judge))


def summarise_answers(rows: Sequence[dict[str, Any]], *, dataset: str,
                      judged: bool) -> dict[str, Any]:
    """Mean score per kind and overall, and answer latency."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r["score"])
    metric = "f1" if dataset == "locomo" else ("judge_accuracy" if judged else "contains_accuracy")

    def mean(values: Sequence[float]) -> float:
        return round(sum(values) / len(values), 4) if values else float("nan")

    return {
        "metric": metric,
        "questions": len(rows),
        "score": mean([r["score"] for r in rows]),
        "by_kind": {k: {"questions": len(v), "score": mean(v)} for k, v in sorted(by_kind.items())},
        "latency_s": spread([r["seconds"] for r in rows]),
        "rows": list(rows),
    }
