from os1.audio.turns import Signal, TurnDetector, TurnTiming

FRAME = 0.032


def feed(detector, pattern, start=0.0, **kw):
    """pattern: string of '#' (speech) and '.' (silence), one char per frame."""
    events = []
    t = start
    for ch in pattern:
        t += FRAME
        events += [(e.signal, round(e.t, 3)) for e in detector.process(t, 0.9 if ch == "#" else 0.1, **kw)]
    return events, t


def signals(events):
    return [s for s, _ in events]


def test_speech_then_pause_then_model_says_complete():
    d = TurnDetector()
    events, t = feed(d, "...####" + "#" * 20 + "......")
    assert signals(events) == [Signal.SPEECH_STARTED, Signal.PAUSED]
    assert events[0][1] == round(4 * FRAME, 3)  # the first speech frame, not when we were sure
    assert d.verdict(0.95)[0].signal is Signal.TURN_ENDED
    assert not d.in_turn


def test_a_thinking_pause_does_not_end_the_turn():
    d = TurnDetector()
    # 0.6 s pause mid-sentence (19 frames); the turn model says "not finished".
    events, t = feed(d, "#" * 30 + "." * 6)
    assert signals(events)[-1] is Signal.PAUSED
    assert d.verdict(0.1) == []
    more, t = feed(d, "." * 13 + "#" * 10, start=t)
    assert signals(more) == [Signal.RESUMED]
    assert d.in_turn


def test_long_silence_ends_the_turn_without_a_verdict():
    d = TurnDetector(TurnTiming(end=1.0))
    events, _ = feed(d, "#" * 10 + "." * 40)
    assert signals(events) == [Signal.SPEECH_STARTED, Signal.PAUSED, Signal.TURN_ENDED]
    assert events[-1][1] == round(10 * FRAME, 3)  # end of speech, not end of silence


def test_without_a_turn_model_a_shorter_silence_ends_it():
    d = TurnDetector(TurnTiming(end_when_unsure=0.5), has_turn_model=False)
    events, _ = feed(d, "#" * 10 + "." * 17)
    assert signals(events)[-1] is Signal.TURN_ENDED


def test_backchannel_does_not_barge_in_but_real_speech_does():
    d = TurnDetector()
    events, t = feed(d, "....#####.......", os1_talking=True)  # "mhm": 0.16 s
    assert events == []
    events, _ = feed(d, "#" * 15, start=t, os1_talking=True)  # 0.48 s of speech
    assert signals(events) == [Signal.SPEECH_STARTED]


def test_through_an_echo_canceller_speech_over_os1_in_fragments_is_speech():
    # While both talk, the canceller lets the person through in bits.
    fragments = "#..#.##.##."
    plain, _ = feed(TurnDetector(), fragments, os1_talking=True)
    assert plain == []  # through a headset, bits like these are not someone talking
    cancelled, _ = feed(TurnDetector(), fragments, os1_talking=True, echo_cancelled=True)
    assert cancelled == [(Signal.SPEECH_STARTED, round(FRAME, 3))]  # from the first bit


def test_through_an_echo_canceller_a_frame_clearly_speech_counts_as_two_fragments():
    assert feed(TurnDetector(), "#.#", os1_talking=True, echo_cancelled=True)[0] == []
    clear, _ = feed(TurnDetector(), "#.#", os1_talking=True, echo_cancelled=True, clear=True)
    assert clear == [(Signal.SPEECH_STARTED, round(FRAME, 3))]
    assert feed(TurnDetector(), "#........#", os1_talking=True, echo_cancelled=True, clear=True)[0] == []


def test_through_an_echo_canceller_stray_frames_are_not_speech():
    d = TurnDetector()
    events, _ = feed(d, "#......#.......#......##.......#", os1_talking=True, echo_cancelled=True)
    assert events == []


def test_a_single_click_does_not_resume():
    d = TurnDetector()
    events, t = feed(d, "#" * 10 + "." * 6)
    more, _ = feed(d, "#.", start=t)
    assert more == []


def test_a_fairly_sure_model_ends_the_turn_after_a_longer_silence():
    d = TurnDetector()
    events, t = feed(d, "#" * 20 + "." * 6)
    assert d.verdict(0.8) == []  # not sure enough at 0.19 s of silence
    more, t = feed(d, "." * 11, start=t)  # 0.54 s of silence: a thinking pause is still possible
    assert more == []
    more, _ = feed(d, "." * 3, start=t)  # past 0.6 s
    assert [s for s, _ in more] == [Signal.TURN_ENDED]


def test_unfinished_sentences():
    from os1.audio.turns import sounds_unfinished

    assert sounds_unfinished("The cabbage juice changes color depending on how")
    assert sounds_unfinished("I was thinking, um")
    assert not sounds_unfinished("And so my fellow Americans.")
    assert not sounds_unfinished("")
    assert not sounds_unfinished("how acidic or basic the chemical is")
    assert not sounds_unfinished("Thank you")
    # Whisper's punctuation: more is coming.
    assert sounds_unfinished("However, due to the slow communication channels,")
    assert sounds_unfinished("in which was...")
    assert sounds_unfinished("I think -")


def test_patience_lengthens_every_ending():
    d = TurnDetector()
    d.patience = 0.3
    events, t = feed(d, "#" * 10 + "." * 6)
    assert d.verdict(0.95) == [], "a sure verdict waits out the patience"
    more, t = feed(d, "." * 4, start=t)
    assert signals(more) == [Signal.TURN_ENDED]
    d = TurnDetector()
    d.patience = 0.3
    events, t = feed(d, "#" * 10 + "." * 6)
    d.verdict(0.1)
    more, _ = feed(d, "." * 38, start=t)  # 1.2 s of silence is no longer enough
    assert more == []
    more, _ = feed(d, "." * 10, start=t + 38 * FRAME)
    assert signals(more) == [Signal.TURN_ENDED]
