"""os1 bench call and the overlap benches: the parts that need no models."""

import numpy as np

import os1.bench.overlap as overlap
from os1.audio.gain import AutoGain
from os1.bench.call import sentences, summarise
from os1.bench.overlap import Room, Trial, first_words_lost, summarise_backchannels, summarise_echo
from os1.mind.polish import first_word


def test_a_call_is_scored_on_openings_length_and_what_reached_the_voice():
    rows = [
        {"said": "a", "spoken": ["Oh, that sounds lovely.", "What kind?"], "first_audio_ms": 500, "content_ms": 900},
        {"said": "b", "spoken": ["Oh, I see."], "first_audio_ms": 600, "content_ms": 1000},
        {"said": "c", "spoken": ["One. Two. Three. Four."], "first_audio_ms": 700, "content_ms": 700},
        {"said": "d", "spoken": ["Use add_numbers here."], "first_audio_ms": 800, "content_ms": 800},
    ]
    result = summarise(rows)
    assert result["openings"] == ["oh", "oh", "one", "use"]
    assert result["openings_repeated_in_a_row"] == 1
    assert result["stock_reaction_openings"] == 2
    assert result["max_sentences"] == 4 and result["replies_over_three_sentences"] == 1
    assert result["unspeakable_in_voice"] == 1
    assert result["content_latency_ms"]["p50"] == 850.0


def test_sentences_and_openings_are_counted_as_heard():
    assert sentences("Hi there! How are you? Good.") == 3
    assert sentences("It costs 3.5 euros.") == 1
    assert first_word("  \"Well,\" she said") == "well"


def test_echo_figures_count_false_hushes_and_barge_ins_noticed_in_time():
    room = Room(0.05, 0.3, 5.0, 0.0, 1.1)
    trials = [
        Trial("echo", "r", room, "later"),
        Trial("echo", "r", room, "later", hushed_s=2.0),
        Trial("barge_in", "p", room, "later", onset_s=2.0, hushed_s=2.4, stopped_s=2.5,
              said="And so, my fellow Americans", turn_heard="and so my fellow Americans"),
        Trial("barge_in", "p", room, "later", onset_s=2.0, hushed_s=3.0, stopped_s=3.1,
              said="the cabbage juice changes color", turn_heard="use changes color"),
        # Speech that counted only as the reply ended: nothing to notice in time.
        Trial("barge_in", "p", room, "later", onset_s=4.9, stopped_s=8.5, reply_end_s=5.2),
    ]
    later = summarise_echo(trials)["later"]
    assert (later["false_hushes"], later["false_barge_ins"]) == (1, 0)
    assert later["detected_within_0_5s"] == 1 and later["taken_as_turn"] == 2
    assert later["barge_ins"] == 2 and later["barge_ins_at_the_end"] == 1
    assert later["detect_ms"]["max"] == 1000
    assert later["turns_heard"] == 2 and later["turns_missing_first_words"] == 1
    assert later["first_words_lost"] == 3 and later["turn_word_error_rate"] == 0.3  # 3 of 10 words


def test_the_first_words_lost_are_those_before_the_first_one_heard():
    assert first_words_lost("Many people don't think", "many people don't think") == 0
    assert first_words_lost("Many people don't think", "I don't think") == 2
    assert first_words_lost("to the north", "in the north") == 1
    assert first_words_lost("to the north", "") == 3


def test_backchannel_figures_separate_going_on_from_stopping():
    trials = [
        Trial("backchannel", "Yeah. x1.0", None, "headset"),
        Trial("backchannel", "Right. x1.0", None, "headset", hushed_s=1.0, resumed=1),
        Trial("backchannel", "Okay. x1.0", None, "headset", hushed_s=1.0, resumed=2),
        Trial("stop", "Wait. x1.0", None, "headset", stopped_s=2.0),
        Trial("stop", "Stop. x1.0", None, "headset"),
    ]
    headset = summarise_backchannels(trials)["headset"]
    assert headset["not_interrupted"] == 3 and headset["hushed_a_moment"] == 2
    assert headset["hushed_again"] == 1  # went on, then fell silent again: a stutter
    assert headset["stopped"] == 1 and headset["missed"] == ["Stop. x1.0"]


def test_the_gain_holds_while_os1_talks():
    gain = AutoGain()
    gain.process(np.full(512, 0.05, np.float32))
    before = gain.envelope
    for _ in range(400):  # 13 s of near silence: what an echo canceller leaves of os1's voice
        gain.process(np.full(512, 1e-5, np.float32), hold=True)
    assert gain.envelope == before
    gain.process(np.full(512, 1e-5, np.float32))
    assert gain.envelope < before


class _Silence:
    """A VAD that hears no one: os1's echo alone."""

    def __call__(self, frame):
        return 0.0

    def reset(self):
        pass


class _Parts:
    vad = _Silence()

    class ears:
        @staticmethod
        def readings_now(audio, n, *, faster=False):
            return ["Okay."] * n


def test_an_earlier_reply_comes_back_through_the_same_room_as_the_reply(monkeypatch):
    # A response drawn for each moved the room between two replies of a call,
    # and the linear canceller, which had learnt it, took os1's echo 8 dB down
    # instead of 20 (seed 161 of os1 bench backchannels: a "Stop." lost).
    responses = []
    speaker = overlap._Speaker

    def recording(*args):
        made = speaker(*args)
        responses.append(made._h)
        return made

    monkeypatch.setattr(overlap, "_Speaker", recording)
    room = Room(delay_s=0.02, rt60_s=0.3, drr_db=3.0, echo_db=0.0, drive=1.1)
    reply = (np.sin(np.arange(8000) / 7.0) * 0.3).astype(np.float32)
    overlap.run_trial(Trial("echo", "a tone", room, "later"), reply, "A tone.", None, _Parts(),
                      np.random.default_rng(0), before=reply, tail_s=0.1)
    assert len(responses) == 2 and responses[0] is not None
    assert np.array_equal(responses[0], responses[1])
