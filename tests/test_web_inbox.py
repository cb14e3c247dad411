"""The page's inbox: GET /api/mail, GET /api/mail/{id} and POST /api/mail/sync
over a real mail store (Sam's emails of tests/data/mail, parsed and triaged
as a sync would), the sync against a real Dovecot, the background sync, and
the Inbox panel in a real Chromium."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from pathlib import Path

import imapclient
import pytest
from starlette.testclient import TestClient

from os1.config import load_settings
from os1.mail.parse import parse
from os1.mail.store import Account, MailStore
from os1.mail.triage import triage
from os1.memory.sqlite import SQLiteMemory
from os1.mind.llm import ToolCall
from os1.web.app import create_app
from os1.web.hub import Hub

from fakes import FakeLLM

LOCAL = "http://127.0.0.1:8765"
MAIL = Path(__file__).parent / "data" / "mail"
ME = ["sam@example.org"]
PASSWORD_ENV = "OS1_TEST_INBOX_PASSWORD"
# Plain text that looks like markup, in the subject and the body: it must stay text everywhere.
HOSTILE = (b"From: Mallory <mallory@example.com>\r\nTo: sam@example.org\r\n"
           b"Subject: <img src=x onerror=\"window.pwned=1\"> Your invoice\r\n"
           b"Date: Thu, 09 Apr 2026 08:00:00 +0000\r\nMessage-ID: <hostile-1@example.com>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
           b"<script>window.pwned = 2</script><b id=\"injected\">Pay now</b>\r\n"
           b"<img id=\"injected-img\" src=x onerror=\"window.pwned = 3\">\r\n")
LISTED = {"id", "subject", "sender", "sender_name", "date", "label", "reason", "seen", "attachments", "thread_size"}
SHOWN = {"id", "subject", "sender_label", "date", "text", "attachments", "label", "reason", "seen"}


@pytest.fixture
def settings(tmp_path):
    return load_settings({"home": str(tmp_path / "home")}, env={"HOME": str(tmp_path)})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(store: MailStore, imap_port: int = 9) -> Account:
    """Sam's inbox (the .eml files and HOSTILE) and his Sent folder, as a sync
    stores them; the account's servers: nothing listens there."""
    account = store.add_account(Account(0, "home", "sam@example.org", "sam@example.org", "127.0.0.1", imap_port,
                                        "ssl", "127.0.0.1", 9, "ssl", PASSWORD_ENV))
    inbox = [p.read_bytes() for p in sorted((MAIL / "inbox").glob("*.eml"))] + [HOSTILE]
    store.reset_folder(account, "INBOX", 1, "inbox")
    mails = [parse(raw) for raw in inbox]
    store.add_mails(account, "INBOX", [(uid, m, triage(m, ME), False) for uid, m in enumerate(mails, 1)],
                    len(mails))
    sent = [p.read_bytes() for p in sorted((MAIL / "sent").glob("*.eml"))]
    store.reset_folder(account, "Sent", 1, "sent")
    store.add_mails(account, "Sent", [(uid, parse(raw), None, True) for uid, raw in enumerate(sent, 1)], len(sent))
    return account


def make_app(settings, *, mail=True, llm=None, every=None):
    """The app over Sam's mail (``mail``: True, a store, or False: no account)."""
    hub = Hub(settings, llm=llm or FakeLLM(), memory=SQLiteMemory(settings.database, settings.user),
              mail_sync_every=every)
    if mail is True:
        mail = MailStore(settings.mail_database, settings.user, embedder=None)
        fill(mail)
    if mail:
        hub.mail = mail
    return create_app(hub, preload_voice=False), hub


def by_subject(mails, start):
    return next(m for m in mails if m["subject"].startswith(start))


# -- reading --------------------------------------------------------------------------------------------


