"""Hybrid recall over past messages: ranking arithmetic, free of SQL.

Three ranked lists vote by reciprocal-rank fusion (RRF): full-text BM25, the
cosine similarity of each message's own vector, and of its vector in context
(mixed with the turns before and after it: "adoption agencies" only means
something next to the question it answers). Then a light rerank: a turn takes
a share of its neighbours' score (evidence often sits in the reply to the
matching turn), the companion's own replies weigh a little less than the
user's words, messages inside a time window the question names get a boost,
and the best candidates are re-scored with the raw similarities so that
fusion's rank ties break by meaning rather than by order.

Everything is numpy over one (messages x 384) matrix per user: ~1 ms for a
thousand messages; the query's embedding (~25 ms) is the cost of a search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, kw_only=True, slots=True)
class RecallTuning:
    """Weights of the signals. Set on LoCoMo and LongMemEval dev data, kept round
    and few so as not to fit them: see ``os1 bench memory``."""

    rrf_k: float = 10.0           # RRF's damping: small, so that the head of each list counts
    bm25_weight: float = 1.5      # exact words (names, places) are the surest sign
    own_weight: float = 0.5       # the message's own vector
    context_weight: float = 1.0   # the message mixed with its neighbours
    neighbour_mix: float = 0.5    # neighbours' share in the context vector
    spread: float = 0.3           # share of the best neighbour's score a turn inherits
    time_boost: float = 0.5       # added RRF mass for messages inside the named period
    assistant_weight: float = 0.8  # the user's own words say more about them than replies do
    candidates: int = 100         # depth of each ranked list
    rerank_depth: int = 50
    rerank_weight: float = 0.02   # per unit of cosine similarity


@dataclass(frozen=True, slots=True)
class DenseIndex:
    """A user's messages in id order with their vectors (zero rows: not embedded yet)."""

    ids: np.ndarray        # int64, ascending
    sessions: np.ndarray   # int64
    created: np.ndarray    # float64 epoch seconds
    prev: np.ndarray       # int64 position of the previous turn of the session, or -1
    next: np.ndarray       # int64 position of the next turn, or -1
    own: np.ndarray        # float32 (n, dim)
    context: np.ndarray    # float32 (n, dim)
    embedded: np.ndarray   # bool
    spoken: np.ndarray     # bool: said by the user (not by the companion)

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: Sequence[int]) -> np.ndarray:
        """Positions of ``ids`` (-1 for ids the index does not hold)."""
        import numpy as np

        wanted = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(wanted), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return np.where(self.ids[pos] == wanted, pos, -1)


def build_index(
    rows: Sequence[tuple[int, int, float, str]], vectors: dict[int, np.ndarray], dim: int,
    *, neighbour_mix: float,
) -> DenseIndex:
    """``rows``: (message id, session id, created_at, role) in id order."""
    import numpy as np

    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    sessions = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
    created = np.fromiter((r[2] for r in rows), dtype=np.float64, count=n)
    spoken = np.fromiter((r[3] == "user" for r in rows), dtype=bool, count=n)
    own = np.zeros((n, dim), dtype=np.float32)
    embedded = np.zeros(n, dtype=bool)
    for i, mid in enumerate(ids.tolist()):
        v = vectors.get(mid)
        if v is not None:
            own[i] = v
            embedded[i] = True
    # Turns of one session are contiguous in id order once sessions do not
    # interleave; where they do, the neighbour is the nearest turn of the same session.
    prev = np.full(n, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    last: dict[int, int] = {}
    for i, s in enumerate(sessions.tolist()):
        j = last.get(s)
        if j is not None:
            prev[i] = j
            nxt[j] = i
        last[s] = i
    context = own.copy()
    if n:
        zero = np.zeros((1, dim), dtype=np.float32)
        padded = np.vstack([own, zero])  # position -1 reads the zero row
        context += neighbour_mix * (padded[prev] + padded[nxt])
        norms = np.linalg.norm(context, axis=1, keepdims=True)
        context /= np.where(norms > 0, norms, 1.0)
    return DenseIndex(ids, sessions, created, prev, nxt, own, context, embedded, spoken)


def rank_messages(
    index: DenseIndex,
    *,
    bm25_ids: Sequence[int],
    query_vector: np.ndarray | None,
    allowed: np.ndarray,
    window: tuple[float, float] | None,
    tuning: RecallTuning,
    limit: int,
) -> list[tuple[int, float]]:
    """(message id, score) best first, over the index's messages that are ``allowed``.

    ``bm25_ids``: full-text hits, best first; ids outside the index are
    ignored here (the caller merges them)."""
    import numpy as np

    n = len(index)
    if n == 0:
        return []
    k = tuning.rrf_k
    score = np.zeros(n, dtype=np.float64)
    pos = index.positions(bm25_ids)
    pos = pos[pos >= 0]
    pos = pos[allowed[pos]]
    score[pos] += tuning.bm25_weight / (k + 1 + np.arange(len(pos)))

    own_sim = ctx_sim = None
    usable = allowed & index.embedded
    if query_vector is not None and usable.any():
        own_sim = index.own @ query_vector
        ctx_sim = index.context @ query_vector
        depth = min(tuning.candidates, int(usable.sum()))
        for sims, weight in ((own_sim, tuning.own_weight), (ctx_sim, tuning.context_weight)):
            masked = np.where(usable, sims, -np.inf)
            top = np.argpartition(-masked, depth - 1)[:depth]
            top = top[np.argsort(-masked[top], kind="stable")]
            score[top] += weight / (k + 1 + np.arange(depth))

    if tuning.spread:
        padded = np.append(score, 0.0)
        score = score + tuning.spread * np.maximum(padded[index.prev], padded[index.next])
    if tuning.assistant_weight != 1.0:
        score = np.where(index.spoken, score, score * tuning.assistant_weight)
    if window is not None and tuning.time_boost:
        inside = (index.created >= window[0]) & (index.created < window[1])
        score += np.where(inside & (score > 0), tuning.time_boost / (k + 1), 0.0)
    score = np.where(allowed, score, 0.0)

    depth = min(max(limit, tuning.rerank_depth), int((score > 0).sum()))
    if depth == 0:
        return []
    top = np.argpartition(-score, depth - 1)[:depth]
    if own_sim is not None and tuning.rerank_weight:
        score[top] += tuning.rerank_weight * np.maximum(own_sim[top], ctx_sim[top])
    top = top[np.argsort(-score[top], kind="stable")][:limit]
    return [(int(index.ids[i]), float(score[i])) for i in top]
