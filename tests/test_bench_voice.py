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


def test_pauses_go_inside_clauses_only():
    from types import SimpleNamespace as W

    from os1.bench.pauses import mid_clause

    words = [W(word=w, start=s, end=s + 0.3) for w, s in [
        (" And", 0.0), (" so,", 0.35), (" my", 1.0), (" fellow", 1.35), (" Americans,", 1.7),
        (" ask", 2.05), (" not", 2.4), (" what", 3.5), (" your", 3.85), (" country.", 4.2)]]
    # Not after a comma, not where they already paused ("not" ... "what"), and
    # with words on both sides.
    assert [words[i].word.strip() for i in mid_clause(words)] == ["my", "fellow", "ask", "what"]


def test_a_pause_is_filled_with_the_clips_own_room_tone():
    import random

    import numpy as np

    from os1.bench.pauses import room_noise

    rng = np.random.default_rng(0)
    clip = np.concatenate([rng.normal(0, 0.002, 8000), rng.normal(0, 0.3, 32000)]).astype(np.float32)
    noise = room_noise(clip, 1.2, random.Random(1))
    assert noise.size == int(1.2 * 16000)
    assert 0.0005 < float(np.sqrt(np.mean(noise**2))) < 0.01  # the quiet part, not the speech


def test_the_summary_counts_cutoffs_and_the_time_to_content():
    from os1.bench.stats import spread
    from os1.bench.voice import _summary

    settings = load_settings(env={"OS1_HOME": "/nonexistent"})
    row = dict(transcript="hi", first_words="Oh,", errors=0, ref_words=1, transcript_ms=300.0,
               decided_ms=300.0, first_token_ms=400.0, first_audio_ms=500.0)
    rows = [{**row, "clip": "a", "cutoff": True, "content_ms": 900.0},
            {**row, "clip": "b", "cutoff": False, "content_ms": 700.0}]
    result = _summary(settings, rows)
    assert result["cutoffs"] == 1
    assert result["content_latency_ms"] == spread([900.0, 700.0])
