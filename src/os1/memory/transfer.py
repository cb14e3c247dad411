"""Export and import: a user's whole memory as readable JSON.

The export holds everything os1 remembers about one user: profile, facts with
their history, sessions, messages, and what the companion wrote while
reflecting (summaries, journal, relationship records, self-descriptions). Ids
in it are refs ("m12", "f3"); an import gives everything new ids in the
current user's memory and keeps the links between items (a fact's source
message, the fact that replaced it, a note's session).

An import adds to what is there; items already present (same words at the
same time) are skipped, so importing a file twice changes nothing. Vectors are
not exported: they are computed again from the messages in the background.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from os1.errors import StorageError
from os1.memory.store import (
    RELATIONSHIP_KINDS, Conversations, Fact, Facts, Note, Profile, Reflections, Restore, Session, StoredMessage,
)

FORMAT = "os1-memory"
#: The export's own version: 2 had no sessions, 3 added facts over time and the
#: reflections. Schema changes that do not show in an export leave it alone.
EXPORT_VERSION = 3
#: Export list -> the kinds of note the companion writes while reflecting in it.
NOTE_LISTS: dict[str, tuple[str, ...]] = {"summaries": ("summary",), "journal": ("journal",),
                                          "relationship": RELATIONSHIP_KINDS, "self_description": ("self",)}


class Transferable(Conversations, Facts, Reflections, Profile, Restore, Protocol):
    """The ports an export reads and an import writes through."""

    user: str


def read_export(source: str | Path) -> Any:
    """An export's contents, from a file or ("-") standard input."""
    try:
        raw = sys.stdin.read() if str(source) == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"Cannot read {source}: {exc.strerror}.") from exc
    except UnicodeDecodeError as exc:
        raise StorageError(f"{source} is not an os1 memory export: it is not UTF-8 text.") from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise StorageError(f"{source} is not valid JSON: {exc}.") from exc
    except RecursionError as exc:  # [[[[... a thousand deep: Python's decoder recurses
        raise StorageError(f"{source} is not an os1 memory export: it is nested too deeply.") from exc


def export_memory(store: Transferable) -> dict[str, Any]:
    notes = store.notes()
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": EXPORT_VERSION,
        "user": store.user,
        "exported_at": iso(time.time()),
        "profile": store.profile(),
        "facts": [
            {"id": f.ref, "text": f.text, "kind": f.kind, "key": f.key,
             "valid_from": iso(f.valid_from), "created_at": iso(f.created_at),
             "source": f"m{f.source_message_id}" if f.source_message_id else None,
             "superseded_by": f"f{f.superseded_by}" if f.superseded_by else None,
             "superseded_at": iso(f.superseded_at), "corrected": f.corrected}
            for f in store.facts(include_history=True)
        ],
        "sessions": [
            {"id": s.id, "channel": s.channel, "started_at": iso(s.started_at),
             "ended_at": iso(s.ended_at), "reflected_at": iso(s.reflected_at),
             "reflected_through": f"m{s.reflected_through}" if s.reflected_through else None}
            for s in store.sessions()
        ],
        "messages": [
            {"id": m.ref, "session": m.session_id, "role": m.role, "content": m.content,
             "channel": m.channel, "interrupted": m.interrupted, "mined": m.mined,
             "created_at": iso(m.created_at)}
            for m in store.messages(limit=None)
        ],
    }
    for name, kinds in NOTE_LISTS.items():
        data[name] = [
            {"id": n.ref, "session": n.session_id,
             **({"kind": n.kind, "due": iso(n.due_at)} if name == "relationship" else {}),
             "text": n.text, "created_at": iso(n.created_at)}
            for n in sorted((n for n in notes if n.kind in kinds), key=lambda n: n.id)
        ]
    return data


