"""What only the PostgreSQL backend does: row-level security under every
statement, its own full-text index of a message in context, versioned
migrations, and several workers (stores) on one database serving one person.
The behaviour both backends share is tested on both (``make_memory``)."""

from __future__ import annotations

import psycopg
import pytest

from os1.errors import StorageError
from os1.memory.pg_schema import MAIL_TABLES, MIGRATIONS, PERSON_TABLES, REACH_TABLES
from os1.memory.postgres import PostgresMemory, migrate

from test_memory_recall import TableEmbedder


def test_row_level_security_holds_when_a_statement_forgets_its_filter(pg_url):
    alice, bob = PostgresMemory(pg_url, "alice", embedder=None), PostgresMemory(pg_url, "bob", embedder=None)
    sid = alice.start_session("text")
    alice.add_message(sid, "user", "Alice's locker code is 4417.")
    alice.add_fact("Alice's locker code is 4417.", kind="other", source_message_id=None)
    # No user filter at all: the database itself keeps to the person of the transaction.
    assert [r[0] for r in bob._exec("SELECT content FROM messages")] == []
    assert bob._exec("SELECT count(*) FROM facts").fetchone()[0] == 0
    assert bob._exec("DELETE FROM messages").rowcount == 0
    assert bob._exec("UPDATE facts SET text = 'x'").rowcount == 0
    with pytest.raises(StorageError, match="row-level security"):
        bob._exec("INSERT INTO sessions (user_id, channel, started_at) VALUES ('alice', 'text', 0)")
    assert [r[0] for r in alice._exec("SELECT content FROM messages")] == ["Alice's locker code is 4417."]
    assert alice.facts()[0].text == "Alice's locker code is 4417."


def test_the_tables_are_owned_elsewhere_and_every_one_has_a_policy(pg_url):
    PostgresMemory(pg_url, "alice", embedder=None)
    with psycopg.connect(pg_url) as conn:
        tables = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
            " AND relname <> 'os1_migrations'")}
        policies = {r[0] for r in conn.execute("SELECT tablename FROM pg_policies")}
    # The accounts are the service's, read before anyone is known: no person, no policy, no grant.
    service = {"people", "logins", "tokens", "failures"}
    assert set(tables) - service == policies
    assert {*PERSON_TABLES, *REACH_TABLES, *MAIL_TABLES, "person_settings"} <= policies
    assert all(enabled and forced for name, (enabled, forced) in tables.items() if name not in service)


def test_a_message_is_found_by_the_words_around_it(pg_url):
    m = PostgresMemory(pg_url, "alice", embedder=None)
    sid = m.start_session("text")
    shoes = m.add_message(sid, "user", "Look at my new running shoes!")
    reply = m.add_message(sid, "assistant", "Love that purple colour.")
    later = m.add_message(sid, "user", "Anyway, work was busy.")

    def around(word):
        return {r[0] for r in m._exec("SELECT id FROM messages WHERE context @@ to_tsquery('english', ?)",
                                      (word,))}

    assert around("shoes") == {shoes, reply} and around("purple") == {shoes, reply, later}
    m.revise_message(reply, "Love that green colour.", interrupted=False)
    assert around("purple") == set() and around("green") == {shoes, reply, later}
    assert m.forget(f"m{reply}")
    assert around("green") == set() and around("shoes") == {shoes, later}


def test_migrations_run_once_and_a_newer_database_is_refused(pg_url):
    PostgresMemory(pg_url, "alice", embedder=None)
    assert migrate(pg_url) == len(MIGRATIONS)  # again: nothing to do
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM os1_migrations").fetchone()[0] == len(MIGRATIONS)
        conn.execute("INSERT INTO os1_migrations (version) VALUES (%s)", (len(MIGRATIONS) + 1,))
    with pytest.raises(StorageError, match="newer os1"):
        migrate(pg_url)


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="os1.s database") as error:
        PostgresMemory(f"postgresql://os1:secret-pw@/nowhere?host={tmp_path}", "alice", embedder=None)
    assert "secret-pw" not in str(error.value)


def test_two_workers_serve_one_person_from_one_database(pg_url):
    embedder = TableEmbedder({"alpha note": 0, "beta note": 1, "gamma": 2}, {"find gamma note": [2]})
    one = PostgresMemory(pg_url, "alice", embedder=embedder)
    two = PostgresMemory(pg_url, "alice", embedder=embedder)
    sid = one.start_session("text")
    one.add_message(sid, "user", "alpha note")
    assert two.search("alpha")[0].text == "alpha note"  # the other worker reads the index whole
    gamma = one.add_message(two.start_session("text"), "user", "gamma")
    one.add_message(sid, "user", "beta note")
    assert one.embed_pending() == 3
    assert two.search("find gamma note", limit=1)[0].text == "gamma"  # appended, with its vector
    assert one.forget(f"m{gamma}")
    assert all(h.text != "gamma" for h in two.search("find gamma note"))  # gone there too
    assert [m.content for m in two.messages()] == ["alpha note", "beta note"]


def test_a_vector_another_worker_made_for_a_message_already_read_is_found(pg_url):
    embedder = TableEmbedder({"alpha note": 0, "beta note": 1, "gamma": 2}, {"the third letter": [2]})
    one = PostgresMemory(pg_url, "alice", embedder=embedder)
    two = PostgresMemory(pg_url, "alice", embedder=embedder)
    sid = one.start_session("text")
    for text in ("alpha note", "gamma", "beta note"):
        one.add_message(sid, "user", text)
    two._warm()  # as a conversation starting there does: the index read with the three, none embedded
    assert one.embed_pending() == 3
    # No word in common: found by its vector alone.
    assert [h.text for h in two.search("the third letter", limit=1)] == ["gamma"]


def test_forgetting_a_person_takes_all_of_theirs_and_nothing_else(pg_url):
    alice, bob = PostgresMemory(pg_url, "alice", embedder=None), PostgresMemory(pg_url, "bob", embedder=None)
    for m in (alice, bob):
        sid = m.start_session("text")
        mid = m.add_message(sid, "user", f"{m.user} likes lighthouses")
        m.add_fact(f"{m.user} likes lighthouses", kind="preference", source_message_id=mid)
        m.set_profile("name", m.user)
        m.add_action("save_note", {"text": "x"}, "Save a note", [], expires_at=0)
    assert bob.forget_everything() > 0
    assert bob.messages() == [] and bob.facts() == [] and bob.profile() == {} and bob.actions() == []
    assert len(alice.messages()) == 1 and len(alice.facts()) == 1 and alice.profile() == {"name": "alice"}
