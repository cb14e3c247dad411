"""``os1 serve`` for real: the embedded 0.5B model, Whisper and Piper behind a
real uvicorn server, used by the official ``openai`` client and by a real
Chromium (Playwright) whose fake microphone plays a recording."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(not (SPEECH / "jfk.wav").exists(), reason="needs ../shared/data/speech"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "OS1_HOME": str(home), "HF_HUB_OFFLINE": "1", "OS1_LLM": "qwen2.5-0.5b"}
    env.pop("OS1_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "os1.cli.main", "serve", "--port", "0"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert found, f"os1 serve printed {line!r}; stderr: {proc.stderr.read() if proc.poll() else ''}"
        url = found.group(1)
        import httpx

        deadline = time.time() + 180
        while not httpx.get(url + "api/status").json()["ready"]:
            assert time.time() < deadline, "the model did not load"
            time.sleep(0.5)
        yield url, home
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_openai_client_streams_chat_and_gets_transcription_and_speech(server):
    from openai import OpenAI

    url, home = server
    client = OpenAI(base_url=url + "v1", api_key="local", timeout=120)
    stream = client.chat.completions.create(
        model="os1", stream=True,
        messages=[{"role": "user", "content": "My cat is called Pixel. Say hello to her!"}])
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len([p for p in pieces if p]) > 1, "the reply was not streamed"
    assert "".join(pieces).strip()

    heard = client.audio.transcriptions.create(model="whisper-1", file=(SPEECH / "jfk.wav").open("rb"))
    assert "country" in heard.text.lower()

    for fmt in ("wav", "mp3"):
        spoken = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello Pixel.",
                                            response_format=fmt)
        assert len(spoken.content) > 2000
    with wave.open(io.BytesIO(client.audio.speech.create(
            model="tts-1", voice="alloy", input="Hello Pixel.", response_format="wav").content)) as w:
        assert w.getnframes() / w.getframerate() > 0.4  # about a second of speech

    # Chat through the API went into the same memory as everything else.
    from os1.memory.sqlite import SQLiteMemory

    texts = [m.content for m in SQLiteMemory(home / "os1.sqlite3", "local").messages()]
    assert "My cat is called Pixel. Say hello to her!" in texts


@pytest.mark.skipif(not CHROMIUM and not os.environ.get("OS1_REQUIRE_BROWSER"),
                    reason="needs Debian's chromium (apt install chromium)")
def test_browser_call_then_typed_message(server, tmp_path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "chromium is not installed"
    url, _ = server
    clip = SPEECH / "fleurs-en-001.wav"
    expected = set((clip.with_suffix(".txt")).read_text().lower().split())
    shots = Path(os.environ.get("OS1_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={clip}%noloop",
            "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            page.goto(url)
            page.wait_for_function("window.os1 && window.os1.historyShown")
            users, replies = page.locator(".msg.user").count(), page.locator(".msg.assistant").count()
            page.get_by_role("button", name="Start a call").click()
            # The fake microphone speaks; the user's caption shows what was heard.
            page.wait_for_function("document.querySelector('#caption-you').dataset.final === 'true'",
                                   timeout=90_000)
            caption = page.inner_text("#caption-you").lower()
            heard = set(re.findall(r"[a-z']+", caption))
            assert len(heard & expected) >= len(expected) // 2, caption
            # A spoken reply: audio actually played in the page (10-20 s after the call starts).
            page.wait_for_function("window.os1.played > 0.5", timeout=90_000)
            page.wait_for_function("!window.os1.pending && window.os1.botState === 'listening'",
                                   timeout=90_000)
            # A few sentences, not a lecture: before the cap held for words only
            # mentioned ("a capital letter"), the 0.5B read its prompt back for 43-60 s.
            assert page.evaluate("window.os1.played") < 30
            page.screenshot(path=str(shots / "call.png"))
            assert page.locator(".msg.user").count() == users + 1
            assert page.locator(".msg.assistant").count() == replies + 1

            # Typed, in the same thread.
            page.get_by_label("Message").fill("Thanks! Please answer in one short sentence.")
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"document.querySelectorAll('.msg.assistant').length === {replies + 2} && !window.os1.pending",
                timeout=90_000)
            assert page.locator(".msg.user").last.inner_text().startswith("Thanks!")

            # The memory panel shows what was said.
            page.get_by_role("button", name="Memory").click()
            page.wait_for_selector("#memory-body li")
            assert "Thanks!" in page.inner_text("#memory-body")
            page.screenshot(path=str(shots / "memory.png"))
            page.keyboard.press("Escape")
            page.set_viewport_size({"width": 390, "height": 800})
            page.screenshot(path=str(shots / "phone.png"))
        finally:
            browser.close()
