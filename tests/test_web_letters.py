"""A letter's proofreading on the page, in a real Chromium: the changes show
as tracked changes, each kept or rejected by a click, and "Done" saves a new
version with exactly the kept ones; the original is untouched. A real uvicorn
server; the model is a fake at its boundary (it proofreads as scripted)."""

from __future__ import annotations

import os
from pathlib import Path

import docx
import pytest

from os1.config import load_settings
from os1.memory.sqlite import SQLiteMemory
from os1.web.app import create_app
from os1.web.hub import Hub

from fakes import FakeLLM
from test_letters import FIXED, LETTER, write_docx
from test_web_consent import CHROMIUM, page_of, serving

pytestmark = pytest.mark.skipif(not CHROMIUM and not os.environ.get("OS1_REQUIRE_BROWSER"),
                                reason="needs Debian's chromium (apt install chromium)")


def test_tracked_changes_are_kept_or_rejected_one_by_one_into_a_new_version(tmp_path):
    from playwright.sync_api import expect

    letters = tmp_path / "letters"
    letters.mkdir()
    original = write_docx(letters / "Letter to Chris.docx", LETTER)
    before = original.read_bytes()
    settings = load_settings({"home": str(tmp_path / "home")},
                             env={"HOME": str(tmp_path), "OS1_LETTERS": str(letters)})
    hub = Hub(settings, llm=FakeLLM(FIXED),
              memory=SQLiteMemory(settings.database, settings.user))
    shots = Path(os.environ.get("OS1_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with serving(create_app(hub, preload_voice=False)) as url, page_of(url) as page:
        page.get_by_label("Message").fill("Can you proofread my letter to Chris?")
        page.keyboard.press("Enter")
        review = page.locator(".review")
        review.wait_for(timeout=30_000)
        changes = review.locator(".change")
        expect(changes).to_have_count(7)
        received = review.locator(".change", has_text="recieved")
        the = review.locator(".change", has_text="teh")
        expect(received.locator("del")).to_have_text("recieved")
        expect(received.locator("ins")).to_have_text("received")
        page.screenshot(path=str(shots / "tracked-changes.png"))
        received.get_by_role("button", name="Keep change").click()
        expect(received).to_have_attribute("data-state", "kept")
        the.get_by_role("button", name="Keep change").click()
        expect(the).to_have_attribute("data-state", "kept")
        review.locator('.change[data-state="open"]').first.get_by_role("button", name="Reject change").click()
        expect(review.locator('.change[data-state="rejected"]')).to_have_count(1)
        review.get_by_role("button", name="Save a new version with the kept changes").click()
        expect(review.locator(".review-state")).to_contain_text("Saved as Letter to Chris (proofread).docx")
        expect(review.get_by_role("button", name="Keep change")).to_have_count(0)
        # The clicks were said as words, in the thread like typed ones.
        expect(page.locator(".msg.user")).to_contain_text(["Can you proofread", "keep", "keep", "reject", "done"])
    assert original.read_bytes() == before
    saved = [p.text for p in docx.Document(str(letters / "Letter to Chris (proofread).docx")).paragraphs]
    assert saved[1] == "Thank you for you letter, i received it on monday and it make me very happy."
    assert saved[2] == "I hope we can meet soon at the lake."
