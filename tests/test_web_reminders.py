"""The page's reminders and reach-outs: GET/PATCH/DELETE /api/reminders,
GET /api/reach-outs and its dismiss, the time zone and quiet hours in the
settings, and reach-outs in the thread of every page; then the Reminders panel
and a reach-out in a real Chromium. Real SQLite and a real hub, with a fake
model; reach-outs are driven by the test (no background loop)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from starlette.testclient import TestClient

from os1.audio.format import SAMPLE_RATE, wav_bytes
from os1.config import load_settings
from os1.events import ReplyDone
from os1.memory.sqlite import SQLiteMemory
from os1.reach.policy import Send
from os1.reach.schedule import Remind, asked, clock_words
from os1.talk import VoiceParts
from os1.web.app import create_app
from os1.web.hub import Hub

from fakes import CountingEars, FakeLLM, LoudnessVAD
from test_web import LOCAL, WS, say, start, until

BERLIN = ZoneInfo("Europe/Berlin")
REMINDER = {"id", "kind", "text", "when", "due_at", "repeats", "held"}
ENTRY = {"id", "at", "decision", "reason", "text", "delivered", "answered", "dismissed"}


@pytest.fixture
def settings(tmp_path):
    return load_settings({"home": str(tmp_path / "home")},
                         env={"HOME": str(tmp_path), "OS1_TIMEZONE": "Europe/Berlin"})


@pytest.fixture(autouse=True)
def desktop(monkeypatch):
    """The desktop notifications os1 would show (none are: they are recorded)."""
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr("os1.reach.notify.notify", lambda title, text: shown.append((title, text)) or True)
    return shown


def make_app(settings, llm=None, voice=None):
    hub = Hub(settings, llm=llm or FakeLLM(), voice=voice, memory=SQLiteMemory(settings.database, settings.user),
              mail_sync_every=None, reach_every=None)
    return create_app(hub, preload_voice=False), hub


def remind(client, hub, words):
    """Set a reminder as their words would (once the hub is ready): the item."""
    assert client.get("/api/reminders").status_code == 200  # waits until os1 is ready
    request = asked(words, hub.reach.now())
    assert isinstance(request, Remind)
    return hub.reach.remind(request, source=words)[0]


def tomorrow_at(hour, tz=BERLIN):
    day = datetime.now(tz).date() + timedelta(days=1)
    return datetime.combine(day, clock(hour), tzinfo=tz)


# -- reminders ------------------------------------------------------------------------------------------


def test_a_reminder_asked_for_in_the_chat_is_listed_with_its_time_in_words(settings):
    app, _ = make_app(settings, FakeLLM(["Done, I'll remind you tomorrow at 6 pm."]))
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/reminders").json() == {"reminders": []}
        with client.websocket_connect(WS) as ws:
            start(ws)
            say(ws, "remind me to call my sister at 6pm tomorrow")
        [reminder] = client.get("/api/reminders").json()["reminders"]
    assert set(reminder) == REMINDER
    assert reminder["kind"] == "reminder" and reminder["text"] == "call your sister"
    assert reminder["when"].startswith("tomorrow (") and reminder["when"].endswith(") at 6 pm")
    assert reminder["due_at"] == tomorrow_at(18).timestamp()
    assert reminder["repeats"] is False and reminder["held"] is None


def test_a_reminder_is_edited_in_words_and_a_time_that_cannot_be_read_is_a_400(settings):
    app, hub = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        item = remind(client, hub, "remind me to call my sister at 6pm tomorrow")
        url = f"/api/reminders/{item.id}"

        r = client.patch(url, json={"when": "every Monday at 9"})
        assert r.status_code == 200
        edited = r.json()
        assert set(edited) == REMINDER and edited["id"] == item.id
        assert edited["text"] == "call your sister" and edited["when"] == "every Monday at 9 am"
        assert edited["repeats"] is True
        monday = datetime.fromtimestamp(edited["due_at"], BERLIN)
        assert (monday.weekday(), monday.hour, monday.minute) == (0, 9, 0)

        # It has been said once: new words keep it due next time, not at its first time, long past.
        later = edited["due_at"] + 7 * 86400
        hub.reach.store.advance(item.id, later, now=time.time(), was=edited["due_at"])
        r = client.patch(url, json={"text": "  call   Ana "})
        assert r.status_code == 200
        assert r.json()["text"] == "call Ana" and r.json()["due_at"] == later
        assert r.json()["when"] == "every Monday at 9 am"

        r = client.patch(url, json={"when": "whenever suits"})
        assert r.status_code == 400
        message = r.json()["error"]["message"]
        assert "can't tell when 'whenever suits' is" in message and "tomorrow at 7pm" in message
        for body in ({}, {"text": "   "}, {"when": ""}, {"text": 5}):
            r = client.patch(url, json=body)
            assert r.status_code == 400 and r.json()["error"]["message"], body
        assert client.patch(url, content=b"{not json").status_code == 400
        [unchanged] = client.get("/api/reminders").json()["reminders"]
        assert unchanged["text"] == "call Ana" and unchanged["due_at"] == later

        for missing in ("/api/reminders/999", "/api/reminders/abc"):
            r = client.patch(missing, json={"text": "x"})
            assert r.status_code == 404 and "There is no reminder" in r.json()["error"]["message"]


def test_a_cancelled_reminder_is_gone_and_the_log_says_why(settings):
    app, hub = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        sister = remind(client, hub, "remind me to call my sister at 6pm tomorrow")
        plants = remind(client, hub, "remind me every Monday at 8:30 to water the plants")
        r = client.delete(f"/api/reminders/{sister.id}")
        assert r.status_code == 204 and r.content == b""
        assert [x["id"] for x in client.get("/api/reminders").json()["reminders"]] == [plants.id]
        assert client.delete(f"/api/reminders/{sister.id}").status_code == 404
        assert client.delete("/api/reminders/nope").status_code == 404
        assert client.patch(f"/api/reminders/{sister.id}", json={"text": "x"}).status_code == 404
        [entry] = client.get("/api/reach-outs").json()["log"]
    assert set(entry) == ENTRY
    assert entry["decision"] == "dropped" and entry["reason"] == "cancelled on the page: call your sister"
    assert entry["text"] is None


# -- reach-outs -----------------------------------------------------------------------------------------


def test_a_reach_out_reaches_every_page_marked_logged_and_can_be_dismissed(settings, desktop):
    app, hub = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        item = remind(client, hub, "remind me to call my sister at 6pm tomorrow")
        with client.websocket_connect(WS) as ws, client.websocket_connect(WS) as other:
            start(ws)
            start(other)
            reason = f"they asked to be reminded today at 18:00: {item.text}"
            client.portal.call(hub.reach_out, Send((item,), reason))
            seen = until(ws, "thread.message")[-1]
            assert until(other, "thread.message")[-1] == seen
        assert seen["role"] == "assistant" and seen["channel"] == "text"
        assert seen["text"].startswith("It's ") and seen["text"].endswith(": time to call your sister.")
        entry = seen["reach_out"]["entry"]
        assert seen["reach_out"] == {"entry": entry, "reason": reason}
        assert desktop == []  # open pages notify by themselves
        # It is os1's message in the conversation, like any other.
        assert client.get("/api/history").json()["messages"][-1]["id"] == seen["id"]

        log = client.get("/api/reach-outs?limit=1").json()["log"]
        assert [(e["id"], e["decision"], e["text"], e["delivered"], e["dismissed"]) for e in log] == [
            (entry, "sent", seen["text"], True, False)]
        r = client.post(f"/api/reach-outs/{entry}/dismiss")
        assert r.status_code == 204 and r.content == b""
        assert client.get("/api/reach-outs").json()["log"][0]["dismissed"] is True
        assert client.post(f"/api/reach-outs/{entry}/dismiss").status_code == 204  # twice: the same
        assert client.post("/api/reach-outs/999/dismiss").status_code == 404
        assert client.post("/api/reach-outs/x/dismiss").status_code == 404
        assert client.get("/api/reach-outs?limit=zero").status_code == 400


def test_a_reach_out_made_with_no_page_open_is_a_desktop_notification_and_shown_when_one_opens(
        settings, desktop):
    app, hub = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        item = remind(client, hub, "remind me to stretch at 6pm tomorrow")
        client.portal.call(hub.reach_out, Send((item,), "they asked to be reminded: stretch"))
        assert client.get("/api/reach-outs").json()["log"][0]["delivered"] is False
        assert len(desktop) == 1 and desktop[0][1].endswith(": time to stretch.")
        with client.websocket_connect(WS) as ws:
            history = start(ws)
        assert history["messages"][-1]["text"].endswith("time to stretch.")
        assert client.get("/api/reach-outs").json()["log"][0]["delivered"] is True


# -- settings -------------------------------------------------------------------------------------------


def test_the_time_zone_and_quiet_hours_are_saved_checked_and_applied_at_once(settings):
    app, hub = make_app(settings)
    config = settings.home / "config.toml"
    with TestClient(app, base_url=LOCAL) as client:
        item = remind(client, hub, "remind me to call my sister at 6pm tomorrow")
        got = client.get("/api/settings").json()
        assert got["timezone"] == "Europe/Berlin" and got["quiet_hours"] == "22:00-08:00"
        assert isinstance(got["computer_timezone"], str) and got["computer_timezone"]

        r = client.put("/api/settings", json={"timezone": "America/New_York", "quiet_hours": "23:30 - 7:00"})
        assert r.status_code == 200
        assert (r.json()["timezone"], r.json()["quiet_hours"]) == ("America/New_York", "23:30-07:00")
        assert hub.reach.tz == ZoneInfo("America/New_York")
        assert hub.reach.judgement.quiet == (clock(23, 30), clock(7))
        assert hub.reach.judgement.daily_budget == settings.reach.daily_budget
        assert hub.settings.reach.timezone == "America/New_York"
        # The reminder stays at its moment, said in the new zone's time (6 pm in Berlin: noon, mostly).
        [reminder] = client.get("/api/reminders").json()["reminders"]
        there = datetime.fromtimestamp(item.due_at, ZoneInfo("America/New_York")).time()
        assert reminder["due_at"] == item.due_at and reminder["when"].endswith(f" at {clock_words(there)}")
        assert clock_words(there) != "6 pm"

        for bad, said in (({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
                          ({"timezone": 5}, "time zone must be a name"),
                          ({"quiet_hours": "late"}, 'quiet hours must look like "22:00-08:00"'),
                          ({"quiet_hours": "22:00-25:00"}, "quiet hours must look like"),
                          ({"quiet_hours": 10}, "quiet hours must look like")):
            r = client.put("/api/settings", json=bad)
            assert r.status_code == 400 and said in r.json()["error"]["message"], bad
        assert hub.reach.tz == ZoneInfo("America/New_York")
        assert client.get("/api/settings").json()["quiet_hours"] == "23:30-07:00"
        on_file = config.read_text(encoding="utf-8")
        assert 'timezone = "America/New_York"' in on_file and 'quiet_hours = "23:30-07:00"' in on_file

        # Other settings leave them as they are; a new name keeps reminders and reach-outs working.
        r = client.put("/api/settings", json={"name": "Samantha"})
        assert r.json()["timezone"] == "America/New_York" and r.json()["quiet_hours"] == "23:30-07:00"
        assert hub.companion.reach is hub.reach

        # Empty: the computer's zone and no quiet hours.
        r = client.put("/api/settings", json={"timezone": "", "quiet_hours": ""})
        assert r.status_code == 200
        assert r.json()["timezone"] == r.json()["computer_timezone"] and r.json()["quiet_hours"] == ""
        assert hub.settings.reach.timezone is None and hub.reach.judgement.quiet is None
    again = load_settings({"home": str(settings.home)}, env={"HOME": str(settings.home.parent)})
    assert not again.reach.timezone and again.reach.quiet_hours == "" and again.persona.name == "Samantha"


def test_the_zone_shown_for_the_computer_is_not_pinned_by_saving_other_settings(settings, tmp_path):
    follows = load_settings({"home": str(tmp_path / "other")}, env={"HOME": str(tmp_path)})
    app, hub = make_app(follows)
    with TestClient(app, base_url=LOCAL) as client:
        shown = client.get("/api/settings").json()
        assert shown["timezone"] == shown["computer_timezone"]
        # The page sends back what it showed.
        assert client.put("/api/settings", json={**shown, "name": "Ana"}).status_code == 200
    assert "timezone" not in (tmp_path / "other" / "config.toml").read_text(encoding="utf-8")
    assert hub.settings.reach.timezone is None


# -- in Chromium ----------------------------------------------------------------------------------------

#: The browser's Notification API, recorded: permission is "default" until
#: asked, and the test decides whether the page is in the background.
FAKE_NOTIFICATIONS = """
window.__notes = []; window.__asked = 0; window.__hidden = false;
let permission = "default";
window.Notification = class {
  constructor(title, options) { window.__notes.push({ title, ...options }); }
  close() {}
  static get permission() { return permission; }
  static requestPermission() { window.__asked++; permission = "granted"; return Promise.resolve(permission); }
};
Object.defineProperty(document, "hidden", { configurable: true, get: () => window.__hidden });
"""


class _Loop:
    """The app, noting the event loop the server runs it on (to run the hub's coroutines there)."""

    def __init__(self, app):
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope, receive, send):
        self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)

    def run(self, coroutine):
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)