def import_memory(store: Transferable, data: dict[str, Any]) -> dict[str, int]:
    """Add ``data`` (an export, from this or an older version) to the store's
    user, whoever it was exported from. Returns how many items of each kind
    were added. Raises StorageError for a file that is not an export."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StorageError("This is not an os1 memory export (its \"format\" is not os1-memory).")
    version = data.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise StorageError(
            f"This memory export is version {version!r}; this os1 reads versions up to "
            f"{EXPORT_VERSION}. Upgrade os1 to import it."
        )
    try:
        _check_ids(data)
        with store.restoring():
            return _Importer(store).run(data)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        # ArithmeticError: a number too large for what it stands for (a session's, say)
        raise StorageError(f"The memory export is damaged or incomplete ({exc!r}).") from exc


class _Importer:
    """One import, inside the store's transaction."""

    def __init__(self, store: Transferable):
        self.store = store
        self.counts = {k: 0 for k in ("profile", "sessions", "messages", "facts", *NOTE_LISTS)}
        self.session_ids: dict[int, int] = {}
        self.message_ids: dict[str, int] = {}

    def run(self, data: dict[str, Any]) -> dict[str, int]:
        for key, value in dict(data.get("profile") or {}).items():
            self.store.set_profile(str(key), str(value))
            self.counts["profile"] += 1
        messages = list(data.get("messages") or [])
        sessions = list(data.get("sessions") or []) or _sessions_of(messages)
        self._messages(sessions, messages)
        self._facts(list(data.get("facts") or []))
        known_notes = {(n.kind, n.session_id, n.text) for n in self.store.notes()}
        for name in NOTE_LISTS:
            self._notes(name, list(data.get(name) or []), known_notes)
        return self.counts

    def _messages(self, sessions: list[dict[str, Any]], messages: list[dict[str, Any]]) -> None:
        known: dict[tuple[str, str, int], int] = {
            (m.role, m.content, round(m.created_at)): m.id for m in self.store.messages(limit=None)}
        known_sessions = {(round(s.started_at), s.channel): s.id for s in self.store.sessions()}
        by_session: dict[int, list[dict[str, Any]]] = {}
        for m in messages:
            by_session.setdefault(int(m["session"]), []).append(m)
        for s in sessions:
            old = int(s["id"])
            channel = str(s.get("channel") or "text")
            started = required_time(s["started_at"], f"session {old}")
            existing = known_sessions.get((round(started), channel))
            if existing is not None:  # imported before: add only what is missing
                self.session_ids[old] = existing
            else:
                self.session_ids[old] = self.store.restore_session(
                    Session(0, channel, started, parse_time(s.get("ended_at"))))
                self.counts["sessions"] += 1
            for m in by_session.get(old, []):
                self._message(m, self.session_ids[old], known)
            reflected = self.message_ids.get(str(s.get("reflected_through") or ""))
            if existing is None and (reflected or s.get("reflected_at")):
                self.store.set_reflected(self.session_ids[old], parse_time(s.get("reflected_at")), reflected)

    def _message(self, m: dict[str, Any], session: int, known: dict[tuple[str, str, int], int]) -> None:
        hit = known.get(_message_key(m))
        if hit is not None:
            self.message_ids[str(m["id"])] = hit
            return
        role = m["role"]
        if role not in ("user", "assistant"):
            raise ValueError(f"message {m.get('id')}: role {role!r}")
        self.message_ids[str(m["id"])] = self.store.restore_message(StoredMessage(
            0, session, role, str(m["content"]), str(m.get("channel") or "text"),
            required_time(m["created_at"], f"message {m.get('id')}"),
            interrupted=bool(m.get("interrupted")),
            mined=bool(m.get("mined", True)),  # older exports: their facts came along
        ))
        self.counts["messages"] += 1

    def _facts(self, facts: list[dict[str, Any]]) -> None:
        known = {(f.text.lower(), round(f.valid_from or 0)) for f in self.store.facts(include_history=True)}
        fresh = []
        for f in facts:
            created = required_time(f["created_at"], f"fact {f.get('id')}")
            valid_from = parse_time(f.get("valid_from")) or created
            if (str(f["text"]).lower(), round(valid_from)) not in known:
                fresh.append((f, created, valid_from))
        coming = {str(f["id"]) for f, _, _ in fresh}
        new_ids: dict[str, int] = {}
        for f, created, valid_from in fresh:
            # Replaced by a fact that is not coming in with it: current again.
            history = str(f.get("superseded_by") or "") in coming
            new_ids[str(f["id"])] = self.store.restore_fact(Fact(
                0, str(f["text"]), str(f.get("kind") or "other"),
                self.message_ids.get(str(f.get("source") or "")), created, key=f.get("key"),
                valid_from=valid_from,
                superseded_at=parse_time(f.get("superseded_at")) if history else None,
                corrected=bool(f.get("corrected")) and history,
            ))
            self.counts["facts"] += 1
        # Second pass: a fact is replaced by one later in the file.
        for f, _, _ in fresh:
            if (by := new_ids.get(str(f.get("superseded_by") or ""))) is not None:
                self.store.supersede(new_ids[str(f["id"])], by)

    def _notes(self, name: str, notes: list[dict[str, Any]], known: set[tuple[str, int | None, str]]) -> None:
        for n in notes:
            session = self.session_ids.get(int(n["session"]))
            if name == "relationship":
                kind = n["kind"]
                if kind not in RELATIONSHIP_KINDS:
                    raise ValueError(f"relationship {n.get('id')}: kind {kind!r}")
            else:
                kind = NOTE_LISTS[name][0]
            if session is None or (kind, session, str(n["text"])) in known:
                continue  # a note belongs to a session; without it there is nothing to hang it on
            self.store.restore_note(Note(
                0, kind, str(n["text"]), session, required_time(n["created_at"], f"{name} {n.get('id')}"),
                parse_time(n.get("due")) if name == "relationship" else None))
            self.counts[name] += 1


