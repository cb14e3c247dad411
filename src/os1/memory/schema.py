"""The SQLite schema of the memory store, and its migration from older versions.

Version history:
  1-2  sessions, messages (+ FTS), facts (+ FTS), profile, message vectors.
  3    facts over time (key, valid_from, superseded_by/at, corrected); sessions
       remember how far they were reflected on; the companion's reflections:
       summaries, journal, relationship records and self-descriptions, each with
       the session it was drawn from (+ FTS for the first three).
  4    messages_fts indexes a message's words, messages_context_fts them with
       the turns around it; both with joined words also in parts (``os1_words``,
       a function every connection registers: store.index_words).
  5    actions: what os1 proposed to do with a tool, and what came of it.

The whole schema (and any migration) is applied in one transaction, so a crash
or a second process opening the file at the same time never sees half of it.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 5

#: Trigger parts: index a message's context anew; the turn before / after message {m}.
_RECONTEXT = ("UPDATE messages_context_fts SET context = (SELECT os1_words(around)"
              " FROM message_context WHERE id = messages_context_fts.rowid)")
_BEFORE = "(SELECT max(id) FROM messages WHERE session_id = {m}.session_id AND id < {m}.id)"
_AFTER = "(SELECT min(id) FROM messages WHERE session_id = {m}.session_id AND id > {m}.id)"

_TABLES = (
    """CREATE TABLE IF NOT EXISTS sessions (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL,
        reflected_at REAL,            -- NULL: its summary and journal are (re)due
        reflected_through INTEGER,    -- last message whose facts reflection has drawn
        reflect_attempts INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        channel TEXT NOT NULL DEFAULT 'text',
        interrupted INTEGER NOT NULL DEFAULT 0,
        extracted INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS messages_user ON messages(user_id, id)",
    "CREATE INDEX IF NOT EXISTS messages_pending ON messages(user_id, extracted) WHERE extracted = 0",
    "CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id, id)",
    """CREATE TABLE IF NOT EXISTS facts (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        text TEXT NOT NULL,
        kind TEXT NOT NULL,
        source_message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        key TEXT,
        valid_from REAL,
        superseded_by INTEGER,  -- no foreign key: the facts_ad trigger decides what happens
        superseded_at REAL,
        corrected INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS facts_user ON facts(user_id, id)",
    # Every action os1 proposed (an "act" tool call) and its outcome, kept
    # even when the session's messages are forgotten: the person's record.
    """CREATE TABLE IF NOT EXISTS actions (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        arguments TEXT NOT NULL,       -- JSON, as checked
        action TEXT NOT NULL,          -- what the person was shown
        warnings TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'declined', 'expired', 'failed')),
        outcome TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        settled_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS actions_user ON actions(user_id, id)",
    "CREATE INDEX IF NOT EXISTS facts_key ON facts(user_id, key) WHERE superseded_at IS NULL",
    "CREATE INDEX IF NOT EXISTS facts_superseded_by ON facts(superseded_by)",
    """CREATE TABLE IF NOT EXISTS profile (
        user_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (user_id, key)
    )""",
    # Their own copies of the words, not external-content indexes: a message's
    # context changes when its neighbours come and go, and such an index could
    # not be told which words to take out. Two tables, not two columns: BM25
    # weighs a match by the length of the whole row.
    """CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
        words, tokenize='porter unicode61'
    )""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS messages_context_fts USING fts5(
        context, tokenize='porter unicode61'
    )""",
    # A message with the turns before and after it in its session.
    """CREATE VIEW IF NOT EXISTS message_context AS SELECT m.id AS id,
        coalesce((SELECT p.content FROM messages p WHERE p.session_id = m.session_id
                  AND p.id < m.id ORDER BY p.id DESC LIMIT 1) || char(10), '')
        || m.content ||
        coalesce(char(10) || (SELECT n.content FROM messages n WHERE n.session_id = m.session_id
                  AND n.id > m.id ORDER BY n.id LIMIT 1), '') AS around
    FROM messages m""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS facts_fts USING fts5(
        text, content='facts', content_rowid='id', tokenize='porter unicode61'
    )""",
    """CREATE TABLE IF NOT EXISTS message_vectors (
        message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL  -- float32, L2-normalised
    )""",
    # A message comes, goes or changes: so do its words, and its neighbours' context.
    f"""CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, words) VALUES (new.id, os1_words(new.content));
        INSERT INTO messages_context_fts(rowid, context)
            SELECT id, os1_words(around) FROM message_context WHERE id = new.id;
        {_RECONTEXT} WHERE rowid = {_BEFORE.format(m="new")};
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
        DELETE FROM messages_fts WHERE rowid = old.id;
        DELETE FROM messages_context_fts WHERE rowid = old.id;
        {_RECONTEXT} WHERE rowid IN ({_BEFORE.format(m="old")}, {_AFTER.format(m="old")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF content ON messages BEGIN
        UPDATE messages_fts SET words = os1_words(new.content) WHERE rowid = new.id;
        {_RECONTEXT} WHERE rowid IN (new.id, {_BEFORE.format(m="new")}, {_AFTER.format(m="new")});
    END""",
    """CREATE TRIGGER IF NOT EXISTS message_vectors_au AFTER UPDATE OF content ON messages BEGIN
        DELETE FROM message_vectors WHERE message_id = new.id;  -- embedded again from the new words
    END""",
    """CREATE TRIGGER IF NOT EXISTS facts_ai AFTER INSERT ON facts BEGIN
        INSERT INTO facts_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    # A fact's earlier wordings that the user corrected go with it; facts it
    # replaced become current again, since the only reason they were past is gone.
    # (recursive_triggers is on: a chain of corrections goes all the way.)
    """CREATE TRIGGER IF NOT EXISTS facts_ad AFTER DELETE ON facts BEGIN
        INSERT INTO facts_fts(facts_fts, rowid, text) VALUES ('delete', old.id, old.text);
        DELETE FROM facts WHERE superseded_by = old.id AND corrected = 1;
        UPDATE facts SET superseded_by = NULL, superseded_at = NULL WHERE superseded_by = old.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS facts_au AFTER UPDATE OF text ON facts BEGIN
        INSERT INTO facts_fts(facts_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO facts_fts(rowid, text) VALUES (new.id, new.text);
    END""",
)

#: Notes the companion writes while reflecting: table -> extra columns.
NOTE_TABLES = {
    "summaries": "",
    "journal": "",
    "relationship": (
        "kind TEXT NOT NULL CHECK (kind IN ('moment', 'joke', 'promise', 'open_loop')),"
        " due_at REAL,"
    ),
    "self_descriptions": "",
}
#: The tables that hold a person's memory (each row with their ``user_id``).
MEMORY_TABLES = ("sessions", "messages", "facts", "actions", "profile", *NOTE_TABLES)
#: Notes found by full-text search (a self-description is about the companion, not a memory).
SEARCHABLE_NOTES = ("summaries", "journal", "relationship")


def _note_tables() -> tuple[str, ...]:
    statements = []
    for table, extra in NOTE_TABLES.items():
        statements += [
            f"""CREATE TABLE IF NOT EXISTS {table} (
                id INTEGER PRIMARY KEY,
                user_id TEXT NOT NULL,
                source_session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                {extra}
                text TEXT NOT NULL,
                created_at REAL NOT NULL
            )""",
            f"CREATE INDEX IF NOT EXISTS {table}_user ON {table}(user_id, id)",
            f"CREATE INDEX IF NOT EXISTS {table}_session ON {table}(source_session_id)",
        ]
    for table in SEARCHABLE_NOTES:
        statements += [
            f"""CREATE VIRTUAL TABLE IF NOT EXISTS {table}_fts USING fts5(
                text, content='{table}', content_rowid='id', tokenize='porter unicode61'
            )""",
            f"""CREATE TRIGGER IF NOT EXISTS {table}_ai AFTER INSERT ON {table} BEGIN
                INSERT INTO {table}_fts(rowid, text) VALUES (new.id, new.text);
            END""",
            f"""CREATE TRIGGER IF NOT EXISTS {table}_ad AFTER DELETE ON {table} BEGIN
                INSERT INTO {table}_fts({table}_fts, rowid, text) VALUES ('delete', old.id, old.text);
            END""",
            f"""CREATE TRIGGER IF NOT EXISTS {table}_au AFTER UPDATE OF text ON {table} BEGIN
                INSERT INTO {table}_fts({table}_fts, rowid, text) VALUES ('delete', old.id, old.text);
                INSERT INTO {table}_fts(rowid, text) VALUES (new.id, new.text);
            END""",
        ]
    return tuple(statements)


STATEMENTS = _TABLES + _note_tables()

#: Columns added since version 2, by table (ALTER TABLE ... ADD COLUMN).
_ADDED_COLUMNS = {
    "sessions": (
        ("reflected_at", "REAL"),
        ("reflected_through", "INTEGER"),
        ("reflect_attempts", "INTEGER NOT NULL DEFAULT 0"),
    ),
    "facts": (
        ("key", "TEXT"),
        ("valid_from", "REAL"),
        ("superseded_by", "INTEGER"),
        ("superseded_at", "REAL"),
        ("corrected", "INTEGER NOT NULL DEFAULT 0"),
    ),
}


def apply(db: sqlite3.Connection, version: int) -> None:
    """Create or upgrade the schema from ``version`` (0: a new file), in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        # Read again inside the transaction: another process may have just upgraded it.
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if 0 < version < SCHEMA_VERSION:
            _migrate(db)
        if 0 < version < 4:  # the message index changed shape: built anew below
            for name in ("messages_ai", "messages_ad", "messages_au"):
                db.execute(f"DROP TRIGGER IF EXISTS {name}")
            db.execute("DROP TABLE IF EXISTS messages_fts")
        for statement in STATEMENTS:
            db.execute(statement)
        if 0 < version < 4:
            db.execute("INSERT INTO messages_fts(rowid, words)"
                       " SELECT id, os1_words(content) FROM messages")
            db.execute("INSERT INTO messages_context_fts(rowid, context)"
                       " SELECT id, os1_words(around) FROM message_context")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _migrate(db: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if not have:
            continue  # not there yet: created whole below
        for name, decl in columns:
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'facts'").fetchone():
        return
    # A fact became true when it was said (the best a version-2 database knows).
    db.execute(
        "UPDATE facts SET valid_from = coalesce("
        "(SELECT created_at FROM messages WHERE id = facts.source_message_id), created_at)"
        " WHERE valid_from IS NULL"
    )
    db.execute("DROP TRIGGER IF EXISTS facts_ad")  # recreated with the history rules
