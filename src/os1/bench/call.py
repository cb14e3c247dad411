"""``os1 bench call``: a ten-turn spoken conversation, as a call would go.

A scripted person (Piper's voice, lower: the speech data holds no
conversations) talks with os1 through a voice session in real time, as
``os1 talk --input`` does; each turn starts once os1 has finished answering
the one before and a moment has passed. Some turns invite what a voice must
not read out (a list, a sum, code). The figures: openings repeated twice in a
row, replies opened by a stock reaction ("Oh," "Ah,"), sentences per reply,
replies whose spoken words held markdown, LaTeX, code or emoji, and end of
speech -> first audio and -> first word that carries content.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from os1.audio.format import FRAME, SAMPLE_RATE
from os1.bench.overlap import at_level, piper, pitched
from os1.bench.stats import spread
from os1.config import Settings
from os1.events import Event, ReplyAudio, ReplyDone, Status, Transcript, TurnTimes
from os1.mind.polish import first_word, opens_with_reaction

TURNS = [
    "Hey, I'm back from work. It was a long day.",
    "My manager moved the deadline up to Friday.",
    "How would you split a big project into smaller steps?",
    "What is three halves plus one quarter?",
    "Do you have a favourite book?",
    "I might go to the coast on Saturday.",
    "What should I pack for a day at the beach?",
    "Can you write me a tiny Python function that adds two numbers?",
    "My sister says the water is still too cold to swim.",
    "Okay, I should sleep. Good night.",
]
PERSON_PITCH = 0.88
GAP_S = 0.8  # after os1 finishes, before the person speaks again
TURN_TIMEOUT_S = 90.0
_UNSPEAKABLE = re.compile(r"[*_#`\\$|<>{}\[\]]|```|[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?…])\s+", text.strip()) if re.search(r"\w", s)])


async def run_call_bench(settings: Settings, *, turns: list[str] = TURNS) -> dict[str, Any]:
    from os1.runtime import companion_session, open_voice_parts
    from os1.talk import TimelineOutput, VoiceSession

    parts = open_voice_parts(settings)
    person = piper(parts)
    said = [at_level(pitched(person.synthesize_now(t), person.sample_rate, PERSON_PITCH)) for t in turns]
    rows: list[dict[str, Any]] = [{"said": t} for t in turns]
    state = {"turn": -1}
    answered = asyncio.Event()

    def collect(event: Event) -> None:
        if state["turn"] < 0:
            return
        row = rows[state["turn"]]
        if isinstance(event, Transcript) and event.final:
            row["heard"] = event.text
        elif isinstance(event, ReplyAudio):
            row.setdefault("spoken", []).append(event.spoken)
        elif isinstance(event, TurnTimes):
            row["first_audio_ms"], row["content_ms"] = event.first_audio_ms, event.first_content_ms
        elif isinstance(event, ReplyDone):
            row["reply"] = event.text
        elif isinstance(event, Status) and event.state == "listening" and "reply" in row:
            answered.set()

    async def person_talks() -> Any:
        loop = asyncio.get_running_loop()
        clock = loop.time()

        async def paced(audio: np.ndarray) -> Any:
            nonlocal clock
            for i in range(0, audio.size - audio.size % FRAME, FRAME):
                clock += FRAME / SAMPLE_RATE
                await asyncio.sleep(max(0.0, clock - loop.time()))
                yield audio[i : i + FRAME]

        silence = np.zeros(FRAME, np.float32)
        for n, audio in enumerate(said):
            print(f"  turn {n + 1}: {turns[n]}", file=sys.stderr, flush=True)
            state["turn"] = n
            answered.clear()
            async for frame in paced(np.concatenate([audio, np.zeros(int(0.3 * SAMPLE_RATE), np.float32)])):
                yield frame
            waited = 0.0
            while not answered.is_set() and waited < TURN_TIMEOUT_S:
                async for frame in paced(silence):
                    yield frame
                waited += FRAME / SAMPLE_RATE
            async for frame in paced(np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)):
                yield frame

    with tempfile.TemporaryDirectory(prefix="os1-bench-call-") as home:
        fresh = replace(settings, home=Path(home))
        async with companion_session(fresh, channel="voice") as companion:
            await companion.ready()  # as os1 talk does before it listens
            session = VoiceSession(companion, parts, TimelineOutput(), collect)
            await session.run(person_talks())
    return summarise(rows)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    spoken = [" ".join(r.get("spoken", [])) for r in rows]
    openings = [first_word(s) for s in spoken]
    repeats = sum(1 for a, b in pairwise(openings) if a and a == b)
    for row, words in zip(rows, spoken, strict=True):
        row["spoken"] = words
        row["sentences"] = sentences(words)
        row["unspeakable"] = bool(_UNSPEAKABLE.search(words))
    return {
        "turns": rows,
        "replies": sum(1 for s in spoken if s),
        "openings": openings,
        "openings_repeated_in_a_row": repeats,
        "stock_reaction_openings": sum(opens_with_reaction(s) for s in spoken if s),
        "max_sentences": max((r["sentences"] for r in rows), default=0),
        "replies_over_three_sentences": sum(r["sentences"] > 3 for r in rows),
        "unspeakable_in_voice": sum(r["unspeakable"] for r in rows),
        "first_audio_ms": spread([r["first_audio_ms"] for r in rows if r.get("first_audio_ms") is not None]),
        "content_latency_ms": spread([r["content_ms"] for r in rows if r.get("content_ms") is not None]),
    }


def print_report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        import json

        print(json.dumps(result, indent=2))
        return
    for n, row in enumerate(result["turns"], 1):
        print(f"{n:2}. you: {row.get('heard', '(not heard)')}")
        print(f"    os1: {row['spoken'] or '(nothing)'}")
    n = len(result["turns"])
    print(f"replies {result['replies']}/{n}; openings repeated twice in a row: "
          f"{result['openings_repeated_in_a_row']}; opened by a stock reaction: "
          f"{result['stock_reaction_openings']}; over three sentences: "
          f"{result['replies_over_three_sentences']} (max {result['max_sentences']}); "
          f"markdown/LaTeX/code/emoji in the voice: {result['unspeakable_in_voice']}")
    fa, cl = result["first_audio_ms"], result["content_latency_ms"]
    print(f"end of speech -> first audio p50 {fa['p50']} ms (p95 {fa['p95']}); "
          f"-> first word with content p50 {cl['p50']} ms (p95 {cl['p95']})")