def _check_ids(data: dict[str, Any]) -> None:
    """Refuse an export whose items' ids repeat, or that names a session or a
    message it does not hold: which message a fact came from (or which
    session's messages to take, twice) would be a guess, and messages of a
    session not listed would be left out."""
    for part in ("sessions", "messages", "facts"):
        ids = [str(item.get("id")) for item in data.get(part) or () if isinstance(item, dict)]
        if twice := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"{part} {', '.join(twice[:5])} appear more than once")
    messages = {str(m.get("id")) for m in data.get("messages") or () if isinstance(m, dict)}
    if data.get("sessions"):  # (older exports list none: their messages make them)
        sessions = {str(s.get("id")) for s in data["sessions"] if isinstance(s, dict)}
        for m in data.get("messages") or ():
            if isinstance(m, dict) and str(m.get("session")) not in sessions:
                raise ValueError(f"message {m.get('id')} is in session {m.get('session')}, which it does not hold")
    for f in data.get("facts") or ():
        if isinstance(f, dict) and f.get("source") not in (None, "") and str(f["source"]) not in messages:
            raise ValueError(f"fact {f.get('id')} comes from message {f['source']}, which it does not hold")


def _sessions_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sessions for an export that lists none (version 2): one per session
    number, from its first message to its last."""
    sessions: dict[int, dict[str, Any]] = {}
    for m in messages:
        s = sessions.setdefault(int(m["session"]), {
            "id": int(m["session"]), "channel": m.get("channel"), "started_at": m["created_at"]})
        s["ended_at"] = m["created_at"]
    return list(sessions.values())


def _message_key(m: dict[str, Any]) -> tuple[str, str, int]:
    return (str(m["role"]), str(m["content"]), round(parse_time(m["created_at"]) or 0))


def iso(ts: float | None) -> str | None:
    """Epoch seconds as local ISO 8601 with its UTC offset (None stays None)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def required_time(value: Any, what: str) -> float:
    """An export's time that must be there."""
    seconds = parse_time(value)
    if seconds is None:
        raise ValueError(f"{what}: no time")
    return seconds


#: The years an export's times may fall in: the export writes four digits.
YEARS = (1000, 9999)


def parse_time(value: Any) -> float | None:
    """An export's time (ISO 8601, or epoch seconds) as epoch seconds;
    ValueError for one no calendar holds (1e300, Infinity, the year 0)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a time")
    try:
        if isinstance(value, int | float):
            when = datetime.fromtimestamp(value).astimezone()
        else:
            try:
                when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
            except ValueError:
                when = datetime.fromisoformat(value)  # raises ValueError if it is no time
    except (OverflowError, OSError) as exc:
        raise ValueError(f"{value!r} is not a time") from exc
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise ValueError(f"{value!r} is not a time os1 can keep")
    return when.timestamp()

