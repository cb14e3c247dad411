"""``os1 bench echo`` and ``os1 bench backchannels``: speech over os1's voice.

A reply of os1's (Piper) plays through a simulated room -- the speaker's
distortion, a delay, a room impulse response (the direct path, then
exponentially decaying noise), a level -- into the microphone path, mixed or
not with a person's speech. The microphone's frames go through what ``os1
talk`` runs on open speakers (the echo canceller and its coherence with the
voice, then Silero VAD on what it leaves and on the microphone) into the
call's policy (:class:`os1.call.CallPolicy`), whose checks of speech over the
voice are heard by the real ears (Whisper base), delivered after as long as
they took. The voice falls silent when the policy says so: what the room
returns follows what was played.

- ``echo``: replies alone (no one speaks: any hush or stop is false), and
  replies with real speech from ``--audio`` starting 1-4 s into them (a
  barge-in: noticed when the voice falls silent, timed from where the person
  begins to talk -- the first run of speech that counts through a headset;
  the turn it becomes is heard to the end of their words and transcribed, to
  tell whether its first words reached the ears). Each runs as the first
  reply of a call (a new canceller), as a later one (the canceller heard an
  earlier reply in the same room), and with no canceller at all, for
  comparison.
- ``backchannels``: "yeah", "right", a laugh... and "wait", "stop", "no
  no", "hold on" (Piper's voice at three pitches: the speech data holds no
  such words to cut), and "mm-hmm" (a synthetic hum: Piper cannot say it),
  over a reply, through a headset (no echo) and through open speakers (a
  later reply of a call, echo cancelled).
"""

from __future__ import annotations

import difflib
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from os1.audio.format import FRAME, SAMPLE_RATE, read_wav, resample
from os1.bench.stats import percentile
from os1.bench.voice import clips, word_errors, words

FRAME_S = FRAME / SAMPLE_RATE
REPLIES = [
    ("I would go to the coast, honestly. The light there in the evening is something else, "
     "and the walk along the cliffs takes about an hour."),
    "That sounds like a long week. What was the hardest part of it, the deadline or the people?",
    "Oh, I remember you mentioned your sister was moving. Did the boxes all make it to the new place?",
    ("I think the book is better than the film. The film rushes the ending, and the quiet "
     "chapters in the middle are where the whole story lives."),
    ("Bread takes patience more than skill. Give the dough a warm corner and a couple of hours, "
     "and it mostly does the work for you."),
    ("You sound tired tonight. Do you want to talk it through, or would you rather hear "
     "something silly to take your mind off it?"),
    "The concert is on Saturday at eight. If you leave by seven you will have time to find parking.",
    "Rain all morning, then it clears up after lunch. A good afternoon for that bike ride you wanted.",
]
HUM = "(mm-hmm)"  # Piper says "Eminem": a synthetic nasal hum stands in (Whisper hears "Hmm.")
BACKCHANNELS = [HUM, "Yeah.", "Right.", "Okay.", "Uh-huh.", "Ha ha ha!", "Yeah, yeah.",
                "I see.", "Sure.", "Wow."]
STOPS = ["Wait.", "Stop.", "No, no.", "Hold on.", "Wait, wait."]
PITCHES = (0.85, 1.0, 1.18)  # the same voice lower and higher: other people, roughly
DETECT_S = 0.5  # the bound for noticing a barge-in over the echo
NOISE = 10 ** (-70 / 20)


@dataclass(frozen=True)
class Room:
    delay_s: float  # speaker to microphone, with the device's buffers
    rt60_s: float  # reverberation time
    drr_db: float  # the direct sound over the reverberation (a speaker 10-50 cm from the microphone)
    echo_db: float  # the echo's level against a person speaking at -26 dBFS
    drive: float  # a small speaker's distortion (tanh drive: 1.4 clips its peaks ~20%)

    @staticmethod
    def draw(rng: random.Random) -> Room:
        return Room(delay_s=round(rng.uniform(0.01, 0.12), 3), rt60_s=round(rng.uniform(0.2, 0.6), 2),
                    drr_db=round(rng.uniform(0, 10), 1), echo_db=round(rng.uniform(-6, 6), 1),
                    drive=round(rng.uniform(1.0, 1.4), 2))

    def response(self, rng: np.random.Generator) -> np.ndarray:
        """Silence for the delay, the direct path, then a decaying diffuse tail."""
        n = int(self.rt60_s * SAMPLE_RATE)
        t = np.arange(1, n) / SAMPLE_RATE
        tail = rng.standard_normal(n - 1) * np.exp(-6.9 * t / self.rt60_s)
        tail *= 10 ** (-self.drr_db / 20) / np.linalg.norm(tail)
        h = np.concatenate([np.zeros(int(self.delay_s * SAMPLE_RATE)), [1.0], tail])
        return (h / np.linalg.norm(h)).astype(np.float32)  # the level is echo_db's