def test_the_inbox_lists_mail_newest_first_with_labels_and_reasons(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        data = client.get("/api/mail").json()
    mails = data["mails"]
    assert data["accounts"] == ["home"] and len(mails) == 9  # the inbox only: not Sam's sent mail
    assert all(set(m) == LISTED for m in mails)
    assert [m["date"] for m in mails] == sorted((m["date"] for m in mails), reverse=True)
    robert = by_subject(mails, "Dinner on Friday?")
    assert robert["sender"] == "robert@example.net" and robert["sender_name"] == "Robert Chen"
    assert robert["label"] == "needs reply" and robert["reason"] == "Written to you, and it asks you something."
    assert robert["seen"] is False and robert["attachments"] == [] and robert["thread_size"] == 1
    assert by_subject(mails, "Water shut off")["label"] == "urgent"
    loaf = by_subject(mails, "The Weekly Loaf")
    assert loaf["label"] == "newsletter" and loaf["reason"].startswith("From a mailing list")
    assert by_subject(mails, "Notes from today")["attachments"] == ["planning-notes-2026-04-06.txt"]
    # Amy's two emails and Sam's answer (in Sent) are one conversation.
    assert by_subject(mails, "Re: Wedding plans")["thread_size"] == 3
    assert data["sync"] == {"running": False, "at": None, "error": None, "progress": None}


def test_the_inbox_filters_by_label_and_checks_its_parameters(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        urgent = client.get("/api/mail", params={"label": "urgent"}).json()["mails"]
        reply = client.get("/api/mail", params={"label": "needs reply"}).json()["mails"]
        assert urgent and {m["label"] for m in urgent} == {"urgent"}
        assert "Water shut off tomorrow 9-12" in [m["subject"] for m in urgent]
        assert reply and {m["label"] for m in reply} == {"needs reply"}
        assert "Dinner on Friday?" in [m["subject"] for m in reply]
        assert [m["subject"] for m in client.get("/api/mail", params={"limit": 2}).json()["mails"]] == \
            [m["subject"] for m in client.get("/api/mail").json()["mails"][:2]]
        bad = client.get("/api/mail", params={"label": "important"})
        assert bad.status_code == 400 and "urgent" in bad.json()["error"]["message"]
        assert client.get("/api/mail", params={"limit": "lots"}).status_code == 400


def test_a_message_opens_with_its_whole_thread_oldest_first(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        mails = client.get("/api/mail").json()["mails"]
        reply = by_subject(mails, "Re: Wedding plans")
        data = client.get(f"/api/mail/{reply['id']}").json()
        notes = client.get(f"/api/mail/{by_subject(mails, 'Notes from today')['id']}").json()
    assert data["id"] == reply["id"]
    thread = data["thread"]
    assert all(set(m) == SHOWN for m in thread)
    assert [m["date"] for m in thread] == sorted(m["date"] for m in thread)
    assert [m["sender_label"].split(" <")[0] for m in thread] == ["Amy Park", "Sam", "Amy Park"]
    assert thread[-1]["id"] == reply["id"] and "Porto" in thread[0]["text"]
    assert thread[1]["label"] is None and thread[0]["label"] is not None  # Sam's own reply is not triaged
    (attachment,) = notes["thread"][0]["attachments"]
    assert attachment == {"name": "planning-notes-2026-04-06.txt", "content_type": "text/plain", "size": 179}


def test_an_unknown_message_is_a_404(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        for ref in ("99999", "abc", "-1"):
            r = client.get(f"/api/mail/{ref}")
            assert r.status_code == 404 and r.json()["error"]["message"] == f"There is no email {ref}."


def test_without_an_account_the_inbox_is_empty_and_says_how_to_add_one(settings):
    app, hub = make_app(settings, mail=False)
    with TestClient(app, base_url=LOCAL) as client:
        data = client.get("/api/mail").json()
        assert data["accounts"] == [] and data["mails"] == [] and hub.mail is None
        assert client.get("/api/mail/1").status_code == 404
        sync = client.post("/api/mail/sync")
        assert sync.status_code == 400 and "os1 mail add" in sync.json()["error"]["message"]
        assert "os1 mail add" in client.get("/static/app.js").text  # what the page tells them


def test_markup_in_mail_stays_text(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        mails = client.get("/api/mail").json()["mails"]
        hostile = mails[0]  # the newest
        assert hostile["subject"] == '<img src=x onerror="window.pwned=1"> Your invoice'
        r = client.get(f"/api/mail/{hostile['id']}")
        loaf = client.get(f"/api/mail/{by_subject(mails, 'The Weekly Loaf')['id']}").json()["thread"][0]
    assert r.headers["content-type"] == "application/json"
    # Given back exactly as written, as a JSON string: the page shows it with textContent.
    assert r.json()["thread"][0]["text"].startswith('<script>window.pwned = 2</script><b id="injected">Pay now</b>')
    # An HTML-only newsletter arrives as its words, without its tags.
    assert "Rye does not behave like wheat" in loaf["text"]
    assert not any(tag in loaf["text"] for tag in ("<p", "<h1", "<html", "<a ", "style="))


# -- syncing: a real IMAP server -----------------------------------------------------------------------


def dovecot_account(dovecot, monkeypatch, password=None) -> Account:
    monkeypatch.setenv(PASSWORD_ENV, password or dovecot.password)
    return Account(0, "home", dovecot.user, dovecot.user, dovecot.host, dovecot.port, "starttls",
                   "127.0.0.1", 9, "starttls", PASSWORD_ENV, str(dovecot.cafile))


def add_account(settings, account: Account) -> None:
    """As `os1 mail add` does: the account in $OS1_HOME/mail.sqlite3, which the hub opens at start."""
    store = MailStore(settings.mail_database, settings.user, embedder=None)
    store.add_account(account)
    store.close()


def test_sync_reads_the_server_once_one_sync_at_a_time(settings, dovecot, monkeypatch):
    add_account(settings, dovecot_account(dovecot, monkeypatch))
    app, hub = make_app(settings, mail=False)
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/mail").json()["mails"] == []
        results = []
        posts = [threading.Thread(target=lambda: results.append(client.post("/api/mail/sync")))
                 for _ in range(2)]
        for t in posts:
            t.start()
        for t in posts:
            t.join(60)
        assert [r.status_code for r in results] == [200, 200]
        # 58 in the inbox and 3 in Sent, read once: the second sync waited for the first.
        assert sorted(r.json()["new"] for r in results) == [0, 61]
        assert all(r.json()["skipped"] == [] for r in results)
        assert client.post("/api/mail/sync").json() == {"new": 0, "skipped": []}
        data = client.get("/api/mail", params={"limit": 100}).json()
        assert data["accounts"] == ["home"] and len(data["mails"]) == 58
        assert by_subject(data["mails"], "Dinner on Friday?")["label"] == "needs reply"
        assert data["sync"]["at"] is not None and data["sync"]["error"] is None

        monkeypatch.setenv(PASSWORD_ENV, "wrong")
        refused = client.post("/api/mail/sync")
        assert refused.status_code == 502
        assert "refused the password" in refused.json()["error"]["message"]
        assert "refused the password" in client.get("/api/mail").json()["sync"]["error"]
    assert hub.mail is not None


def test_the_page_marks_archives_and_deletes_on_the_server_at_the_persons_click(settings, dovecot, monkeypatch):
    add_account(settings, dovecot_account(dovecot, monkeypatch))
    app, _ = make_app(settings, mail=False)
    with TestClient(app, base_url=LOCAL) as client:
        client.post("/api/mail/sync")
        mails = client.get("/api/mail", params={"limit": 100}).json()["mails"]
        dinner, loaf = by_subject(mails, "Dinner on Friday?"), by_subject(mails, "The Weekly Loaf")
        assert not dinner["seen"]
        done = client.post(f"/api/mail/{dinner['id']}/file", json={"how": "mark read"})
        assert done.status_code == 200 and done.json()["done"] == "mark read"
        assert client.get(f"/api/mail/{dinner['id']}").json()["thread"][-1]["seen"]
        archived = client.post(f"/api/mail/{loaf['id']}/file", json={"how": "archive"}).json()
        assert archived["folder"] == "Archive"
        assert all(m["id"] != loaf["id"] for m in client.get("/api/mail", params={"limit": 100}).json()["mails"])
        # The server has both: read elsewhere, then synced back as read; the newsletter in Archive.
        other = imapclient.IMAPClient(dovecot.host, port=dovecot.port, ssl=False)
        other.login(dovecot.user, dovecot.password)
        other.select_folder("INBOX", readonly=True)
        flags = other.get_flags(other.search(["SUBJECT", "Dinner on Friday?"]))
        assert all(b"\\Seen" in f for f in flags.values())
        other.select_folder("Archive", readonly=True)
        assert other.search(["SUBJECT", "Weekly Loaf"])
        other.logout()
        for how, ref, status in (("burn", dinner["id"], 400), ("archive", 99999, 404), ("archive", "abc", 404)):
            refused = client.post(f"/api/mail/{ref}/file", json={"how": how})
            assert refused.status_code == status and refused.json()["error"]["message"]


def test_the_page_can_follow_a_long_sync_as_it_goes(settings, dovecot, monkeypatch):
    from os1.mail import client as mail_client

    monkeypatch.setattr(mail_client, "BATCH", 1)
    add_account(settings, dovecot_account(dovecot, monkeypatch))
    app, _ = make_app(settings, mail=False)
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/mail/sync").json()["running"] is False
        posting = threading.Thread(target=lambda: client.post("/api/mail/sync"))
        posting.start()
        seen = []
        deadline = time.monotonic() + 30
        while posting.is_alive() and time.monotonic() < deadline:
            status = client.get("/api/mail/sync").json()
            if status["running"] and status["progress"]:
                seen.append(status["progress"])
            time.sleep(0.05)
        posting.join(30)
        assert seen and seen[0]["folder"] == "INBOX" and seen[0]["total"] == 58
        assert [p["done"] for p in seen if p["folder"] == "INBOX"] == sorted(
            p["done"] for p in seen if p["folder"] == "INBOX")
        finished = client.get("/api/mail/sync").json()
        assert finished["running"] is False and finished["progress"] is None and finished["at"]


def wait_for_sync(client, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get("/api/mail").json()
        if data["sync"]["at"] is not None:
            return data
        time.sleep(0.1)
    raise AssertionError("no background sync")


def test_os1_serve_syncs_mail_by_itself_at_start(settings, dovecot, monkeypatch):
    add_account(settings, dovecot_account(dovecot, monkeypatch))
    app, _ = make_app(settings, mail=False, every=3600)
    with TestClient(app, base_url=LOCAL) as client:
        data = wait_for_sync(client)
        assert data["sync"]["error"] is None and len(data["mails"]) == 50  # the default limit
        assert client.post("/api/mail/sync").json()["new"] == 0  # the background sync read it all


def test_a_failing_background_sync_is_logged_and_shown_not_fatal(settings, caplog, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "correct horse")
    store = MailStore(settings.mail_database, settings.user, embedder=None)
    fill(store, imap_port=closed_port())
    app, _ = make_app(settings, mail=store, every=3600)
    with TestClient(app, base_url=LOCAL) as client:
        data = wait_for_sync(client)
        assert "Cannot reach the mail server" in data["sync"]["error"]
        assert len(data["mails"]) == 9 and client.get("/api/status").json()["ready"]
    assert any("mail sync failed" in r.getMessage() for r in caplog.records)


async def test_closing_os1_stops_a_sync_under_way(settings, dovecot, monkeypatch):
    from os1.mail import client

    monkeypatch.setattr(client, "BATCH", 1)  # a round trip per message: the sync is long enough to stop
    add_account(settings, dovecot_account(dovecot, monkeypatch))
    hub = Hub(settings, llm=FakeLLM(), memory=SQLiteMemory(settings.database, settings.user), mail_sync_every=3600)
    hub.start(preload_voice=False)
    deadline = time.monotonic() + 30
    while not hub.mail_status()["running"]:
        assert time.monotonic() < deadline, "no background sync"
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await hub.close()
    assert time.monotonic() - started < 10
    store = MailStore(settings.mail_database, settings.user, embedder=None)
    read = len(store.mails(limit=100))
    store.close()
    assert read < 61  # it stopped between two messages, and what it read is kept


# -- the Inbox panel in Chromium ----------------------------------------------------------------------


@pytest.fixture
def served(tmp_path, monkeypatch):
    """os1 serve over Sam's mail, on a free port; the model always wants to reply to Robert."""
    from test_web_consent import CHROMIUM, serving

    if not CHROMIUM and not os.environ.get("OS1_REQUIRE_BROWSER"):
        pytest.skip("needs Debian's chromium (apt install chromium)")
    monkeypatch.setenv(PASSWORD_ENV, "correct horse")
    settings = load_settings({"home": str(tmp_path / "home")}, env={"HOME": str(tmp_path)})
    store = MailStore(settings.mail_database, settings.user, embedder=None)
    fill(store, imap_port=closed_port())
    llm = FakeLLM([ToolCall("reply_mail", {"to": "Robert", "message": "I'll be there."})] * 5)
    app, hub = make_app(settings, mail=store, llm=llm)
    with serving(app) as url:
        yield url, hub


def test_the_inbox_panel_lists_labels_and_opens_a_thread_as_text(served, tmp_path):
    from playwright.sync_api import expect

    from test_web_consent import page_of

    url, hub = served
    shots = Path(os.environ.get("OS1_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with page_of(url) as page:

        page.get_by_role("button", name="Inbox").click()
        dialog = page.get_by_role("dialog", name="Inbox")
        items = dialog.locator(".mail-list > li")
        expect(items).to_have_count(9)
        robert = dialog.get_by_role("button", name="Dinner on Friday?")
        expect(robert.locator(".chip")).to_have_text("needs reply")
        expect(robert.locator(".mail-reason")).to_have_text("Written to you, and it asks you something.")
        expect(robert.locator(".mail-sender")).to_have_text("Robert Chen")
        assert robert.get_attribute("aria-label").startswith("Unread. Robert Chen: Dinner on Friday?")
        assert robert.locator(".mail-subject").evaluate("e => getComputedStyle(e).fontWeight") == "700"
        water = dialog.get_by_role("button", name="Water shut off")
        expect(water.locator(".chip")).to_have_text("urgent")
        chip_colour = "e => getComputedStyle(e).backgroundColor"
        assert water.locator(".chip").evaluate(chip_colour) != robert.locator(".chip").evaluate(chip_colour)
        expect(dialog.get_by_role("button", name="The Weekly Loaf").locator(".chip")).to_have_text("newsletter")
        page.screenshot(path=str(shots / "inbox.png"))

        # The filter.
        dialog.get_by_label("Show", exact=True).select_option("urgent")
        expect(items).not_to_have_count(9)
        assert set(items.evaluate_all("lis => lis.map(li => li.dataset.label)")) == {"urgent"}
        dialog.get_by_label("Show", exact=True).select_option("")
        expect(items).to_have_count(9)

        # Robert's email, as text, by keyboard; Back returns to it.
        robert.focus()
        page.keyboard.press("Enter")
        thread = dialog.locator("#inbox-thread")
        expect(thread.locator(".thread-subject")).to_have_text("Dinner on Friday?")
        expect(thread.locator(".thread-subject")).to_be_focused()
        text = thread.locator(".mail-text")
        expect(text).to_contain_text("Are you free on Friday? Come round to ours for dinner at 7.")
        assert text.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
        expect(thread.locator(".mail-from")).to_contain_text("Robert Chen <robert@example.net>")
        page.screenshot(path=str(shots / "inbox-thread.png"))
        # The person's own buttons reach the server; here no server listens, and it says so.
        mark = thread.get_by_role("button", name="Mark as read")
        mark.click()
        expect(thread.locator(".mail-actions [role=status]")).to_contain_text(
            "That did not work: Cannot reach the mail server")
        expect(mark).to_be_enabled()
        expect(thread.get_by_role("button", name="Archive")).to_be_enabled()
        dialog.get_by_role("button", name="Back to the inbox").click()
        expect(robert).to_be_focused()

        # Attachments are listed, never opened.
        dialog.get_by_role("button", name="Notes from today").click()
        expect(thread.locator(".mail-attachments li")).to_have_text(
            "planning-notes-2026-04-06.txt (text/plain, 179 bytes) — not opened")
        dialog.get_by_role("button", name="Back to the inbox").click()

        # Markup in a message is shown as its characters, and nothing of it runs.
        dialog.get_by_role("button", name="Your invoice").click()
        expect(thread.locator(".mail-text")).to_contain_text('<b id="injected">Pay now</b>')
        expect(thread.locator(".thread-subject")).to_have_text('<img src=x onerror="window.pwned=1"> Your invoice')
        assert page.locator("#injected, #injected-img, #inbox img, #inbox script, #inbox b").count() == 0
        assert page.evaluate("window.pwned") is None
        dialog.get_by_role("button", name="Back to the inbox").click()

        # Sync: busy, then the server's refusal in words.
        dialog.get_by_role("button", name="Sync").click()
        expect(dialog.get_by_role("alert")).to_contain_text("The sync failed: Cannot reach the mail server")
        expect(dialog.get_by_role("button", name="Sync")).to_be_enabled()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

        # A reply waits for a yes on a consent card showing the whole email, its lines kept.
        page.get_by_label("Message", exact=True).fill("Reply to Robert that I'll be there")
        page.keyboard.press("Enter")
        action = page.locator(".consent .consent-action").first
        expect(action).to_contain_text("Subject: Re: Dinner on Friday?")
        assert "\nSubject: Re: Dinner on Friday?\n\n" in action.inner_text()
        assert action.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
        assert [a.status for a in hub.memory.actions(limit=None)] == ["pending"]
