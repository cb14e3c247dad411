"""The PostgreSQL tables (a person's memory, their reminders, the accounts,
their settings and notes, their mail), as versioned migrations.

The same tables as schema.py's SQLite ones, with PostgreSQL's own full-text
search (tsvector columns: a message's words, and its words with the turns
before and after it, kept by triggers) and pgvector for message vectors.

Every person's table has row-level security: a row is visible and writable only while
``os1.user`` (set in each transaction, with the role ``os1_person``, by
postgres.py) names its person. A statement that forgot its ``user_id`` filter
still sees that person's rows alone.
"""

from __future__ import annotations

#: Tables a person's rows live in (all with ``user_id`` and row-level security).
PERSON_TABLES = ("sessions", "messages", "facts", "actions", "profile", "message_vectors",
                 "summaries", "journal", "relationship", "self_descriptions")
#: The role every transaction of a person's memory runs as (no BYPASSRLS, not the owner).
ROLE = "os1_person"
_USER = "user_id text NOT NULL DEFAULT current_setting('os1.user')"


def _rls(tables: tuple[str, ...]) -> str:
    """Row-level security on ``tables``: their rows are the person's named by ``os1.user``."""
    return "".join(f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY person ON {table}
    USING (user_id = current_setting('os1.user', true))
    WITH CHECK (user_id = current_setting('os1.user', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {ROLE};
""" for table in tables)


_V1 = f"""
CREATE EXTENSION IF NOT EXISTS vector;
DO $$ BEGIN
    CREATE ROLE {ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
GRANT {ROLE} TO CURRENT_USER;

-- A text's words for the index, with joined words also in parts ("iPhone" -> "i Phone"),
-- as store.index_words does for SQLite.
CREATE FUNCTION os1_words(t text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT to_tsvector('english', t) || to_tsvector('english', regexp_replace(regexp_replace(
        regexp_replace(t, '([a-z])([A-Z])', '\\1 \\2', 'g'), '([A-Za-z])([0-9])', '\\1 \\2', 'g'),
        '([0-9])([A-Za-z])', '\\1 \\2', 'g'))
$f$;

CREATE TABLE sessions (
    id bigserial PRIMARY KEY,
    {_USER},
    channel text NOT NULL,
    started_at double precision NOT NULL,
    ended_at double precision,
    reflected_at double precision,
    reflected_through bigint,
    reflect_attempts integer NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id, id);

CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    {_USER},
    session_id bigint NOT NULL REFERENCES sessions(id),
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    content text NOT NULL,
    channel text NOT NULL DEFAULT 'text',
    interrupted integer NOT NULL DEFAULT 0,
    extracted integer NOT NULL DEFAULT 0,
    created_at double precision NOT NULL,
    words tsvector,
    context tsvector
);
CREATE INDEX messages_user ON messages (user_id, id);
CREATE INDEX messages_session ON messages (session_id, id);
CREATE INDEX messages_pending ON messages (user_id, extracted) WHERE extracted = 0;
CREATE INDEX messages_words ON messages USING gin (words);
CREATE INDEX messages_context ON messages USING gin (context);

-- A message's words with the turns before and after it in its session.
CREATE FUNCTION os1_recontext(mid bigint) RETURNS void LANGUAGE sql AS $f$
    UPDATE messages m SET context = os1_words(
        coalesce((SELECT p.content FROM messages p WHERE p.session_id = m.session_id AND p.id < m.id
                  ORDER BY p.id DESC LIMIT 1) || E'\\n', '')
        || m.content ||
        coalesce(E'\\n' || (SELECT n.content FROM messages n WHERE n.session_id = m.session_id
                  AND n.id > m.id ORDER BY n.id LIMIT 1), ''))
    WHERE m.id = mid
$f$;
CREATE FUNCTION os1_messages_words() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN
    NEW.words := os1_words(NEW.content);
    RETURN NEW;
END $f$;
CREATE TRIGGER messages_words BEFORE INSERT OR UPDATE OF content ON messages
    FOR EACH ROW EXECUTE FUNCTION os1_messages_words();
-- A message comes, goes or changes: so does its neighbours' context (and its vector).
CREATE FUNCTION os1_messages_changed() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
    changed_session bigint;
    changed bigint;
    prev_id bigint;
    next_id bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed_session := OLD.session_id; changed := OLD.id;
    ELSE
        changed_session := NEW.session_id; changed := NEW.id;
    END IF;
    SELECT max(id) INTO prev_id FROM messages WHERE session_id = changed_session AND id < changed;
    SELECT min(id) INTO next_id FROM messages WHERE session_id = changed_session AND id > changed;
    IF TG_OP <> 'DELETE' THEN
        PERFORM os1_recontext(changed);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM message_vectors WHERE message_id = changed;  -- embedded again from the new words
    END IF;
    PERFORM os1_recontext(prev_id);
    IF TG_OP <> 'INSERT' THEN
        PERFORM os1_recontext(next_id);
    END IF;
    RETURN NULL;
END $f$;
CREATE TRIGGER messages_changed AFTER INSERT OR DELETE OR UPDATE OF content ON messages
    FOR EACH ROW EXECUTE FUNCTION os1_messages_changed();

CREATE TABLE facts (
    id bigserial PRIMARY KEY,
    {_USER},
    text text NOT NULL,
    kind text NOT NULL,
    source_message_id bigint REFERENCES messages(id) ON DELETE CASCADE,
    created_at double precision NOT NULL,
    key text,
    valid_from double precision,
    superseded_by bigint,
    superseded_at double precision,
    corrected integer NOT NULL DEFAULT 0,
    words tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE INDEX facts_user ON facts (user_id, id);
CREATE INDEX facts_key ON facts (user_id, key) WHERE superseded_at IS NULL;
CREATE INDEX facts_superseded_by ON facts (superseded_by);
CREATE INDEX facts_words ON facts USING gin (words);
-- A fact's earlier wordings that the person corrected go with it; facts it
-- replaced become current again, since the only reason they were past is gone.
CREATE FUNCTION os1_facts_deleted() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN
    DELETE FROM facts WHERE superseded_by = OLD.id AND corrected = 1;
    UPDATE facts SET superseded_by = NULL, superseded_at = NULL WHERE superseded_by = OLD.id;
    RETURN NULL;
END $f$;
CREATE TRIGGER facts_deleted AFTER DELETE ON facts FOR EACH ROW EXECUTE FUNCTION os1_facts_deleted();

CREATE TABLE actions (
    id bigserial PRIMARY KEY,
    {_USER},
    tool text NOT NULL,
    arguments text NOT NULL,
    action text NOT NULL,
    warnings text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('pending', 'done', 'declined', 'expired', 'failed')),
    outcome text NOT NULL DEFAULT '',
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL,
    settled_at double precision
);
CREATE INDEX actions_user ON actions (user_id, id);

CREATE TABLE profile (
    {_USER},
    key text NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE message_vectors (
    message_id bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    {_USER},
    model text NOT NULL,
    vector vector NOT NULL  -- L2-normalised
);
CREATE INDEX message_vectors_user ON message_vectors (user_id, message_id);
""" + "".join(f"""
CREATE TABLE {table} (
    id bigserial PRIMARY KEY,
    {_USER},
    source_session_id bigint NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    {extra}
    text text NOT NULL,
    created_at double precision NOT NULL,
    words tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE INDEX {table}_user ON {table} (user_id, id);
CREATE INDEX {table}_session ON {table} (source_session_id);
CREATE INDEX {table}_words ON {table} USING gin (words);
""" for table, extra in (
    ("summaries", ""), ("journal", ""), ("self_descriptions", ""),
    ("relationship", "kind text NOT NULL CHECK (kind IN ('moment', 'joke', 'promise', 'open_loop')),"
                     " due_at double precision,"))) + _rls(PERSON_TABLES) + "".join(
    f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {ROLE};\n"
    for table in PERSON_TABLES if table not in ("profile", "message_vectors"))


#: Reminders and reach-outs (reach/store.py), beside the memory: several
#: workers then share one schedule, and one of them says what comes due.
REACH_TABLES = ("reach_items", "reach_log", "reach_state")
_V2 = f"""
CREATE TABLE reach_items (
    id bigserial PRIMARY KEY,
    {_USER},
    kind text NOT NULL CHECK (kind IN ('reminder', 'check_in', 'follow_up')),
    text text NOT NULL,
    schedule text NOT NULL,
    due_at double precision,
    latest_at double precision,
    source text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'done', 'cancelled', 'resolved')),
    held text,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL
);
CREATE INDEX reach_items_due ON reach_items (user_id, status, due_at);
CREATE TABLE reach_log (
    id bigserial PRIMARY KEY,
    {_USER},
    at double precision NOT NULL,
    items text NOT NULL,
    decision text NOT NULL CHECK (decision IN ('sent', 'held', 'dropped')),
    reason text NOT NULL,
    text text,
    delivered_at double precision,
    answered_at double precision,
    dismissed integer NOT NULL DEFAULT 0
);
CREATE INDEX reach_log_at ON reach_log (user_id, at);
CREATE TABLE reach_state (
    user_id text PRIMARY KEY DEFAULT current_setting('os1.user'),
    alive_at double precision NOT NULL
);
GRANT USAGE ON SEQUENCE reach_items_id_seq TO {ROLE};
GRANT USAGE ON SEQUENCE reach_log_id_seq TO {ROLE};
""" + _rls(REACH_TABLES)

#: The accounts (accounts.py), each person's own settings (what the page
#: writes; person_config.py) and notes (tools/notes.py): workers on several
#: hosts share them. The
#: accounts are the service's, read before anyone is known, so they have no
#: person and ``os1_person`` has no grant on them: a person's transaction cannot
#: read a password hash. A person's settings are theirs (row-level security).
_V3 = f"""
CREATE TABLE people (
    name text PRIMARY KEY,
    password text NOT NULL,
    created_at double precision NOT NULL
);
CREATE TABLE logins (
    digest text PRIMARY KEY,
    name text NOT NULL REFERENCES people(name) ON DELETE CASCADE,
    csrf text NOT NULL,
    expires_at double precision NOT NULL
);
CREATE TABLE tokens (
    digest text PRIMARY KEY,
    name text NOT NULL REFERENCES people(name) ON DELETE CASCADE,
    label text NOT NULL,
    created_at double precision NOT NULL
);
CREATE TABLE failures (
    key text NOT NULL,
    at double precision NOT NULL
);
CREATE INDEX failures_key ON failures (key, at);
CREATE TABLE person_settings (
    user_id text PRIMARY KEY DEFAULT current_setting('os1.user'),
    toml text NOT NULL,                -- as people/NAME/config.toml would hold it
    updated_at double precision NOT NULL
);
CREATE TABLE notes (                   -- what they asked os1 to write down (tools/notes.py)
    {_USER},
    name text NOT NULL,
    text text NOT NULL,
    saved_at double precision NOT NULL,
    PRIMARY KEY (user_id, name)
);
""" + _rls(("person_settings", "notes"))

#: os1's copy of each person's mail (mail/store.py): the same tables as its
#: SQLite file's, named apart from the memory's (``mail_accounts``, not
#: ``accounts``). The words of a message are PostgreSQL's own index of them,
#: the subject weighing most, then the sender, then the body; its vector is
#: pgvector's, as a message's of the memory.
MAIL_TABLES = ("mail_accounts", "mail_folders", "mails", "mail_vectors")
_V4 = f"""
CREATE TABLE mail_accounts (
    id bigserial PRIMARY KEY,
    {_USER},
    name text NOT NULL,
    address text NOT NULL,
    username text NOT NULL,
    imap_host text NOT NULL, imap_port integer NOT NULL, imap_security text NOT NULL,
    smtp_host text NOT NULL, smtp_port integer NOT NULL, smtp_security text NOT NULL,
    password_env text,                 -- the variable that holds the password; else the keyring
    ca_file text,                      -- a certificate to trust (a self-hosted server)
    created_at double precision NOT NULL,
    UNIQUE (user_id, name)
);
CREATE TABLE mail_folders (
    account_id bigint NOT NULL REFERENCES mail_accounts(id) ON DELETE CASCADE,
    {_USER},
    name text NOT NULL,
    role text NOT NULL DEFAULT '',     -- inbox, sent, archive, trash
    uidvalidity bigint,
    last_uid bigint NOT NULL DEFAULT 0,
    synced_at double precision,
    modseq bigint,                     -- CONDSTORE's HIGHESTMODSEQ when last read whole
    PRIMARY KEY (account_id, name)
);
CREATE TABLE mails (
    id bigserial PRIMARY KEY,
    {_USER},
    account_id bigint NOT NULL REFERENCES mail_accounts(id) ON DELETE CASCADE,
    folder text NOT NULL,
    uid bigint NOT NULL,
    message_id text NOT NULL,
    thread_key text NOT NULL,
    in_reply_to text NOT NULL DEFAULT '',
    refs text NOT NULL DEFAULT '',
    subject text NOT NULL,
    sender text NOT NULL,
    sender_name text NOT NULL,
    recipients text NOT NULL,          -- JSON list
    date double precision,
    text text NOT NULL,
    attachments text NOT NULL,         -- JSON list of [name, type, size]
    size bigint NOT NULL,
    seen integer NOT NULL DEFAULT 0,
    label text, reason text, spam_score double precision,
    -- The address in its parts, as SQLite's index has it (and a search's words are).
    words tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', subject), 'A')
        || setweight(to_tsvector('english', sender_name || ' ' || translate(sender, '@.', '  ')), 'B')
        || setweight(to_tsvector('english', text), 'C')) STORED,
    UNIQUE (account_id, folder, uid)
);
CREATE INDEX mails_user ON mails (user_id, date);
CREATE INDEX mails_thread ON mails (user_id, thread_key);
CREATE INDEX mails_message ON mails (user_id, message_id);
CREATE INDEX mails_words ON mails USING gin (words);
CREATE TABLE mail_vectors (
    mail_id bigint PRIMARY KEY REFERENCES mails(id) ON DELETE CASCADE,
    {_USER},
    model text NOT NULL,
    vector vector NOT NULL             -- L2-normalised
);
CREATE INDEX mail_vectors_user ON mail_vectors (user_id, model);
GRANT USAGE ON SEQUENCE mail_accounts_id_seq TO {ROLE};
GRANT USAGE ON SEQUENCE mails_id_seq TO {ROLE};
""" + _rls(MAIL_TABLES)

#: Migration n brings the database from version n - 1 to n. Only ever append.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4)