@dataclass
class Trial:
    kind: str  # "echo" | "barge_in" | "backchannel" | "stop"
    what: str
    room: Room | None  # None: a headset, no echo
    setting: str  # "headset" | "first" (a new canceller: the call's first reply) | "later" | "none" (no canceller)
    onset_s: float | None = None  # the person's first speech, from the reply's start
    hushed_s: float | None = None  # the voice first fell silent
    stopped_s: float | None = None  # the reply was given up (a turn)
    resumed: int = 0
    heard: str = ""
    said: str = ""  # the person's words (a barge-in's clip's transcript): the turn it becomes is heard
    turn_heard: str | None = None  # what the ears made of that turn
    reply_end_s: float | None = None  # the reply played to its end


class _Speaker:
    """The reply as played (and paused) and what the room makes of it, frame
    by frame: ``response`` is the room's (:meth:`Room.response`), None for a
    headset."""

    def __init__(self, reply: np.ndarray, room: Room | None, response: np.ndarray | None):
        self.reply = reply
        self.pos = 0
        self.playing = True
        self.done = False
        self._h = response
        self._drive = room.drive if room else 1.0
        gain = 10 ** ((room.echo_db - 26) / 20) if room else 0.0
        self._gain = gain / (speech_level(reply) or 1.0)  # measured as the person's is
        if self._h is not None:
            self._n = 1 << int(np.ceil(np.log2(FRAME + self._h.size)))
            self._H = np.fft.rfft(self._h, self._n)
            self._tail = np.zeros(self._n, np.float32)

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        """This frame's audio handed to the speakers, and its echo at the microphone."""
        out = np.zeros(FRAME, np.float32)
        if self.playing and not self.done:
            piece = self.reply[self.pos : self.pos + FRAME]
            out[: piece.size] = piece
            self.pos += FRAME
            self.done = self.pos >= self.reply.size
        if self._h is None:
            return out, np.zeros(FRAME, np.float32)
        sound = np.tanh(self._drive * out) / self._drive * self._gain
        self._tail += np.fft.irfft(np.fft.rfft(sound, self._n) * self._H, self._n).astype(np.float32)
        echo, self._tail = self._tail[:FRAME].copy(), np.concatenate(
            [self._tail[FRAME:], np.zeros(FRAME, np.float32)])
        return out, echo