@pytest.fixture
def served(settings):
    """os1 serve on a free port, with ears and a voice for a call: (url, hub, server)."""
    from test_web_consent import CHROMIUM, QuickVoice, serving

    if not CHROMIUM and not os.environ.get("OS1_REQUIRE_BROWSER"):
        pytest.skip("needs Debian's chromium (apt install chromium)")
    parts = VoiceParts(vad=LoudnessVAD(), ears=CountingEars(), voice=QuickVoice())
    app, hub = make_app(settings, FakeLLM(["Done, I'll remind you tomorrow at 6 pm."]), voice=parts)
    server = _Loop(app)
    with serving(server) as url:
        yield url, hub, server


def test_the_reminders_panel_edits_and_cancels_and_a_reach_out_shows_once_marked(served, tmp_path):
    from playwright.sync_api import expect

    from test_web_consent import page_of

    url, hub, server = served
    shots = Path(os.environ.get("OS1_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with page_of(url, init_script=FAKE_NOTIFICATIONS) as page:
        page.get_by_label("Message").fill("remind me to call my sister at 6pm tomorrow")
        page.keyboard.press("Enter")
        expect(page.locator(".msg.assistant")).to_have_text("Done, I'll remind you tomorrow at 6 pm.")

        page.get_by_role("button", name="Reminders").click()
        panel = page.get_by_role("dialog", name="Reminders")
        reminder = panel.locator(".reminder")
        expect(reminder).to_have_count(1)
        expect(reminder.locator(".reminder-text")).to_have_text("call your sister")
        expect(reminder.locator(".reminder-when")).to_contain_text("tomorrow (")
        expect(reminder.locator(".reminder-when")).to_contain_text("at 6 pm")

        # Notifications: asked for only on a click, never on load.
        assert page.evaluate("window.__asked") == 0
        panel.get_by_role("button", name="Allow notifications").click()
        expect(panel.locator("#notify-note")).to_contain_text("Notifications are on")
        assert page.evaluate("window.__asked") == 1

        # Edit inline: a time that cannot be read says so; a good one is saved.
        reminder.get_by_role("button", name="Edit the reminder: call your sister").click()
        when = reminder.get_by_label("When")
        when.fill("whenever suits")
        reminder.get_by_role("button", name="Save").click()
        expect(reminder.get_by_role("alert")).to_contain_text("I can't tell when 'whenever suits' is")
        when.fill("tomorrow at 7pm")
        reminder.get_by_label("What").fill("call Ana")
        reminder.get_by_role("button", name="Save").click()
        expect(reminder.locator(".reminder-text")).to_have_text("call Ana")
        expect(reminder.locator(".reminder-when")).to_contain_text("at 7 pm")
        [saved] = hub.reminders()
        assert saved["text"] == "call Ana" and saved["due_at"] == tomorrow_at(19).timestamp()
        page.screenshot(path=str(shots / "reminders.png"))

        # Cancel, once confirmed.
        reminder.get_by_role("button", name="Cancel the reminder: call Ana").click()
        reminder.get_by_role("button", name="Yes, cancel it").click()
        expect(panel.locator(".reminder")).to_have_count(0)
        expect(panel).to_contain_text("No reminders")
        assert hub.reminders() == []
        expect(panel.locator("#reach-log-list")).to_contain_text("cancelled on the page: call Ana")
        page.keyboard.press("Escape")

        # os1 reaches out while the page is in the background.
        page.evaluate("window.__hidden = true")
        item = hub.reach.remind(asked("remind me to stretch at 6pm tomorrow", hub.reach.now()))[0]
        reason = "they asked to be reminded today at 18:00: stretch"
        server.run(hub.reach_out(Send((item,), reason)))
        reached = page.locator(".msg.assistant[data-reach-out]")
        expect(reached).to_have_count(1)
        expect(reached.locator(".body")).to_have_text(hub.reach_log(1)[0]["text"])
        label = reached.locator(".reach-label")
        expect(label).to_have_text("reached out")
        expect(label).to_have_attribute("title", f"Why: {reason}")
        said = reached.locator(".body").inner_text()
        page.wait_for_function("window.__notes.length === 1")
        assert page.evaluate("window.__notes") == [
            {"title": "Mira", "body": said, "tag": f"os1-reach-out-{hub.reach_log(1)[0]['id']}"}]

        # Said again in a call, the same message comes again: it is updated, not shown twice.
        message_id = int(reached.get_attribute("data-id").removeprefix("m"))

        async def spoken() -> None:
            hub.publish_event(ReplyDone(said, message_id=message_id), "voice")

        server.run(spoken())
        expect(reached.locator(".meta")).to_have_text("spoken")
        expect(page.locator(".msg.assistant", has_text="time to stretch")).to_have_count(1)
        expect(reached.locator(".reach-label")).to_have_text("reached out")
        page.screenshot(path=str(shots / "reach-out.png"))

        reached.get_by_role("button", name="Dismiss this reach-out").click()
        expect(reached).to_have_attribute("data-dismissed", "")
        expect(reached.get_by_role("button", name="Dismiss this reach-out")).to_have_count(0)
        assert hub.reach_log(1)[0]["dismissed"] is True

        # After a reload the message is there once (from the history).
        page.reload()
        page.wait_for_function("window.os1 && window.os1.historyShown")
        expect(page.locator(".msg.assistant", has_text="time to stretch")).to_have_count(1)
        assert page.evaluate("window.__asked") == 0  # still never asked on load


def test_a_reach_out_spoken_in_a_call_stays_one_message(served, tmp_path):
    from playwright.sync_api import expect

    from test_web_consent import page_of

    url, hub, server = served
    quiet = tmp_path / "quiet.wav"  # the microphone hears nothing: the line is free for os1
    quiet.write_bytes(wav_bytes(np.zeros(60 * SAMPLE_RATE, np.float32), SAMPLE_RATE))
    with page_of(url, f"--use-file-for-fake-audio-capture={quiet}%noloop", height=800) as page:
        page.get_by_role("button", name="Start a call").click()
        expect(page.get_by_role("button", name="End the call")).to_be_visible()
        page.wait_for_function("document.body.dataset.state === 'listening'")

        item = hub.reach.remind(asked("remind me to stretch at 6pm tomorrow", hub.reach.now()))[0]
        server.run(hub.reach_out(Send((item,), "they asked to be reminded today at 18:00: stretch")))
        # In the thread at once; then said aloud, its words streaming again as a reply.
        page.wait_for_function("window.os1.played > 0.3")
        page.wait_for_function("document.body.dataset.state === 'listening'")
        said = hub.reach_log(1)[0]["text"]
        reached = page.locator(".msg.assistant[data-reach-out]")
        expect(reached.locator(".meta")).to_have_text("spoken")  # shown again once heard: updated
        expect(page.locator("#thread > li")).to_have_count(1)
        expect(reached.locator(".body")).to_have_text(said)
        expect(reached.locator(".reach-label")).to_have_text("reached out")
        assert page.evaluate("window.os1.pending") is None
