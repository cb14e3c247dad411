"""Email end to end, as a new user would try it: `os1 mail add`, `os1 mail
sync`, then `os1 chat` with the real default model against a real Dovecot and a
real SMTP server. Nothing is sent without a yes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.timeout(900)]


def os1(home, *args, text: str | None = None, password: str = "", database: str | None = None,
        llm: str = "qwen2.5-0.5b"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    env.update(OS1_HOME=str(home), OS1_LLM=llm, HF_HUB_OFFLINE="1", OS1_MAIL_PASSWORD=password)
    if database:
        env["OS1_DATABASE_URL"] = database
    return subprocess.run([sys.executable, "-m", "os1", *args], input=text, capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture
def home(tmp_path, dovecot, smtp_server):
    added = os1(tmp_path, "mail", "add", "--address", dovecot.user, "--imap-host", dovecot.host,
                "--imap-port", str(dovecot.port), "--imap-security", "starttls", "--ca-file", str(dovecot.cafile),
                "--smtp-host", smtp_server.host, "--smtp-port", str(smtp_server.port), "--smtp-security",
                "starttls", "--password-env", "OS1_MAIL_PASSWORD", password=dovecot.password)
    assert added.returncode == 0, added.stderr
    synced = os1(tmp_path, "mail", "sync", password=dovecot.password)
    assert synced.returncode == 0 and "61 new" in synced.stdout, synced.stdout + synced.stderr
    return tmp_path


def test_a_wrong_password_is_said_plainly(tmp_path, dovecot):
    added = os1(tmp_path, "mail", "add", "--address", dovecot.user, "--imap-host", dovecot.host,
                "--imap-port", str(dovecot.port), "--imap-security", "starttls", "--ca-file", str(dovecot.cafile),
                "--smtp-host", "127.0.0.1", "--smtp-security", "starttls", "--password-env", "OS1_MAIL_PASSWORD",
                password="wrong")
    assert added.returncode == 1 and "refused the password" in added.stderr and "Traceback" not in added.stderr


def test_with_a_database_url_an_added_account_is_kept_in_postgresql(tmp_path, pg_url):
    from os1.mail.store import MailStore

    added = os1(tmp_path, "mail", "add", "--address", "sam@example.org", "--imap-host", "imap.example.org",
                "--imap-security", "ssl", "--smtp-host", "smtp.example.org", "--smtp-security", "ssl",
                "--password-env", "OS1_MAIL_PASSWORD", "--no-check", database=pg_url)
    assert added.returncode == 0, added.stderr
    store = MailStore(pg_url, "local", embedder=None)
    assert [a.imap_host for a in store.accounts()] == ["imap.example.org"]
    store.close()
    assert not (tmp_path / "mail.sqlite3").exists()
    assert "No mail yet" in os1(tmp_path, "mail", "triage", database=pg_url).stdout


def test_triage_lists_what_needs_an_answer(home, dovecot):
    listed = os1(home, "mail", "triage", "--label", "needs reply", password=dovecot.password)
    assert "Dinner on Friday?" in listed.stdout and "asks you something" in listed.stdout


@pytest.mark.model
@pytest.mark.parametrize("answer, sent", [("no", False), ("yes", True)])
def test_a_reply_is_drafted_shown_and_sent_only_after_a_yes(home, dovecot, smtp_server, answer, sent):
    # The default model, as a new user has it. The 0.5B, asked after its summary
    # of the inbox, drafted the reply on one day in six (the date is in the
    # prompt: gate 0.18-0.40 against its bar of 0.6; the 1.5B 0.77-0.82 against 0.05).
    chat = os1(home, "chat", password=dovecot.password, llm="qwen2.5-1.5b",
               text=f"Any emails I need to answer?\nReply to Robert that I'll be there\n{answer}\n")
    assert chat.returncode == 0, chat.stderr
    print(chat.stdout, chat.stderr, sep="\n--- stderr ---\n")  # shown with -s: the conversation
    first_reply = chat.stdout.split("Shall I send")[0].lower()  # the answer to "Any emails...?"
    assert first_reply.strip(), chat.stdout  # what it says of the inbox varies (two or three of the emails)
    assert "Do it? [y/N]" in chat.stderr and "robert@example.net" in chat.stderr, chat.stderr
    if not sent:
        assert smtp_server.received == []
        return
    (got,) = smtp_server.received
    assert got.rcpt_tos == ("robert@example.net",)
    assert got.message["Subject"] == "Re: Dinner on Friday?" and "be there" in got.message.get_content()
    actions = os1(home, "actions")
    assert "reply_mail" in actions.stdout and "done" in actions.stdout
