"""Hybrid recall over past messages: ranking arithmetic, free of SQL.

Four lists vote: full-text BM25 over each message's own words and over its
words with the turns before and after it, and the cosine similarity of each
message's own vector (embedded with the end of the turn before it) and of its
vector in context (mixed with its neighbours': "adoption agencies" only means
something next to the question it answers). The votes are the lists' scores
scaled to 0..1 and weighted (convex fusion): BM25 by the list's best score,
since zero means no word matched; similarities min-max over the list's top
``candidates``, since a cosine has no such zero. Unlike reciprocal ranks, this
keeps how far ahead of the tenth the first one is.

Then a light rerank: a turn takes a share of its neighbours' score, a larger
one when the turn before it asked a question (the answer is in the reply);
every turn takes a share of its conversation's best score (evidence gathers in
the conversations about the thing asked); messages by a speaker the question
names ("What did Caroline paint?", for transcripts whose messages carry their
speaker) count more; the companion's own replies weigh a little less than the
user's words; messages inside a time window the question names get a boost;
and the best candidates are re-scored with the raw similarities so that ties
break by meaning rather than by order.

Everything is numpy over one (messages x 384) float32 matrix per user, kept in
memory and refreshed in place: ~1 ms for a thousand messages, ~10 ms for
50,000; the query's embedding (~10-25 ms) is most of the cost of a search.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, kw_only=True, slots=True)
class RecallTuning:
    """Weights of the signals. Set on LoCoMo and LongMemEval dev data, kept round
    and few so as not to fit them: see ``os1 bench memory``."""

    rrf_k: float = 10.0           # facts and notes vote by rank, 1/(rrf_k + rank); a list's
                                  # best message counts as their first: 1/(rrf_k + 1)
    bm25_weight: float = 1.5      # exact words (names, places) are the surest sign
    context_bm25_weight: float = 1.0  # the words of the message and the turns around it
    own_weight: float = 0.5       # the message's own vector
    context_weight: float = 1.0   # the message mixed with its neighbours
    neighbour_mix: float = 0.5    # neighbours' share in the context vector
    spread: float = 0.15          # share of the best neighbour's score a turn inherits
    reply_spread: float = 0.5     # share a turn inherits from a question just before it
    session_weight: float = 0.2   # share of its session's best score a turn inherits
    time_boost: float = 2.0       # added for messages inside the named period, in lists' best votes
    speaker_boost: float = 1.5    # factor for messages by a speaker the question names
    assistant_weight: float = 0.8  # the user's own words say more about them than replies do
    candidates: int = 150         # depth of each ranked list
    least_range: float = 0.03     # similarities closer than this do not span a whole vote
                                  # (a small memory's few turns: e5 spreads ~0.05 over 150)
    rerank_depth: int = 50
    rerank_weight: float = 0.02   # per unit of cosine similarity


class IndexRow(NamedTuple):
    """What the index keeps of a message besides its vector."""

    id: int
    session: int
    created_at: float
    role: str
    asks: bool            # it asks a question: its answer is in the next turn
    speaker: str | None   # the name it is labelled with ("Caroline: ..."), lowercased


#: A transcript's speaker label at the start of a message: one to three capitalised words.
_LABEL = re.compile(r"([A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2}):\s")


def speaker_label(head: str | None) -> str | None:
    """``"Caroline: I went..."`` -> ``"caroline"``: messages of imported chats
    and transcripts carry who said them; None for plain messages."""
    found = _LABEL.match(head or "")
    return found.group(1).lower() if found else None


class DenseIndex:
    """A user's messages in id order with their vectors (zero rows: not embedded yet).

    Kept in memory by the store and refreshed in place as messages are
    embedded (``set_vectors``) or added (``append``), so a large memory is not
    rebuilt for every batch; the store holds its lock around every use. The
    vectors are one contiguous float32 matrix with room to grow.

    The context vector of a turn (its own vector plus ``neighbour_mix`` times
    its neighbours', normalised) is never stored: its similarity to a query is
    the same mix of the turns' own similarities divided by the context's norm,
    so one matrix-vector product scores both (half the memory and time)."""

    __slots__ = ("ids", "sessions", "created", "prev", "next", "embedded", "spoken", "asks",
                 "session_pos", "speaker", "speaker_codes", "norm", "neighbour_mix", "_matrix",
                 "_last", "_session_index")

    def __init__(self, dim: int, neighbour_mix: float, capacity: int = 0):
        import numpy as np

        self.neighbour_mix = neighbour_mix
        self.ids = np.zeros(0, dtype=np.int64)       # ascending
        self.sessions = np.zeros(0, dtype=np.int64)
        self.created = np.zeros(0, dtype=np.float64)  # epoch seconds
        self.prev = np.zeros(0, dtype=np.int64)      # position of the previous turn of the session, or -1
        self.next = np.zeros(0, dtype=np.int64)      # position of the next turn, or -1
        self.embedded = np.zeros(0, dtype=bool)
        self.spoken = np.zeros(0, dtype=bool)        # said by the user (not by the companion)
        self.asks = np.zeros(0, dtype=bool)          # the message asks a question
        self.session_pos = np.zeros(0, dtype=np.int64)  # dense number of each turn's session
        self._session_index: dict[int, int] = {}
        self.speaker = np.zeros(0, dtype=np.int64)   # code of the labelled speaker, or -1
        self.speaker_codes: dict[str, int] = {}
        self.norm = np.zeros(0, dtype=np.float32)    # norm of each turn's context vector
        self._matrix = np.zeros((capacity, dim), dtype=np.float32)
        self._last: dict[int, int] = {}              # session -> position of its latest turn

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def own(self) -> np.ndarray:
        """(n, dim) float32: each message's own vector."""
        return self._matrix[: len(self.ids)]

    @property
    def max_id(self) -> int:
        return int(self.ids[-1]) if len(self.ids) else 0

    def positions(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Positions of ``ids`` (-1 for ids the index does not hold)."""
        import numpy as np

        wanted = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(wanted), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return np.where(self.ids[pos] == wanted, pos, -1)

    def append(self, rows: Sequence[IndexRow]) -> None:
        """Add messages newer than every one held."""
        import numpy as np

        rows = [r for r in rows if r[0] > self.max_id]
        if not rows:
            return
        start, n = len(self.ids), len(self.ids) + len(rows)
        if n > len(self._matrix):  # grow by half again: appends stay cheap
            grown = np.zeros((max(n, len(self._matrix) * 3 // 2 + 64), self._matrix.shape[1]),
                             dtype=np.float32)
            grown[:start] = self._matrix[:start]
            self._matrix = grown
        self.ids = np.append(self.ids, [r[0] for r in rows])
        self.sessions = np.append(self.sessions, [r[1] for r in rows])
        self.created = np.append(self.created, [r[2] for r in rows])
        self.spoken = np.append(self.spoken, [r[3] == "user" for r in rows])
        self.asks = np.append(self.asks, np.array([bool(r[4]) for r in rows], dtype=bool))
        self.session_pos = np.append(self.session_pos, [self._session_number(r[1]) for r in rows])
        self.speaker = np.append(self.speaker, [self._speaker_code(r[5]) for r in rows])
        self.embedded = np.append(self.embedded, np.zeros(len(rows), dtype=bool))
        self.prev = np.append(self.prev, np.full(len(rows), -1, dtype=np.int64))
        self.next = np.append(self.next, np.full(len(rows), -1, dtype=np.int64))
        self.norm = np.append(self.norm, np.zeros(len(rows), dtype=np.float32))
        touched = []
        for i in range(start, n):
            s = int(self.sessions[i])
            j = self._last.get(s)
            if j is not None:  # turns of one session chain up, even when sessions interleave
                self.prev[i], self.next[j] = j, i
                touched.append(j)
            self._last[s] = i
        self._renorm(np.array(touched + list(range(start, n)), dtype=np.int64))

    def set_vectors(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Store the vectors of messages held (others are ignored)."""
        import numpy as np

        pos = self.positions(ids)
        ok = pos >= 0
        pos = pos[ok]
        if not len(pos):
            return
        self._matrix[pos] = vectors[ok]
        self.embedded[pos] = True
        around = np.concatenate([pos, self.prev[pos], self.next[pos]])
        self._renorm(np.unique(around[around >= 0]))

    def clear_vectors(self, ids: Sequence[int]) -> None:
        """Forget the vectors of these messages (their words changed)."""
        import numpy as np

        pos = self.positions(ids)
        pos = pos[pos >= 0]
        if not len(pos):
            return
        self._matrix[pos] = 0.0
        self.embedded[pos] = False
        around = np.concatenate([pos, self.prev[pos], self.next[pos]])
        self._renorm(np.unique(around[around >= 0]))

    @property
    def session_count(self) -> int:
        return len(self._session_index)

    def _session_number(self, session: int) -> int:
        return self._session_index.setdefault(int(session), len(self._session_index))

    def _speaker_code(self, name: str | None) -> int:
        return -1 if name is None else self.speaker_codes.setdefault(name, len(self.speaker_codes))

    def named_in(self, query: str) -> np.ndarray:
        """Which messages are by a speaker ``query`` names (all False: none named)."""
        import numpy as np

        words = set(re.findall(r"[\w'-]+", query.lower()))
        codes = [code for name, code in self.speaker_codes.items() if set(name.split()) <= words]
        return np.isin(self.speaker, codes) if codes else np.zeros(len(self.ids), dtype=bool)

    def context_similarity(self, own_sim: np.ndarray) -> np.ndarray:
        """Cosine similarity of each context vector to the query, from ``own @ query``."""
        import numpy as np

        padded = np.append(own_sim, 0.0)  # position -1 reads 0
        mixed = own_sim + self.neighbour_mix * (padded[self.prev] + padded[self.next])
        return np.where(self.norm > 0, mixed / np.where(self.norm > 0, self.norm, 1.0), 0.0)

    def _renorm(self, positions: np.ndarray, chunk: int = 8192) -> None:
        """Recompute the context norms at ``positions`` (in chunks: bounded memory)."""
        import numpy as np

        own = self.own
        for start in range(0, len(positions), chunk):
            pos = positions[start : start + chunk]
            context = own[pos].copy()
            for side in (self.prev[pos], self.next[pos]):
                has = side >= 0
                context[has] += self.neighbour_mix * own[side[has]]
            self.norm[pos] = np.linalg.norm(context, axis=1)


def build_index(
    rows: Sequence[IndexRow],
    vectors: dict[int, np.ndarray] | tuple[np.ndarray, np.ndarray], dim: int,
    *, neighbour_mix: float,
) -> DenseIndex:
    """``rows``: the messages in id order;
    ``vectors``: {message id: vector}, or (ids, matrix)."""
    import numpy as np

    index = DenseIndex(dim, neighbour_mix, capacity=len(rows) + len(rows) // 8 + 64)
    n = len(rows)
    index.ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    index.sessions = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
    index.created = np.fromiter((r[2] for r in rows), dtype=np.float64, count=n)
    index.spoken = np.fromiter((r[3] == "user" for r in rows), dtype=bool, count=n)
    index.asks = np.fromiter((bool(r[4]) for r in rows), dtype=bool, count=n)
    index.session_pos = np.fromiter((index._session_number(s) for s in index.sessions.tolist()),
                                    dtype=np.int64, count=n)
    index.speaker = np.fromiter((index._speaker_code(r[5]) for r in rows), dtype=np.int64, count=n)
    index.embedded = np.zeros(n, dtype=bool)
    index.norm = np.zeros(n, dtype=np.float32)
    # Neighbours: consecutive turns of a session in id order (sessions may interleave).
    index.prev = np.full(n, -1, dtype=np.int64)
    index.next = np.full(n, -1, dtype=np.int64)
    if n:
        order = np.lexsort((np.arange(n), index.sessions))
        same = index.sessions[order[:-1]] == index.sessions[order[1:]]
        index.next[order[:-1][same]] = order[1:][same]
        index.prev[order[1:][same]] = order[:-1][same]
        ends = order[np.append(~same, True)]
        index._last = dict(zip(index.sessions[ends].tolist(), ends.tolist()))
    if isinstance(vectors, dict):
        ids = np.fromiter(vectors.keys(), dtype=np.int64, count=len(vectors))
        matrix = (np.stack(list(vectors.values())).astype(np.float32) if vectors
                  else np.zeros((0, dim), dtype=np.float32))
    else:
        ids, matrix = vectors
    pos = index.positions(ids)
    ok = pos >= 0
    index._matrix[pos[ok]] = matrix if ok.all() else matrix[ok]  # no copy of a big matrix
    index.embedded[pos[ok]] = True
    index._renorm(np.arange(n, dtype=np.int64))
    return index


def rank_messages(
    index: DenseIndex,
    *,
    words: Sequence[tuple[int, float]],
    context_words: Sequence[tuple[int, float]] = (),
    query_vector: np.ndarray | None,
    allowed: np.ndarray,
    window: tuple[float, float] | None,
    tuning: RecallTuning,
    limit: int,
    query: str = "",
) -> list[tuple[int, float]]:
    """(message id, score) best first, over the index's messages that are ``allowed``.

    ``words``, ``context_words``: full-text hits on a message's own words and
    on them with its neighbours', as (message id, BM25 score: higher is
    better); ids outside the index are ignored here (the caller merges them)."""
    import numpy as np

    n = len(index)
    if n == 0:
        return []
    k = tuning.rrf_k
    unit = 1.0 / (k + 1)  # what a list's best counts, as for rank-voted facts and notes
    score = np.zeros(n, dtype=np.float64)
    for hits, weight in ((words, tuning.bm25_weight), (context_words, tuning.context_bm25_weight)):
        if not hits or not weight:
            continue
        pos = index.positions([mid for mid, _ in hits])
        value = np.fromiter((v for _, v in hits), dtype=np.float64, count=len(hits))
        keep = pos >= 0
        keep[keep] = allowed[pos[keep]]
        pos, value = pos[keep], value[keep]
        if len(pos) and value.max() > 0:
            score[pos] += weight * unit * value / value.max()

    own_sim = ctx_sim = None
    usable = allowed & index.embedded
    if query_vector is not None and usable.any():
        # einsum, not BLAS: BLAS would start threads that spin beside the other
        # engines on two cores (see os1.compute); one core does 50,000 rows in ~5 ms.
        own_sim = np.einsum("ij,j->i", index.own, query_vector.astype(np.float32, copy=False))
        ctx_sim = index.context_similarity(own_sim)
        depth = min(tuning.candidates, int(usable.sum()))
        for sims, weight in ((own_sim, tuning.own_weight), (ctx_sim, tuning.context_weight)):
            masked = np.where(usable, sims, -np.inf)
            top = np.argpartition(-masked, depth - 1)[:depth]
            best = masked[top].max()
            floor = min(masked[top].min(), best - tuning.least_range)
            score[top] += weight * unit * (masked[top] - floor) / ((best - floor) or 1.0)

    if tuning.spread or tuning.reply_spread:
        padded = np.append(score, 0.0)
        before = padded[index.prev]
        inherited = tuning.spread * np.maximum(before, padded[index.next])
        if tuning.reply_spread:  # the answer to a matching question is in the reply
            asked = np.append(index.asks, False)[index.prev]
            inherited = np.maximum(inherited, np.where(asked, tuning.reply_spread * before, 0.0))
        score = score + inherited
    if tuning.session_weight:
        hit = np.flatnonzero(score)
        best = np.zeros(index.session_count, dtype=np.float64)
        np.maximum.at(best, index.session_pos[hit], score[hit])
        score = score + tuning.session_weight * best[index.session_pos]
    if tuning.speaker_boost != 1.0 and index.speaker_codes:
        score = np.where(index.named_in(query), score * tuning.speaker_boost, score)
    if tuning.assistant_weight != 1.0:
        score = np.where(index.spoken, score, score * tuning.assistant_weight)
    if window is not None and tuning.time_boost:
        inside = (index.created >= window[0]) & (index.created < window[1])
        score += np.where(inside & (score > 0), tuning.time_boost * unit, 0.0)
    score = np.where(allowed, score, 0.0)

    depth = min(max(limit, tuning.rerank_depth), int((score > 0).sum()))
    if depth == 0:
        return []
    top = np.argpartition(-score, depth - 1)[:depth]
    if own_sim is not None and ctx_sim is not None and tuning.rerank_weight:
        score[top] += tuning.rerank_weight * np.maximum(own_sim[top], ctx_sim[top])
    top = top[np.argsort(-score[top], kind="stable")][:limit]
    return [(int(index.ids[i]), float(score[i])) for i in top]