def run_trial(trial: Trial, reply: np.ndarray, reply_text: str, person: np.ndarray | None,
              parts: Any, rng: np.random.Generator, *, at_s: float = 0.0, before: np.ndarray | None = None,
              tail_s: float = 1.5) -> Trial:
    """One reply, and maybe a person's speech starting ``at_s`` into it; with
    ``before``, an earlier reply of the call was heard in the same room.
    Where the trial knows what the person ``said``, a turn they take goes on
    to the end of their words and is transcribed as the session would."""
    from os1.audio.echo import EchoCanceller
    from os1.audio.gain import AutoGain
    from os1.call import READINGS, CallPolicy, CheckOverlap, Hush, Resume, StopReply

    room = trial.room
    # One response for the call: an earlier reply and this one come back
    # through the same room (a response drawn for each, as before, moved the
    # room between them, and the linear canceller had to learn it again).
    response = room.response(rng) if room else None
    aec = EchoCanceller(int(room.delay_s * 1000)) if room and trial.setting != "none" else None
    mic_noise = np.random.default_rng(1)
    gain = AutoGain()
    parts.vad.reset()
    raw_vad = type(parts.vad)() if aec is not None else None  # the microphone before the canceller
    raw_gain = AutoGain()
    raw_gain.envelope = 10 ** (-23 / 20)  # it heard them ask what this answers
    if before is not None and aec is not None:
        earlier = _Speaker(before, room, response)
        while not earlier.done:
            far, echo = earlier.next()
            aec.played(far)
            heard = aec.clean(echo + mic_noise.standard_normal(FRAME).astype(np.float32) * NOISE)
            parts.vad(gain.process(heard.audio))
            assert raw_vad is not None
            raw_vad(raw_gain.process(heard.raw))
    policy = CallPolicy(has_turn_model=False)
    answered = _talking(policy)
    policy.playing(reply_text, opening=False)
    gain.envelope = 10 ** (-23 / 20)  # as loud as they were asking what this answers
    speaker = _Speaker(reply, room, response)
    start = policy.t
    # Checks, each due when the ears would be done with it, and each answered,
    # as the runner answers every one. Each waits for the one before it: the
    # lane may run two side by side where a core is free, so this is the
    # slower case.
    pending: list[tuple[float, Any, list[str], list[str]]] = []
    turn: Any = None  # the turn that took the floor
    length = (reply.size / SAMPLE_RATE) + tail_s + (person.size / SAMPLE_RATE if person is not None else 0)

    def apply(commands: list[Any]) -> None:
        nonlocal turn
        for c in commands:
            t = policy.t - start
            if isinstance(c, Hush):
                speaker.playing = False
                trial.hushed_s = t if trial.hushed_s is None else trial.hushed_s
            elif isinstance(c, Resume):
                speaker.playing = True
                trial.resumed += 1
            elif isinstance(c, StopReply):
                speaker.playing = False
                if trial.stopped_s is None:
                    trial.stopped_s, turn = t, policy.u
            elif isinstance(c, CheckOverlap):
                began = time.perf_counter()
                # As VoiceSession._overhear does.
                readings = parts.ears.readings_now(c.job.audio, READINGS, faster=c.job.linear is None)
                unsuppressed = ([] if c.job.linear is None
                                else parts.ears.readings_now(c.job.linear, READINGS, faster=True))
                trial.heard = readings[0]
                free = max(policy.t, pending[-1][0]) if pending else policy.t
                pending.append((free + time.perf_counter() - began, c.job, readings, unsuppressed))

    until = at_s + person.size / SAMPLE_RATE + 0.5 if person is not None and trial.said else 0.0
    ended = False
    while policy.t - start < length and (trial.stopped_s is None or policy.t - start < until):
        far, echo = speaker.next()
        mic = echo + mic_noise.standard_normal(FRAME).astype(np.float32) * NOISE
        if person is not None:
            i = round((policy.t - start - at_s) / FRAME_S) * FRAME
            if 0 <= i < person.size:
                piece = person[i : i + FRAME]
                mic[: piece.size] += piece
        raw, coherence, linear, as_heard = None, None, None, None
        if aec is not None and raw_vad is not None:
            aec.played(far)
            heard = aec.clean(mic)
            mic, coherence, linear, as_heard = heard.audio, heard.echo, heard.linear, heard.raw
            raw = raw_vad(raw_gain.process(heard.raw, hold=policy.talking))
        # As VoiceSession.feed does it.
        policy.echo_cancelled = aec is not None and aec.settled
        probability = parts.vad(gain.process(mic, hold=policy.talking))
        apply(policy.frame(mic, probability, raw=raw, echo=coherence, linear=linear, mic=as_heard))
        while pending and policy.t >= pending[0][0]:
            _, job, readings, unsuppressed = pending.pop(0)
            apply(policy.overheard(job, readings[0], readings[1:], unsuppressed))
        if speaker.done and not ended and speaker.playing:
            ended = True
            trial.reply_end_s = policy.t - start
            apply(policy.reply_ended(answered))
    if turn is not None and trial.said:
        trial.turn_heard = parts.ears.transcribe_now(turn.audio())
    return trial


