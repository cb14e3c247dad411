"""The voice session with fakes at the stage boundaries (no models, real time)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest


from os1.events import Interrupted, ReplyDone, Transcript, TurnTimes
from os1.memory.sqlite import SQLiteMemory
from os1.mind.companion import Companion
from os1.talk import TimelineOutput, VoiceParts, VoiceSession, paced_frames

from fakes import (
    CountingEars, FakeLLM, LoudnessVAD, ScriptedTurnModel, SlowVoice, silence, speech,
)


@pytest.fixture
def memory(settings):
    m = SQLiteMemory(settings.database, settings.user)
    yield m
    m.close()


async def converse(settings, memory, audio, *, replies=("Hello there, nice to hear you.",),
                   turn_model=None, tail=1.5, voice=None):
    llm = FakeLLM(list(replies))
    events = []
    ears = CountingEars()
    parts = VoiceParts(vad=LoudnessVAD(), ears=ears, voice=voice or SlowVoice(),
                       turn_model=turn_model or ScriptedTurnModel([]))
    async with Companion(settings, llm, memory, channel="voice") as companion:
        output = TimelineOutput()
        session = VoiceSession(companion, parts, output, events.append)
        await session.run(paced_frames(audio, tail_silence=tail))
    return events, llm, ears, output


async def test_a_spoken_turn_is_heard_answered_and_remembered(settings, memory):
    events, llm, ears, output = await converse(settings, memory, np.concatenate([silence(0.3), speech(1.0)]))
    finals = [e.text for e in events if isinstance(e, Transcript) and e.final]
    assert finals == ["alpha alpha alpha alpha"]
    assert llm.prompts[-1][-1].content == "alpha alpha alpha alpha"
    times = [e for e in events if isinstance(e, TurnTimes)]
    assert len(times) == 1 and 0 < times[0].first_audio_ms < 2000
    assert output.pieces, "the reply was played"
    stored = [(m.role, m.channel) for m in memory.messages()]
    assert stored == [("user", "voice"), ("assistant", "voice")]


async def test_markdown_latex_and_code_are_shown_but_never_reach_the_voice(settings, memory):
    voice = SlowVoice()
    reply = "Oh, it's **easy**: \\( \\frac{3}{2} \\).\n```\nprint(3/2)\n```\nDone 😊"
    events, *_ = await converse(settings, memory, np.concatenate([silence(0.3), speech(1.0)]),
                                replies=[reply], voice=voice, tail=4.0)
    said = " ".join(voice.said)
    assert "easy" in said and "3 over 2" in said and "Done" in said
    assert not set(said) & set("*\\`{}😊") and "print" not in said
    done = next(e for e in events if isinstance(e, ReplyDone))
    assert "**easy**" in done.text  # the thread keeps the formatting


async def test_words_pointing_at_code_in_a_call_say_where_it_is(settings, memory):
    voice = SlowVoice()
    reply = "Here is a function that adds two numbers:\n```python\ndef add(a, b):\n    return a + b\n```\n"
    await converse(settings, memory, np.concatenate([silence(0.3), speech(1.0)]),
                   replies=[reply], voice=voice, tail=4.0)
    said = " ".join(voice.said)
    assert said == "Here is a function that adds two numbers, written out on your screen."


async def test_a_thinking_pause_does_not_end_the_turn(settings, memory):
    audio = np.concatenate([speech(1.5), silence(0.6), speech(1.0, level=0.35)])
    model = ScriptedTurnModel([0.1, 0.9])  # first pause: "not finished"; then: finished
    events, llm, ears, _ = await converse(settings, memory, audio, turn_model=model)
    finals = [e.text for e in events if isinstance(e, Transcript) and e.final]
    assert finals == ["alpha alpha alpha alpha alpha alpha bravo bravo bravo bravo"]
    assert len([e for e in events if isinstance(e, ReplyDone)]) == 1
    assert [m.content for m in memory.messages() if m.role == "user"] == [finals[0]]
    # Incremental: the second phrase was transcribed with the first as context.
    assert ears.calls[-1][1] == "alpha alpha alpha alpha alpha alpha"
    assert ears.calls[-1][0] < 2.0  # only the second phrase (3.1 s for the whole turn)


async def test_a_short_phrase_is_heard_again_with_the_next(settings, memory):
    audio = np.concatenate([speech(0.5), silence(0.6), speech(1.0, level=0.35)])
    model = ScriptedTurnModel([0.1, 0.9])
    events, llm, ears, _ = await converse(settings, memory, audio, turn_model=model)
    finals = [e.text for e in events if isinstance(e, Transcript) and e.final]
    assert finals == ["alpha alpha bravo bravo bravo bravo"]
    assert ears.calls[-1][1] == ""  # no context: the first words are in this audio
    assert ears.calls[-1][0] > 1.5


async def test_barge_in_stops_playback_and_keeps_only_what_was_heard(settings, memory):
    reply = "This is a long answer that goes on. And on and on for quite a while longer."
    audio = np.concatenate([speech(1.0), silence(2.2), speech(1.0)])  # talk over the reply
    events, llm, _, output = await converse(settings, memory, audio, replies=[reply, "Okay."], tail=2.5)
    interrupted = [e for e in events if isinstance(e, Interrupted)]
    assert len(interrupted) == 1
    heard = interrupted[0].heard
    assert heard and reply.startswith(heard) and len(heard) < len(reply)
    stored = [m for m in memory.messages() if m.role == "assistant"]
    assert stored[0].content == heard and stored[0].interrupted
    # The next turn's prompt carries what was heard, not what was written.
    assert llm.prompts[1][2].content == heard
    played = sum(a.size for _, a, _ in output.pieces) / SlowVoice.sample_rate
    assert played < len(reply) * 0.1  # playback was cut short


async def test_a_short_first_word_of_a_barge_in_is_heard(settings, memory):
    # "Ask not ...": "Ask" alone is too short to interrupt, but it is part of the words.
    reply = "This is a long answer that goes on. And on and on for quite a while longer."
    audio = np.concatenate([speech(1.0), silence(2.2), speech(0.25, level=0.4), silence(0.3),
                            speech(1.0, level=0.35)])
    events, llm, _, _ = await converse(settings, memory, audio, replies=[reply, "Okay."], tail=2.5)
    assert [e for e in events if isinstance(e, Interrupted)]
    finals = [e.text for e in events if isinstance(e, Transcript) and e.final]
    assert finals[-1] == "charlie bravo bravo bravo bravo"


async def test_a_backchannel_does_not_interrupt(settings, memory):
    reply = "Here is a fairly long reply to listen to."
    audio = np.concatenate([speech(1.0), silence(2.0), speech(0.15), silence(0.5)])
    events, *_ = await converse(settings, memory, audio, replies=[reply], tail=4.5)
    assert not [e for e in events if isinstance(e, Interrupted)]
    done = [e for e in events if isinstance(e, ReplyDone)]
    assert done and done[0].text == reply


async def test_a_yeah_over_the_reply_hushes_it_and_it_goes_on_to_the_end(settings, memory):
    reply = "Here is a fairly long reply to listen to, all of it."
    audio = np.concatenate([speech(1.0), silence(2.2), speech(0.5, level=0.45), silence(0.5)])
    voice = SlowVoice()
    events, _, _, output = await converse(settings, memory, audio, replies=[reply], tail=6.0, voice=voice)
    assert not [e for e in events if isinstance(e, Interrupted)]
    stored = [m for m in memory.messages() if m.role == "assistant"]
    assert stored[0].content == reply and not stored[0].interrupted
    played = sum(a.size for _, a, _ in output.pieces) / SlowVoice.sample_rate
    assert abs(played - sum(len(t) for t in voice.said) * 0.1) < 0.05, "every word was heard"
    silent = max(b - (a + x.size / r) for (a, x, r), (b, _, _) in zip(output.pieces, output.pieces[1:]))
    assert 0.1 < silent < 1.5, "it fell silent while they spoke, then went on"


async def test_wait_over_the_reply_stops_it_and_is_their_turn(settings, memory):
    reply = "Here is a fairly long reply to listen to, all of it."
    audio = np.concatenate([speech(1.0), silence(2.2), speech(0.5, level=0.5), silence(0.5)])
    events, llm, _, _ = await converse(settings, memory, audio, replies=[reply, "Sure."], tail=3.0)
    assert [e for e in events if isinstance(e, Interrupted)]
    assert llm.prompts[-1][-1].content == "wait wait"


async def test_silence_gets_no_reply(settings, memory):
    events, llm, ears, _ = await converse(settings, memory, silence(1.0))
    assert llm.prompts == [] and ears.calls == []
    assert not [e for e in events if isinstance(e, Transcript)]


async def test_a_probable_end_is_answered_early_but_heard_only_when_confirmed(settings, memory):
    # "Probably over" at the pause: the reply is written at once, and spoken
    # when the silence confirms it (TurnTiming.likely_end after the speech).
    audio = np.concatenate([silence(0.3), speech(1.0)])
    events, llm, _, output = await converse(settings, memory, audio, turn_model=ScriptedTurnModel([0.7]))
    assert len(llm.prompts) == 1
    times = [e for e in events if isinstance(e, TurnTimes)]
    likely_end_ms = 600
    assert len(times) == 1
    # Written before the turn was confirmed over; heard only after.
    assert times[0].first_token_ms < times[0].decided_ms <= times[0].first_audio_ms
    assert times[0].decided_ms >= likely_end_ms
    kinds = [type(e).__name__ for e in events]
    # Nothing of the draft showed before the turn ended.
    assert kinds.index("SpeechStopped") < kinds.index("UserTurn") < kinds.index("ReplyDelta")
    assert [(m.role, m.content) for m in memory.messages()] == [
        ("user", "alpha alpha alpha alpha"), ("assistant", "Hello there, nice to hear you.")]


async def test_a_draft_reply_is_dropped_when_the_user_goes_on(settings, memory):
    audio = np.concatenate([speech(1.0), silence(0.5), speech(1.0, level=0.35)])
    model = ScriptedTurnModel([0.7, 0.95])  # "probably over" -- but they go on
    events, llm, _, output = await converse(
        settings, memory, audio, turn_model=model, replies=["Too early.", "Right on time."])
    assert len(llm.prompts) == 2  # the draft was written...
    done = [e for e in events if isinstance(e, ReplyDone)]
    assert [d.text for d in done] == ["Right on time."]  # ...but never heard or shown
    assert [(m.role, m.content) for m in memory.messages()] == [
        ("user", "alpha alpha alpha alpha bravo bravo bravo bravo"), ("assistant", "Right on time.")]
    # The real reply's prompt does not carry the dropped turn.
    assert [m.content for m in llm.prompts[1][1:]] == ["alpha alpha alpha alpha bravo bravo bravo bravo"]
    finals = [e.text for e in events if isinstance(e, Transcript) and e.final]
    assert finals == ["alpha alpha alpha alpha bravo bravo bravo bravo"]


async def test_reading_ahead_runs_one_prefill_at_a_time_and_only_the_newest_words_wait(settings, memory):
    # Provisional transcripts come every 0.6 s; a prefill slower than that
    # must not leave a queue of older ones to hold the model after the person
    # stops (each reads all the words so far, so only the newest is worth it).
    class SlowWarm(FakeLLM):
        at_once = most_at_once = 0

        async def warm(self, messages, tools=()):
            if messages[-1].role != "user":  # the system prompt, read at the start
                return await super().warm(messages, tools)
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
            try:
                await asyncio.sleep(1.3)
                await super().warm(messages, tools)
            finally:
                self.at_once -= 1

    llm = SlowWarm(["Mm."])
    ears = CountingEars()
    parts = VoiceParts(vad=LoudnessVAD(), ears=ears, voice=SlowVoice(), turn_model=ScriptedTurnModel([]))
    async with Companion(settings, llm, memory, channel="voice") as companion:
        session = VoiceSession(companion, parts, TimelineOutput(), lambda e: None)
        await session.run(paced_frames(np.concatenate([silence(0.3), speech(5.0)]), tail_silence=1.5))
    provisional = sum(ears.provisional)  # all but the phrase's transcript at the pause
    assert len(ears.calls) - provisional == 1
    read = [w[-1].content for w in llm.warmed if w[-1].role == "user"]
    assert llm.most_at_once == 1
    assert provisional >= 6 and 2 <= len(read) < provisional - 2
    assert len(read[-1].split()) > len(read[0].split()) + 8  # newer words were read, not the queue


async def test_going_on_before_the_reply_is_heard_makes_one_utterance(settings, memory):
    # The turn ends at the pause (the model is sure), but they go on talking
    # while the reply is still being voiced: nothing was heard, so the turn is
    # taken back and the whole utterance answered once.
    class SlowStartVoice(SlowVoice):
        async def synthesize(self, text):
            import asyncio

            await asyncio.sleep(1.0)  # the reply is not audible for a second
            async for audio in super().synthesize(text):
                yield audio

    audio = np.concatenate([speech(1.5), silence(0.25), speech(1.0, level=0.35)])
    llm = FakeLLM(["Too early.", "Right on time."])
    events = []
    parts = VoiceParts(vad=LoudnessVAD(), ears=CountingEars(), voice=SlowStartVoice(),
                       turn_model=ScriptedTurnModel([0.95, 0.95]))
    async with Companion(settings, llm, memory, channel="voice") as companion:
        session = VoiceSession(companion, parts, TimelineOutput(), events.append)
        await session.run(paced_frames(audio, tail_silence=3.0))
    from os1.events import Retracted

    assert len([e for e in events if isinstance(e, Retracted)]) == 1
    assert [(m.role, m.content) for m in memory.messages()] == [
        ("user", "alpha alpha alpha alpha alpha alpha bravo bravo bravo bravo"),
        ("assistant", "Right on time.")]
    assert [m.content for m in llm.prompts[-1][1:]] == [
        "alpha alpha alpha alpha alpha alpha bravo bravo bravo bravo"]


async def test_going_on_over_an_opening_reaction_makes_one_utterance(settings, memory):
    # The turn ends at the pause and the reply's "Hmm," is heard at once, but
    # they were only drawing breath: as with people, they go on over it, and
    # their whole sentence is answered once. (The turn ends ~0.2 s into the
    # silence, and "Hmm," is heard for the next 0.4 s. On a loaded machine the
    # frames may come in a burst, and the pause is then never taken for an end:
    # the outcome must be the same.)
    audio = np.concatenate([speech(1.5), silence(0.4), speech(1.0, level=0.35)])
    events, *_ = await converse(
        settings, memory, audio, replies=["Hmm, that is a long story to tell you about.", "Right on time."],
        turn_model=ScriptedTurnModel([0.95, 0.95]), tail=3.0)
    from os1.events import ReplyAudio

    assert next(e.text for e in events if isinstance(e, ReplyAudio)) == "Hmm,"  # it was heard
    assert not [e for e in events if isinstance(e, Interrupted)]
    messages = [(m.role, m.content) for m in memory.messages()]
    assert messages[0] == ("user", "alpha alpha alpha alpha alpha alpha bravo bravo bravo bravo")
    assert [role for role, _ in messages] == ["user", "assistant"]


def test_a_final_transcript_keeps_the_wording_the_model_already_read():
    from os1.call import _as_read

    # The same words: the model's prompt still begins as it read it.
    assert (_as_read("made famous to foreigners after Lord Byron.", "made famous, to foreigners after")
            == "made famous, to foreigners after Lord Byron.")
    # A word heard differently: from there on, the new transcript.
    assert _as_read("The basic alkaline", "Basic alkaline") == "The basic alkaline"
    assert _as_read("of its splendor", "of the splendor") == "of its splendor"
    # The last word read had lost its comma to the cut: the new one keeps it.
    assert _as_read("slow communication channels, styles", "slow communication channels") \
        == "slow communication channels, styles"


async def test_no_provisional_transcript_starts_in_the_silence_before_a_pause(settings, memory):
    # A transcript started there hears the phrase without its last sound (a
    # final "s" the VAD already counts as silence) and only delays the real one.
    for seconds in (1.15, 1.75):  # provisional transcripts are due at ~1.2 and ~1.8 s
        events, llm, ears, _ = await converse(settings, memory, speech(seconds))
        assert len(ears.calls) >= 2  # provisional ones, and the pause's
        for audio in ears.audio:
            loud = np.flatnonzero(np.abs(audio) > 0.05)
            trailing = (audio.size - 1 - loud[-1]) / 16000
            assert trailing < 0.01 or trailing > 0.12, trailing  # mid-speech, or with the tail


class _Echo:
    """An echo canceller as the session sees it (the frames come cleaned by it)."""

    settled = False
    working = True


def _speaker_parts() -> VoiceParts:
    return VoiceParts(vad=LoudnessVAD(), ears=CountingEars(), voice=SlowVoice(), turn_model=ScriptedTurnModel([]))


async def test_speech_over_the_voice_counts_in_fragments_only_once_the_echo_canceller_has_settled(
        settings, memory):
    echo = _Echo()
    async with Companion(settings, FakeLLM(["Hi."]), memory, channel="voice") as companion:
        session = VoiceSession(companion, _speaker_parts(), TimelineOutput(), echo=echo)  # type: ignore[arg-type]
        session.feed(np.zeros(512, np.float32))
        assert not session.policy.echo_cancelled
        echo.settled = True
        session.feed(np.zeros(512, np.float32))
        assert session.policy.echo_cancelled


async def test_on_open_speakers_the_policy_gets_the_microphone_as_heard_and_its_coherence_with_the_voice(
        settings, memory):
    from os1.audio.echo import Heard

    async with Companion(settings, FakeLLM(["Hi."]), memory, channel="voice") as companion:
        session = VoiceSession(companion, _speaker_parts(), TimelineOutput(), echo=_Echo())  # type: ignore[arg-type]
        given: list[tuple[float, float | None, float | None]] = []
        frame = session.policy.frame

        def seen(audio, probability, **kw):
            given.append((probability, kw["raw"], kw["echo"]))
            return frame(audio, probability, **kw)

        session.policy.frame = seen  # type: ignore[method-assign]
        quiet, loud = np.zeros(512, np.float32), np.full(512, 0.3, np.float32)
        session.feed(Heard(quiet, loud, 0.2))  # the canceller took everything out; the microphone heard speech
        session.feed(Heard(quiet, quiet, None))
        session.feed(quiet)  # a headset: no canceller's view
        assert given == [(0.05, 0.9, 0.2), (0.05, 0.05, None), (0.05, None, None)]


async def test_on_open_speakers_a_check_is_also_read_from_the_linear_cancellers_output_and_that_sped_up(settings, memory):
    from os1.call import Overheard

    asked = []

    class Ears(CountingEars):
        async def readings(self, audio, n, *, faster=False):
            asked.append((float(audio[0]), faster))
            return ["Stop.", "Stop!"] if audio[0] == 2.0 else ["Okay.", "Oh."]  # the linear output: 2.0

    parts = VoiceParts(vad=LoudnessVAD(), ears=Ears(), voice=SlowVoice(), turn_model=ScriptedTurnModel([]))
    async with Companion(settings, FakeLLM(["Hi."]), memory, channel="voice") as companion:
        session = VoiceSession(companion, parts, TimelineOutput(), echo=_Echo())  # type: ignore[arg-type]
        given = []
        session.policy.overheard = (  # type: ignore
            lambda job, text, others, unsuppressed: given.append((text, others, unsuppressed)) or [])
        frames = np.ones(512, np.float32)
        await session._overhear(Overheard(frames, frames * 2))
        await session._overhear(Overheard(frames))  # a headset
    assert given == [("Okay.", ["Oh."], ["Stop.", "Stop!"]), ("Okay.", ["Oh."], [])]
    # The faster view is read of the clearest clip: the linear output on open speakers, the microphone on a headset.
    assert asked == [(1.0, False), (2.0, True), (1.0, True)]
