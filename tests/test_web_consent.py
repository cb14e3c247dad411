"""Consent on the page, in a real Chromium (Playwright, Debian's browser):
os1 asks before it saves a note, in a typed turn and during a voice call, and
only the person's click on Approve saves it. A real uvicorn server runs the
app with fakes at the model boundaries (the model always wants to save the
note); the call's microphone is Chromium's fake device playing a WAV file."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from os1.audio.format import SAMPLE_RATE, wav_bytes
from os1.config import load_settings
from os1.memory.sqlite import SQLiteMemory
from os1.mind.llm import ToolCall
from os1.talk import VoiceParts
from os1.web.app import create_app
from os1.web.hub import Hub

from fakes import CountingEars, FakeLLM, LoudnessVAD, SlowVoice

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTE = "eggs, milk, lemons"

pytestmark = pytest.mark.skipif(not CHROMIUM and not os.environ.get("OS1_REQUIRE_BROWSER"),
                                reason="needs Debian's chromium (apt install chromium)")


class QuickVoice(SlowVoice):
    """20 ms of audio per character: os1's question takes a few seconds to say."""

    async def synthesize(self, text):
        self.said.append(text)
        yield np.full(int(len(text) * 0.02 * self.sample_rate), 0.1, np.float32)


def saves_the_note() -> FakeLLM:
    """Whatever the person says, the model wants to save the grocery list."""
    return FakeLLM([ToolCall("save_note", {"name": "groceries.md", "text": NOTE})] * 20)


@pytest.fixture
def served(tmp_path):
    """os1 serve on a free port, its notes folder a temporary one: (url, hub, notes)."""
    settings = load_settings({"home": str(tmp_path / "home")},
                             env={"HOME": str(tmp_path), "OS1_NOTES": str(tmp_path / "notes")})
    parts = VoiceParts(vad=LoudnessVAD(), ears=CountingEars(), voice=QuickVoice())
    hub = Hub(settings, llm=saves_the_note(), voice=parts,
              memory=SQLiteMemory(settings.database, settings.user))
    with serving(create_app(hub, preload_voice=False)) as url:
        yield url, hub, settings.notes_dir


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread: its URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def browser(p, *extra):
    assert CHROMIUM, "chromium is not installed"
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required", *extra])


@contextlib.contextmanager
def page_of(url: str, *flags: str, height: int = 900, init_script: str | None = None) -> Iterator[Any]:
    """Chromium (with ``flags``) on os1's page at ``url``, once the thread is shown."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = browser(p, *flags)
        try:
            page = chromium.new_page(viewport={"width": 1200, "height": height})
            if init_script:
                page.add_init_script(init_script)
            page.goto(url)
            page.wait_for_function("window.os1 && window.os1.historyShown")
            yield page
        finally:
            chromium.close()


def statuses(hub):
    return {a.id: a.status for a in hub.memory.actions(limit=None)}


def card(page, n):
    """The ``n``-th consent card of the thread (1-based), once it is there."""
    locator = page.locator(".consent").nth(n - 1)
    locator.wait_for(timeout=30_000)
    return locator


def test_typed_turn_asks_and_only_approve_saves_the_note(served, tmp_path):
    from playwright.sync_api import expect

    url, hub, notes = served
    note = notes / "groceries.md"
    shots = Path(os.environ.get("OS1_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with page_of(url, height=800) as page:

        page.get_by_label("Message").fill("Save a note groceries.md saying eggs, milk, lemons")
        page.keyboard.press("Enter")
        first = card(page, 1)
        action = first.locator(".consent-action")
        # The exact action, its line break kept.
        assert action.inner_text() == f"Save the note groceries.md in {notes}, saying:\n{NOTE}"
        assert action.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
        # The reply that asks sits just above the card.
        expect(page.locator(".msg.assistant").last).to_contain_text("Shall I save the note")
        assert first.evaluate("e => e.previousElementSibling.classList.contains('assistant')")
        page.screenshot(path=str(shots / "consent.png"))
        # A reload shows the proposal still waiting for an answer.
        page.reload()
        page.wait_for_function("window.os1 && window.os1.historyShown")
        first = card(page, 1)
        expect(first.locator(".consent-action")).to_contain_text(NOTE)
        first.get_by_role("button", name="Decline").click()
        expect(first).to_have_attribute("data-outcome", "declined")
        expect(first.get_by_role("button", name="Approve")).to_be_hidden()
        expect(page.locator(".msg.assistant").last).to_have_text("Okay, I won't.")
        proposal = int(first.get_attribute("data-proposal"))
        assert statuses(hub) == {proposal: "declined"}
        assert not note.exists()

        page.get_by_label("Message").fill("Save a note groceries.md saying eggs, milk, lemons")
        page.keyboard.press("Enter")
        second = card(page, 2)
        second.get_by_role("button", name="Approve").click()
        expect(second).to_have_attribute("data-outcome", "done")
        expect(second.locator(".consent-state")).to_contain_text("Saved the note groceries.md")
        assert note.read_text(encoding="utf-8") == NOTE
        approved = int(second.get_attribute("data-proposal"))
        assert statuses(hub) == {proposal: "declined", approved: "done"}

        # The action log, from the header.
        page.get_by_role("button", name="Actions").click()
        log = page.locator("#actions-body .action-log > li")
        expect(log).to_have_count(2)
        assert log.nth(0).get_attribute("data-status") == "done"
        assert log.nth(1).get_attribute("data-status") == "declined"
        expect(log.nth(0)).to_contain_text(NOTE)
        page.screenshot(path=str(shots / "actions.png"))
        page.keyboard.press("Escape")


def test_during_a_call_the_card_asks_and_only_approve_saves_the_note(served, tmp_path):
    from playwright.sync_api import expect

    url, hub, notes = served
    note = notes / "groceries.md"
    # The fake microphone: two utterances (a loud tone the fake ears hear as
    # words), far enough apart for os1 to ask and be answered in between.
    t = np.arange(int(1.0 * SAMPLE_RATE)) / SAMPLE_RATE
    said = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    quiet = lambda s: np.zeros(int(s * SAMPLE_RATE), np.float32)
    clip = tmp_path / "mic.wav"
    clip.write_bytes(wav_bytes(np.concatenate([quiet(1.5), said, quiet(10.0), said, quiet(30.0)]),
                               SAMPLE_RATE))
    with page_of(url, f"--use-file-for-fake-audio-capture={clip}%noloop", height=800) as page:
        page.get_by_role("button", name="Start a call").click()

        first = card(page, 1)
        # The person said nothing of this note: the card says so, prominently.
        expect(first.get_by_role("alert")).to_contain_text("my wording, not yours")
        page.screenshot(path=str(Path(os.environ.get("OS1_SCREENSHOTS", tmp_path)) / "call-consent.png"))
        first.get_by_role("button", name="Decline").click()
        expect(first).to_have_attribute("data-outcome", "declined")
        proposal = int(first.get_attribute("data-proposal"))
        assert statuses(hub)[proposal] == "declined"
        assert not note.exists()

        second = card(page, 2)
        expect(second.locator(".consent-action")).to_contain_text(NOTE)
        second.get_by_role("button", name="Approve").click()
        expect(second).to_have_attribute("data-outcome", "done")
        assert note.read_text(encoding="utf-8") == NOTE
        approved = int(second.get_attribute("data-proposal"))
        assert statuses(hub) == {proposal: "declined", approved: "done"}
        # The call goes on.
        assert page.get_by_role("button", name="End the call").is_visible()
        page.wait_for_function("window.os1.played > 0.5")  # os1 spoke in the call