def _talking(policy: Any) -> Any:
    """Bring a fresh policy to the moment its reply is heard (a question asked, answered)."""
    from os1.call import Answer, Draft, Transcribe

    commands: list[Any] = []
    loud = 10 ** (-23 / 20)  # as loud as they will be (at_level's -26 dBFS over voiced parts: peaks higher)
    for i in range(40):
        speech = i < 32
        commands += policy.frame(np.full(FRAME, loud if speech else 0.0, np.float32), 0.9 if speech else 0.05)
    job = next(c for c in commands if isinstance(c, Transcribe)).job
    out = policy.heard(job, policy.phrase(job), "Where should we go this weekend?", None)
    out += policy.mic_gone()
    assert policy.talking
    return next(c for c in out if isinstance(c, Answer | Draft)).reply


def piper(parts: Any, *, seed: int | None = None) -> Any:
    """The session's voice if it is the embedded one, else a Piper of its own:
    these benches need ``synthesize_now`` (a remote voice has none). With a
    ``seed``, a Piper made after seeding onnxruntime, where it draws its noise
    (it takes the seed when a session is made): the same renditions in every
    run, so that two versions of the code hear the same words (unseeded, two
    runs of one seed of ``os1 bench backchannels`` missed different stops)."""
    from os1.voice.piper import PiperSynthesizer

    voice = parts.voice if isinstance(parts.voice, PiperSynthesizer) else None
    if seed is None:
        return voice or PiperSynthesizer()
    import onnxruntime

    onnxruntime.set_seed(seed)
    return PiperSynthesizer(voice.model if voice else None, speed=voice.speed if voice else 1.0)


def speech_level(audio: np.ndarray) -> float:
    """The RMS of speech over its voiced part (the louder half of its 30 ms windows)."""
    windows = audio[: audio.size - audio.size % 480].reshape(-1, 480)
    rms = np.sqrt(np.mean(windows**2, axis=1))
    voiced = rms[rms >= np.percentile(rms, 50)] if rms.size else rms
    return float(np.sqrt(np.mean(voiced**2))) if voiced.size else 0.0


def at_level(audio: np.ndarray, dbfs: float = -26.0) -> np.ndarray:
    """Speech at ``dbfs`` over its voiced part."""
    level = speech_level(audio)
    return audio * (10 ** (dbfs / 20) / level) if level else audio


def _onset(audio: np.ndarray, vad: Any) -> float:
    """Where a person talking over a reply begins to: the start of the first
    run of speech in the clean clip that would count over os1's voice through
    a headset (a "However," and a breath before the words is not yet)."""
    from os1.audio.turns import Signal, TurnDetector

    turns = TurnDetector()
    vad.reset()
    try:
        for i in range(0, audio.size - FRAME + 1, FRAME):
            p = vad(audio[i : i + FRAME])
            for event in turns.process((i + FRAME) / SAMPLE_RATE, p, os1_talking=True):
                if event.signal is Signal.SPEECH_STARTED:
                    return event.t - FRAME_S  # the frame's start
    finally:
        vad.reset()
    return 0.0


def pitched(audio: np.ndarray, rate: int, factor: float) -> np.ndarray:
    """Higher (factor > 1) or lower, and as much faster or slower: another voice, roughly."""
    return resample(audio, int(rate * factor), SAMPLE_RATE)


def _hum(pitch: float) -> np.ndarray:
    """"Mm-hmm" hummed: two voiced nasal murmurs (rising, then falling; most
    energy below 500 Hz), a breath between them."""
    def murmur(f0: tuple[float, float], seconds: float) -> np.ndarray:
        n = int(seconds * SAMPLE_RATE)
        f = np.linspace(f0[0] * pitch, f0[1] * pitch, n)
        phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
        mean = float(f.mean())
        x = sum(np.sin(k * phase) / k**1.5 * (1.0 if k * mean < 500 else 0.15 if 2000 < k * mean < 3000
                                              else 0.05) for k in range(1, 40))
        t = np.arange(n) / SAMPLE_RATE
        return np.asarray(x * np.minimum(1, np.minimum(t / 0.04, (seconds - t) / 0.06)), np.float32)

    breath = np.random.default_rng(0).standard_normal(int(0.05 * SAMPLE_RATE)).astype(np.float32) * 0.02
    hum = np.concatenate([murmur((115, 125), 0.22), np.zeros(int(0.07 * SAMPLE_RATE), np.float32), breath,
                          murmur((135, 100), 0.30)])
    return hum / np.abs(hum).max() * 0.3


