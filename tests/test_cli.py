"""The ``os1`` command as a user runs it (a real process), with a real
OpenAI-compatible server standing in for the model."""

import json
import os
import subprocess
import sys

import pytest

from openai_server import OpenAIServer
from test_openai_compat import free_port


def os1(*args, home, stdin="", llm=None, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    env.update({"OS1_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    if llm:
        env["OS1_LLM"] = llm
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "os1", *args], input=stdin, capture_output=True, text=True,
        env=env, timeout=60,
    )


@pytest.fixture(scope="module")
def server():
    with OpenAIServer() as s:
        yield s


def test_help_is_complete(tmp_path):
    out = os1("--help", home=tmp_path).stdout
    for word in ("chat", "memory", "bench", "setup", "reminders", "reach-outs", "OS1_HOME", "OS1_LLM"):
        assert word in out
    for sub in (("chat",), ("memory", "list"), ("memory", "forget"), ("bench", "chat"), ("setup",)):
        r = os1(*sub, "--help", home=tmp_path)
        assert r.returncode == 0 and "usage: os1" in r.stdout


def test_piped_chat_one_reply_per_line(tmp_path, server):
    r = os1("chat", home=tmp_path, llm=server.url, stdin="hello\n\n   \nhow are you?\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["I hear you: hello", "I hear you: how are you?"]
    assert r.stderr == ""


def test_slash_commands_in_a_pipe(tmp_path, server):
    os1("chat", home=tmp_path, llm=server.url, stdin="I like green tea\n")
    r = os1("chat", home=tmp_path, llm=server.url,
            stdin="/memory green\n/forget m999\n/edit f999 The user likes tea.\n/quit\nnever sent\n")
    assert "I like green tea" in r.stdout
    assert "no memory with id 'm999'" in r.stdout
    assert "no fact or note with id 'f999'" in r.stdout
    assert "never sent" not in r.stdout


def test_unreachable_model_keeps_the_message(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    r = os1("chat", home=tmp_path, llm=url, stdin="please keep this\n")
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "Cannot reach the model server" in errors[0]
    listed = os1("memory", "list", "--messages", "5", home=tmp_path)
    assert "please keep this" in listed.stdout


def test_huge_message_is_accepted(tmp_path, server):
    text = "a" * 100_000
    r = os1("chat", home=tmp_path, llm=server.url, stdin=text + "\n")
    assert r.returncode == 0 and "100,000 characters" in r.stderr
    exported = os1("memory", "export", "-", home=tmp_path)
    data = json.loads(exported.stdout)
    assert data["messages"][0]["content"] == text


def test_corrupt_config_names_the_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[llm\n")
    r = os1("chat", home=home, stdin="hi\n")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert str(home / "config.toml") in r.stderr and "not valid TOML" in r.stderr


def test_memory_commands(tmp_path, server):
    os1("chat", home=tmp_path, llm=server.url, stdin="My cat is called Miso\n")
    export_path = tmp_path / "export.json"
    r = os1("memory", "export", str(export_path), home=tmp_path)
    assert r.returncode == 0 and export_path.exists()
    data = json.loads(export_path.read_text())
    ref = next(m["id"] for m in data["messages"] if "Miso" in m["content"])
    assert ref in os1("memory", "search", "Miso", home=tmp_path).stdout
    assert os1("memory", "forget", ref, home=tmp_path).returncode == 0
    assert "Nothing found" in os1("memory", "search", "Miso", home=tmp_path).stdout
    r = os1("memory", "forget", "f12345", home=tmp_path)
    assert r.returncode == 1 and "no memory with id" in r.stderr


def test_unknown_model_name(tmp_path):
    r = os1("chat", home=tmp_path, llm="gpt-17", stdin="hi\n")
    assert r.returncode == 1 and "unknown model 'gpt-17'" in r.stderr


def test_a_reminder_asked_for_in_chat_is_listed_at_its_local_time_and_can_be_cancelled(tmp_path, server):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    zone = {"OS1_TIMEZONE": "Pacific/Auckland"}  # far from this machine's: the person's zone counts
    r = os1("chat", home=tmp_path, llm=server.url, extra_env=zone,
            stdin="remind me to call my sister at 6pm tomorrow\n")
    assert r.returncode == 0, r.stderr
    assert "6 pm" in r.stdout  # confirmed back in words
    tomorrow = datetime.now(ZoneInfo("Pacific/Auckland")) + timedelta(days=1)
    listed = os1("reminders", "list", home=tmp_path, extra_env=zone)
    assert listed.stdout.strip() == f"#1    {tomorrow:%a %Y-%m-%d} 18:00  call your sister"
    as_json = json.loads(os1("reminders", "--json", home=tmp_path, extra_env=zone).stdout)
    assert as_json[0]["due"] == f"{tomorrow:%a %Y-%m-%d} 18:00" and not as_json[0]["repeats"]
    assert "Cancelled #1: call your sister" in os1("reminders", "cancel", "1", home=tmp_path).stdout
    assert "No reminders" in os1("reminders", home=tmp_path).stdout
    log = os1("reach-outs", "log", home=tmp_path).stdout
    assert "dropped  cancelled with os1 reminders: call your sister" in log
    missing = os1("reminders", "cancel", "7", home=tmp_path)
    assert missing.returncode == 1 and "no active reminder #7" in missing.stderr
