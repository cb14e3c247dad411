"""What a person said over os1's voice: a backchannel, a stop, or a turn.

"mhm", "yeah", "right", "okay", a laugh: a listener's signals that they are
following, which a person talking goes on over. "wait", "no no", "stop",
"hold on": the listener wants the floor now. Anything else is a turn of its
own if it says something (three words or more: Pipecat's interruption
strategy asks as much); two words that are neither ("Emma", "in them" -- how
Whisper hears a hum) let os1 go on: someone who wants the floor goes on
talking, and speech over the voice for a second takes it whatever it says.
And os1's own words coming back through open speakers are nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import Enum


class Overlap(Enum):
    NOTHING = "nothing"  # no words (a cough, a breath), or os1's own voice echoed
    BACKCHANNEL = "backchannel"
    STOP = "stop"
    TURN = "turn"


_LAUGH = frozenset(["ha", "haha", "hahaha", "ah-ha", "aha", "ahaha", "ha-ha", "heh", "hehe", "hee", "ho", "hah", "ah", "ahh", "laughs", "laughter", "laughing", "chuckles"])
_BACKCHANNEL = frozenset(["mhm", "mm", "mmm", "mhmm", "hmm", "hm", "uh-huh", "uhhuh", "uh", "huh", "um", "yeah", "yea", "yep", "yup", "yes", "ya", "right", "okay", "ok", "alright", "sure", "true", "exactly", "totally", "absolutely", "wow", "oh", "ah", "aha", "ooh", "nice", "cool", "great", "good", "gotcha", "i", "see", "mm-hmm", "mmhmm", "mhm"] + list(_LAUGH))
_STOP = frozenset(["wait", "stop", "no", "nope", "hold", "hang", "sorry", "excuse", "pause", "enough", "actually"])
_STOP_PHRASES = ("hold on", "hang on", "excuse me", "one second", "just a second", "shut up", "be quiet")
# Stops that no acknowledgement sounds like. "No" is not one: it is among
# Whisper's readings of most hums ("mm-hmm": "Yeah.", "No.", "Okay.").
_FIRM = frozenset(["wait", "stop", "hold", "hang", "pause"])
# How Whisper hears a short stop, when it does not hear it: the first words
# of readings that, over the checks logged in os1 bench backchannels (seeds
# 166-189: 694 checks of stops, 1563 of acknowledgements), came from a stop
# in 8 checks or more and from an acknowledgement never; on fresh seeds
# 214-225 (1376 checks) they decide no check. "Start" is the firmest:
# of ten of Piper's renditions of a low "Stop." (x0.85), clean, three were
# "Start" in all ten readings of both listeners; one reading of a laugh in
# twenty was "start." too (os1 bench backchannels --seed 160), so these stop
# only where a third of the readings agree. A low "Stop." read "Scott" in
# eight readings and "Start" in two went unheeded (--seed 207, headset).
_MISHEARD_STOP = frozenset(["start", "scott", "stuff", "staff", "star",  # "Stop."
                            "way", "weight", "wei", "quick",  # "Wait." and "Wait, wait."
                            "old"])  # "Hold on."
# "No, no." is a stop where "no" alone is not: a hum is read "No." once, not
# "no" twice. Through speakers the suppressor thins it ("Oh, no!", "Help,
# help!", "Yo, no.") while half the readings or more still hear "no" twice;
# no acknowledgement came near: over 4690 checks of acknowledgements logged
# in os1 bench backchannels (seeds 146-165), at most a quarter of a laugh's
# readings. Replayed on those of seeds 146-165 through speakers: stops 290 ->
# 296 of 300, acknowledgements as before.
_NO = "no"


def _words(text: str) -> list[str]:
    text = re.sub(r"[\[\(][^\]\)]*[\]\)]", lambda m: " " + m.group(0)[1:-1] + " ", text.lower())
    return re.sub(r"[^a-z'\- ]+", " ", text).replace("uh-huh", "uhhuh").split()


def _firm(said: list[str], spoken: set[str]) -> bool:
    """A reading that opens with a firm stop, and is not os1's own words."""
    return bool(said) and said[0] in _FIRM and not (spoken and set(said) <= spoken)


def _agreed(readings: list[list[str]], heard: Callable[[list[str]], bool], one_in: int) -> bool:
    """One reading in ``one_in`` or more is ``heard``."""
    return sum(map(heard, readings)) * one_in >= len(readings)


def _laughing(words: list[str]) -> bool:
    return bool(words) and all(w in _LAUGH for w in words) and any(w not in ("ah", "ahh") for w in words)


def _runs(readings: list[list[str]], n: int) -> list[list[list[str]]]:
    return [readings[i : i + n] for i in range(0, len(readings), n)] if n > 0 else []