SETTINGS = ("first", "later", "none")


def run_echo_bench(parts: Any, voice: Any, audio_dir: Path, *, replies: int = 24, seed: int = 14,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    said = [(text, resample(voice.synthesize_now(text), voice.sample_rate)) for text in REPLIES]
    people = [(wav.stem, at_level(read_wav(wav)), transcript) for wav, transcript in clips(audio_dir)]
    if not people:
        raise ValueError(f"No .wav + .txt clips in {audio_dir}")
    plan = [("echo", n, -1, 0.0, Room.draw(rng)) for n in range(replies)]
    plan += [("barge_in", n, n % len(people), round(rng.uniform(1.0, 4.0), 2), Room.draw(rng))
             for n in range(replies)]
    trials = []
    for i, (kind, n, p, at, room) in enumerate(plan):
        text, reply = said[n % len(said)]
        before = said[(n + 3) % len(said)][1]
        person = people[p][1] if p >= 0 else None
        onset = at + _onset(person, parts.vad) if person is not None else None
        for setting in SETTINGS:
            trial = Trial(kind, people[p][0] if p >= 0 else text[:40], room, setting, onset_s=onset,
                          said=people[p][2] if p >= 0 else "")
            trials.append(run_trial(trial, reply, text, person, parts, np.random.default_rng(seed + i),
                                    at_s=at, before=before if setting == "later" else None))
        if progress:
            progress(i + 1, len(plan))
    return {"trials": [_row(t) for t in trials], "summary": summarise_echo(trials)}


def summarise_echo(trials: list[Trial]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for setting in SETTINGS:
        alone = [t for t in trials if t.kind == "echo" and t.setting == setting]
        # Speech that counts only once the reply is all but over ("However,"
        # over it, then a pause): no barge-in to notice within the bound.
        late = [t for t in trials if t.kind == "barge_in" and t.setting == setting and _at_the_end(t)]
        over = [t for t in trials if t.kind == "barge_in" and t.setting == setting and not _at_the_end(t)]
        latency = [n - t.onset_s for t in over if (n := _noticed(t)) is not None and t.onset_s is not None]
        heard = [(t.said, t.turn_heard) for t in over if t.turn_heard is not None]
        lost = [first_words_lost(said, turn) for said, turn in heard]
        errors = [word_errors(said, turn) for said, turn in heard]
        detected = sum(1 for t in over if _within(t))
        out[setting] = {
            "echo_only": len(alone),
            "false_barge_ins": sum(t.stopped_s is not None for t in alone),
            "false_hushes": sum(t.hushed_s is not None for t in alone),
            "barge_ins": len(over),
            "barge_ins_at_the_end": len(late),
            "detected_within_0_5s": detected,
            "detected_rate": round(detected / len(over), 3) if over else None,
            "taken_as_turn": sum(t.stopped_s is not None for t in over),
            "turns_heard": len(lost),
            "turns_missing_first_words": sum(n > 0 for n in lost),
            "first_words_lost": sum(lost),
            "turn_word_error_rate": round(sum(e for e, _ in errors) / max(1, sum(n for _, n in errors)), 3),
            "detect_ms": {"p50": _ms(percentile(latency, 50)) if latency else None,
                          "p95": _ms(percentile(latency, 95)) if latency else None,
                          "max": _ms(max(latency, default=None))},
        }
    return out


def run_backchannel_bench(parts: Any, voice: Any, *, seed: int = 14,
                          progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    text, reply = REPLIES[0], resample(voice.synthesize_now(REPLIES[0]), voice.sample_rate)
    before = resample(voice.synthesize_now(REPLIES[3]), voice.sample_rate)
    plan = [(kind, word, pitch) for kind, words in (("backchannel", BACKCHANNELS), ("stop", STOPS))
            for word in words for pitch in PITCHES]
    trials = []
    for i, (kind, word, pitch) in enumerate(plan):
        said = at_level(_hum(pitch) if word == HUM else pitched(voice.synthesize_now(word), voice.sample_rate, pitch))
        at = round(rng.uniform(1.5, 4.0), 2)
        onset = at + _onset(said, parts.vad)
        room = Room.draw(rng)
        for setting in ("headset", "later"):
            trial = Trial(kind, f"{word} x{pitch}", room if setting == "later" else None, setting,
                          onset_s=onset)
            trials.append(run_trial(trial, reply, text, said, parts, np.random.default_rng(seed + i),
                                    at_s=at, before=before if setting == "later" else None))
        if progress:
            progress(i + 1, len(plan))
    return {"trials": [_row(t) for t in trials], "summary": summarise_backchannels(trials)}


def summarise_backchannels(trials: list[Trial]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for setting, name in (("headset", "headset"), ("later", "speakers")):
        mine = [t for t in trials if t.setting == setting]
        back = [t for t in mine if t.kind == "backchannel"]
        stops = [t for t in mine if t.kind == "stop"]
        went_on = sum(t.stopped_s is None for t in back)
        stopped = sum(t.stopped_s is not None for t in stops)
        out[name] = {
            "backchannels": len(back), "not_interrupted": went_on,
            "not_interrupted_rate": round(went_on / len(back), 3) if back else None,
            "hushed_a_moment": sum(t.hushed_s is not None and t.stopped_s is None for t in back),
            # The voice went on, and fell silent again for nothing: a stutter.
            "hushed_again": sum(t.resumed >= 2 and t.stopped_s is None for t in back),
            "stops": len(stops), "stopped": stopped,
            "stopped_rate": round(stopped / len(stops), 3) if stops else None,
            "missed": sorted({t.what for t in back if t.stopped_s is not None}
                             | {t.what for t in stops if t.stopped_s is None}),
        }
    return out


def first_words_lost(said: str, heard: str) -> int:
    """How many of the words ``said`` come before the first one ``heard``
    holds (where the two line up): the start of a turn the ears never got."""
    a, b = words(said), words(heard)
    blocks = [m for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks() if m.size]
    return blocks[0].a if blocks else len(a)


def _noticed(t: Trial) -> float | None:
    times = [x for x in (t.hushed_s, t.stopped_s) if x is not None]
    return min(times) if times else None


def _at_the_end(t: Trial) -> bool:
    """The reply played to its end within the bound after they began, unnoticed."""
    noticed = _noticed(t)
    return (t.reply_end_s is not None and t.onset_s is not None and t.reply_end_s <= t.onset_s + DETECT_S
            and (noticed is None or noticed >= t.reply_end_s))


def _within(t: Trial) -> bool:
    noticed = _noticed(t)
    return noticed is not None and t.onset_s is not None and noticed - t.onset_s <= DETECT_S + 1e-9


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000)


def _row(t: Trial) -> dict[str, Any]:
    row = asdict(t)
    for key in ("onset_s", "hushed_s", "stopped_s", "reply_end_s"):
        row[key] = None if row[key] is None else round(row[key], 3)
    return row


def print_echo_report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    names = {"first": "first reply", "later": "later reply", "none": "no canceller"}
    for name, s in result["summary"].items():
        ended = f", {s['barge_ins_at_the_end']} more began as it ended" if s["barge_ins_at_the_end"] else ""
        print(f"{names[name]:>12}: echo alone {s['false_barge_ins']}/{s['echo_only']} false barge-ins, "
              f"{s['false_hushes']} false hushes; speech over echo noticed within 0.5 s "
              f"{s['detected_within_0_5s']}/{s['barge_ins']}{ended} (p50 {s['detect_ms']['p50']} ms, "
              f"max {s['detect_ms']['max']} ms), taken as a turn {s['taken_as_turn']} "
              f"({s['turns_missing_first_words']} of {s['turns_heard']} heard without their first words, "
              f"{s['first_words_lost']} words in all; word error rate {s['turn_word_error_rate']})")


def print_backchannel_report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for name, s in result["summary"].items():
        print(f"{name:>9}: backchannels not interrupting {s['not_interrupted']}/{s['backchannels']} "
              f"({s['hushed_a_moment']} hushed a moment, {s['hushed_again']} again after going on); "
              f"wait/stop stopped it "
              f"{s['stopped']}/{s['stops']}" + (f"; missed: {', '.join(s['missed'])}" if s["missed"] else ""))
