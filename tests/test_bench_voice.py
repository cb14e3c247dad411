"""os1 bench voice: the parts that need no models (the timed runs are the benchmark itself)."""

import json
from dataclasses import replace

import pytest

from os1.bench.voice import _home, _seed, clips, word_errors
from os1.cli.main import main
from os1.config import load_settings
from os1.memory.sqlite import SQLiteMemory
from os1.memory.transfer import export_memory



def test_word_errors_ignore_case_and_punctuation():
    assert word_errors("And so, my fellow Americans!", "and so my fellow americans") == (0, 5)
    assert word_errors("ask not what", "ask what") == (1, 3)


def test_clips_need_a_transcript(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    with pytest.raises(SystemExit):
        clips(tmp_path)
    (tmp_path / "a.txt").write_text(" Hello there. \n")
    assert clips(tmp_path) == [(tmp_path / "a.wav", "Hello there.")]


def test_every_clip_starts_with_a_copy_of_the_lived_in_memory(tmp_path):
    source = SQLiteMemory(tmp_path / "source.sqlite3", "default", embedder=None)
    session = source.start_session("text")
    source.add_message(session, "user", "My sister Catherine lives in Lisbon.")
    export = tmp_path / "export.json"
    export.write_text(json.dumps(export_memory(source)))
    source.close()
    settings = load_settings(env={"OS1_HOME": str(tmp_path / "unused")})
    seeded = tmp_path / "seeded"
    seeded.mkdir()
    _seed(replace(settings, home=seeded), export)
    for _ in range(2):  # each clip gets its own copy: what one turn adds, the next does not see
        with _home(settings, seeded) as fresh:
            memory = SQLiteMemory(fresh.database, fresh.user, embedder=None)
            texts = [m.content for m in memory.messages(limit=10)]
            memory.add_message(memory.start_session("voice"), "user", "A new turn.")
            memory.close()
        assert texts == ["My sister Catherine lives in Lisbon."]


def test_an_unreadable_memory_export_is_a_clear_error(tmp_path, capsys):
    audio = tmp_path / "clips"
    audio.mkdir()
    (audio / "a.wav").write_bytes(b"RIFF")
    (audio / "a.txt").write_text("hello")
    bad = tmp_path / "export.json"
    bad.write_text("{not json")
    assert main(["bench", "voice", "--audio", str(audio), "--memory", str(bad),
                 "--home", str(tmp_path / "home")]) == 1
    assert "is not valid JSON" in capsys.readouterr().err
