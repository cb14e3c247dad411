"""Bad files (#20): truncated, empty, mislabelled and very long audio to the
transcription endpoint and to `os1 talk --input`; malformed, huge,
wrong-version and hostile memory imports; a corrupt config. Each gets a clear
message (never a traceback), and nothing is half-imported."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from os1.audio.format import encode_audio, wav_bytes
from os1.cli.main import main
from os1.errors import StorageError
from os1.memory.sqlite import SQLiteMemory

from fakes import silence, speech
from test_web import LOCAL, make_app

# -- audio ------------------------------------------------------------------------------------------


def _patched(wav: bytes, offset: int, fmt: str, value: int) -> bytes:
    """A WAV whose header says something else at ``offset`` (22: channels,
    24: sample rate, 34: bits per sample)."""
    return wav[:offset] + struct.pack(fmt, value) + wav[offset + struct.calcsize(fmt):]


SPOKEN = wav_bytes(np.concatenate([speech(0.5, 0.35), silence(0.2)]), 16000)

#: (file name, its bytes, words the message must have)
UNREADABLE = {
    "empty": ("empty.wav", b"", "not an audio file"),
    "cut in its header": ("cut.wav", SPOKEN[:30], "not a readable PCM WAV"),
    "a header and no sound": ("none.wav", wav_bytes(np.zeros(0, np.float32), 16000), "holds no audio"),
    "0 Hz": ("zero.wav", _patched(SPOKEN, 24, "<I", 0), "sample rate is 0 Hz"),
    "1 Hz: hours of sound in 20 kB": ("slow.wav", _patched(SPOKEN, 24, "<I", 1), "sample rate is 1 Hz"),
    "4 GHz": ("fast.wav", _patched(SPOKEN, 24, "<I", 4_000_000_000), "4000000000 Hz"),
    "no channels": ("mono.wav", _patched(SPOKEN, 22, "<H", 0), "not a readable PCM WAV"),
    "40-bit samples": ("wide.wav", _patched(_patched(SPOKEN, 34, "<H", 40), 32, "<H", 5), "sample width"),
    "text called .wav": ("notes.wav", b"Dear diary, today I " * 50, "not an audio file"),
    "noise called .mp3": ("noise.mp3", bytes(np.random.default_rng(1).integers(0, 256, 9000, np.uint8)),
                          "not an audio file"),
}


@pytest.fixture
def api(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        yield client


def _transcribe(api, name: str, data: bytes):
    return api.post("/v1/audio/transcriptions", files={"file": (name, data, "audio/wav")})


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_an_unreadable_recording_is_a_clear_400_from_the_transcription_endpoint(api, case):
    name, data, words = UNREADABLE[case]
    answer = _transcribe(api, name, data)
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert words in message and name in message and "Traceback" not in message


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_an_unreadable_recording_is_a_clear_message_from_os1_talk(tmp_path, capsys, case):
    name, data, words = UNREADABLE[case]
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["talk", "--input", str(path), "--home", str(tmp_path / "home")]) == 1
    said = capsys.readouterr().err
    assert said.startswith("os1: ") and words in said and "Traceback" not in said
    assert "waking up" not in said  # told before any model loads


def test_a_recording_is_read_by_what_it_is_not_what_it_is_called(api):
    mp3, _ = encode_audio(np.concatenate([speech(0.5, 0.35), silence(0.2)]), 16000, "mp3")
    for name, data in (("clip.wav", mp3), ("clip.mp3", SPOKEN), ("clip", SPOKEN)):
        answer = _transcribe(api, name, data)
        assert answer.status_code == 200, name
        heard = answer.json()["text"].split()  # the fake ears name words by loudness: mp3 changes it
        assert len(heard) == 2 if data is mp3 else heard == ["bravo", "bravo"], name


def test_a_cut_short_recording_is_heard_as_far_as_it_goes(api):
    long = wav_bytes(np.concatenate([speech(0.5, 0.35), silence(0.2), speech(2.0, 0.35)]), 16000)
    answer = _transcribe(api, "cut.wav", long[: len(SPOKEN)])  # the header still says 2.7 s
    assert answer.status_code == 200 and answer.json()["text"] == "bravo bravo"


def test_a_very_long_recording_is_heard_in_pieces_and_one_too_large_is_refused(api):
    hour = wav_bytes(np.zeros(8000 * 60 * 20, np.float32), 8000)  # 20 minutes: 19 MB
    answer = _transcribe(api, "meeting.wav", hour)
    assert answer.status_code == 200 and answer.json()["text"] == ""
    huge = wav_bytes(np.zeros(8000 * 60 * 30, np.float32), 8000)  # 29 MB
    answer = _transcribe(api, "longer.wav", huge)
    assert answer.status_code == 413 and "25 MB" in answer.json()["error"]["message"]


# -- memory imports ---------------------------------------------------------------------------------


def _export(**changes):
    export = {"format": "os1-memory", "version": 3, "user": "ana", "profile": {"name": "Ana"},
              "sessions": [{"id": 1, "channel": "text", "started_at": "2026-01-05T10:00:00+00:00"}],
              "messages": [{"id": "m1", "session": 1, "role": "user", "content": "I moved to Lisbon.",
                            "channel": "text", "interrupted": False,
                            "created_at": "2026-01-05T10:00:01+00:00"},
                           {"id": "m2", "session": 1, "role": "assistant", "content": "How exciting!",
                            "channel": "text", "interrupted": False,
                            "created_at": "2026-01-05T10:00:03+00:00"}],
              "facts": [{"id": "f1", "text": "They live in Lisbon.", "kind": "life", "source": "m1",
                         "created_at": "2026-01-05T10:00:05+00:00"}]}
    export.update(changes)
    return export


def _message(**changes):
    m = {"id": "m9", "session": 1, "role": "user", "content": "Hi.", "channel": "text",
         "interrupted": False, "created_at": "2026-01-05T10:00:09+00:00"}
    m.update(changes)
    return m


HOSTILE = {
    "not JSON at all": b"\x89PNG\r\n\x1a\n" + bytes(200),
    "JSON, not an export": json.dumps([1, 2, 3]).encode(),
    "a newer version": json.dumps(_export(version=99)).encode(),
    "duplicated message ids": json.dumps(_export(messages=[*_export()["messages"], _message(id="m1")])).encode(),
    "duplicated session ids": json.dumps(_export(sessions=[*_export()["sessions"], *_export()["sessions"]])).encode(),
    "an id that is a path": json.dumps(_export(messages=[_message(id="../../etc/passwd")])).encode(),
    "a fact from a message not in it": json.dumps(_export(facts=[{**_export()["facts"][0], "source": "m404"}])).encode(),
    "a session no calendar holds": json.dumps(_export(sessions=[{"id": 1, "started_at": 1e300}])).encode(),
    "the year 0": json.dumps(_export(sessions=[{"id": 1, "started_at": "0000-01-01T00:00:00"}])).encode(),
    "a session number too large": json.dumps(_export(sessions=[{"id": 10**40, "started_at": 0}])).encode(),
    "text where a list goes": json.dumps(_export(messages="all of them")).encode(),
    "nested a thousand deep": b'{"format": "os1-memory", "version": 3, "profile": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "a role that is not one": json.dumps(_export(messages=[_message(role="system")])).encode(),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_import_is_refused_with_a_clear_message_and_nothing_is_half_imported(settings, tmp_path,
                                                                                      capsys, case):
    memory = SQLiteMemory(settings.database, settings.user)
    memory.import_data(_export(messages=[_message(id="m1", content="Already here.")], facts=[]))
    before = memory.export()
    memory.close()
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        answer = client.post("/api/memory/import", content=HOSTILE[case],
                             headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert "Traceback" not in answer.json()["error"]["message"]
    path = tmp_path / "export.json"
    path.write_bytes(HOSTILE[case])
    assert main(["memory", "import", str(path), "--home", str(settings.home)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("os1: ") and "Traceback" not in said
    memory = SQLiteMemory(settings.database, settings.user)
    after = memory.export()
    memory.close()
    kept = ("profile", "messages", "facts", "summaries", "journal", "relationship", "self_description")
    assert {k: after.get(k) for k in kept} == {k: before.get(k) for k in kept}


_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=3),
                       max_leaves=8)


@st.composite
def _mutated(draw):
    """A good export with one field of one item changed to anything."""
    export = _export()
    part = draw(st.sampled_from(["sessions", "messages", "facts"]))
    item = draw(st.sampled_from(export[part]))
    key = draw(st.sampled_from(sorted(item)))
    item[key] = draw(_VALUES)
    return export


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(export=_mutated())
def test_an_export_changed_anywhere_is_imported_whole_or_refused_whole(tmp_path_factory, export):
    home = tmp_path_factory.mktemp("import")
    memory = SQLiteMemory(home / "os1.sqlite3", "ana", embedder=None)
    try:
        memory.import_data(export)
    except StorageError as exc:
        assert "Traceback" not in str(exc)
        assert memory.messages() == [] and memory.facts() == [] and memory.export()["sessions"] == []
    else:
        assert len(memory.messages()) == 2
        json.dumps(memory.export())  # and it can be exported again
    finally:
        memory.close()


# -- config -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("content, words", [
    (b"\xff\xfe\x00garbage\x00", "not UTF-8"),
    (b"\x00" * 64, "is not valid TOML"),
    (b'[llm]\nmodel = "' + b"x" * 100_000 + b'"', "unknown model"),
    (b"[llm]\n" + b"[" * 5000, "is not valid TOML"),
])
def test_a_corrupt_config_is_named_with_what_is_wrong_and_nothing_starts(tmp_path, capsys, content, words):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_bytes(content)
    assert main(["chat", "--home", str(home)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("os1: ") and str(home / "config.toml") in said and words in said
    assert "Traceback" not in said and len(said) < 2000
    assert not (home / "os1.sqlite3").exists()


def test_a_config_that_is_a_directory_is_named(tmp_path, capsys):
    home = tmp_path / "home"
    (home / "config.toml").mkdir(parents=True)
    assert main(["chat", "--home", str(home)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("os1: ") and "config.toml" in said and "Traceback" not in said



# -- ids --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["f²", "f١٢", "f" + "9" * 30, "f", "x12", "f-1", "f 1"])
def test_an_id_that_cannot_be_one_finds_nothing_anywhere(settings, capsys, ref):
    from os1.memory.store import parse_ref

    assert parse_ref(ref) is None
    memory = SQLiteMemory(settings.database, settings.user)
    assert memory.edit(ref, "new words") is False and memory.forget(ref) is False
    memory.close()
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        assert client.delete(f"/api/memory/{ref}").status_code == 404
        assert client.patch(f"/api/memory/{ref}", json={"text": "x"}).status_code == 404
    assert main(["memory", "forget", ref, "--home", str(settings.home)]) == 1
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("token, words", [("short", "at least 12"), ("a token with spaces", "printable ASCII"),
                                          ("jetonsécrétdeux", "printable ASCII")])
def test_an_access_token_no_browser_could_send_is_refused_before_serving(tmp_path, capsys, token, words):
    assert main(["serve", "--token", token, "--home", str(tmp_path), "--no-voice"]) == 1
    assert words in capsys.readouterr().err