def classify(text: str, echo: str = "", alternatives: Sequence[str] = (), *,
             unsuppressed: Sequence[str] = (), per_listener: int = 0) -> Overlap:
    """``text``: what the ears heard; ``echo``: what os1 was saying meanwhile;
    ``alternatives``: the ears' next likeliest readings of the same sound;
    ``unsuppressed``: on open speakers, the readings of the same sound with
    os1's voice subtracted but nothing suppressed (audio/echo.py), which
    count as alternatives.

    A firm stop among the alternatives stops os1 too: Whisper hears a short
    word alone badly ("Stop." as "Start.", "Wait." as "We."), and going on
    over someone who said stop is worse than stopping for an "okay". On the
    same checks of ``os1 bench backchannels`` (seeds 40-46), the likeliest
    reading alone would have stopped os1 for 91 and 77 of 105 stops (headset,
    speakers), the five readings for 100 and 91; in the readings of 840
    acknowledgements (14 seeds), none had a firm stop among the alternatives.
    The alternatives include a second model's readings (ears/whisper.py):
    over seeds 40-53, 209 and 189 of 210 stops, against 201 and 183. On open
    speakers the ``unsuppressed`` readings count among them: AEC3's suppressor ate
    the start of most stops the ears still missed ("Stop." heard as "up.",
    "Wait, wait." as "8 8 8"). With those, over the checks of seeds 40-53
    through speakers, 203 of 210 stops (194 without), acknowledgements
    stopping it 9 of 416 (7 without). A "no, no" among those readings would
    have caught every "No, no." of 42 (37), but on fresh seeds it stopped os1
    for five "Yeah, yeah."s in 14 runs, so one "no, no" is not enough; half
    the readings are (``_NO``).

    ``per_listener``: how many readings each listener gave, in turn (``text``
    and ``alternatives``, then ``unsuppressed``). Half or more of one
    listener's readings opening with a word a stop is misheard as stop os1
    too, where the others' dilute them under a third: through speakers, seed
    268's low "Hold on." was "A bond", "A1", "Open" to all but the sped-up
    view of the linear canceller's output, which read it "Old one." three
    times in five. Over the checks logged from os1 bench backchannels (seeds
    268, 274-285, 296-299), stops with a check read as a stop through speakers
    252 -> 253 of 255, acknowledgements as before (6 of 510); on fresh seeds
    300-305, no trial changed (90 of 90 and 3 of 179). Two in five would have
    stopped it for an "Okay." read "quick quick quick" (seed 285)."""
    words, spoken = _words(text), set(_words(echo))
    others = [_words(a) for a in [*alternatives, *unsuppressed]]
    readings = [words, *others]
    misheard = _MISHEARD_STOP - spoken
    listeners = (_runs(readings[: 1 + len(alternatives)], per_listener)
                 + _runs(readings[1 + len(alternatives) :], per_listener))

    def misheard_stop(said: list[str]) -> bool:
        return bool(said) and said[0] in misheard

    heard_stop = (any(_firm(said, spoken) for said in readings)
                  or _agreed(readings, misheard_stop, 3)
                  or any(_agreed(run, misheard_stop, 2) for run in listeners)
                  or (_NO not in spoken and _agreed(readings, lambda said: said.count(_NO) >= 2, 2)))
    if unsuppressed and set(words) == {_NO} and not any(_NO in _words(u) for u in unsuppressed):
        # The suppressor's "No.": through speakers it thins a hum or an
        # "uh-huh" to fragments that Whisper reads "No.", where the same sound
        # unsuppressed is "Okay.", "So", "Yeah.". A "no" said is in those too.
        # On the checks logged from os1 bench backchannels (seeds 166-173,
        # 182-189), acknowledgements that stopped os1 through speakers 26 ->
        # 11 of 478, stops as before; fresh seeds 190-197 run alternately,
        # 7 -> 6 of 240.
        words = []
    if words and (any(p in " ".join(words) for p in _STOP_PHRASES) or words[0] in _STOP):
        return Overlap.STOP
    if heard_stop:  # even where the likeliest reading holds no word ("8 1 8 1" for "Hold on.")
        return Overlap.STOP
    if not words:
        return Overlap.NOTHING
    if all(w in _LAUGH for w in words) or (all(w in _BACKCHANNEL for w in words) and len(words) <= 4):
        return Overlap.BACKCHANNEL
    if spoken and sum(w in spoken for w in words) >= 0.6 * len(words):
        return Overlap.NOTHING  # os1's own voice, back through the room
    if any(_laughing(said) for said in others):
        # A laugh, which Whisper also hears as words ("Come on now.", with
        # "hahaha" among its readings): a listener's, however it was read.
        # Through speakers, seeds 126-133 run alternately with and without:
        # acknowledgements that stopped os1 19 -> 15 of 240, laughs among
        # them 11 -> 5 (stops are untouched: a turn only becomes a laugh).
        return Overlap.BACKCHANNEL
    if len(set(words)) < 3:
        # Not a stop, and says too little to be a turn (a word Whisper
        # repeats, "Cho Cho Cho" as it heard a "Sure.", is one word).
        return Overlap.BACKCHANNEL
    return Overlap.TURN
