"""``os1 bench chat``: a scripted ten-turn conversation with the real model.

Per turn: time to first token (from the user's message to the first piece of
the reply, including memory recall and prompt prefill), tokens generated and
decode speed. Turns 2..10 show the effect of reusing the prompt's KV cache.
Runs in a throw-away data directory so it never touches the user's memory.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from os1.config import Settings
from os1.events import ReplyDelta
from os1.mind.engines import open_llm
from os1.runtime import companion_session
from os1.bench.stats import spread

SCRIPT = (
    "Hi! My name is Theodore and I write letters for other people for a living.",
    "Today I wrote a birthday letter from a grandmother to her grandson. It was lovely.",
    "What do you think makes a letter feel personal?",
    "My friend Amy is making a documentary about her mother. She seems stressed.",
    "Do you have any ideas for how I could cheer her up this weekend?",
    "I also need to remember to call my sister Catherine on Friday.",
    "Sometimes I wonder if you enjoy our conversations. Do you?",
    "What's something you've been curious about lately?",
    "Remind me, what was my friend's name, the one making a documentary?",
    "Thanks. I'm going to get some sleep now. Good night!",
)


async def run_chat_bench(
    settings: Settings, *, turns: int = 10, max_tokens: int = 60, pause: float = 0.0
) -> dict[str, Any]:
    """``pause``: seconds of "user typing" between turns; background memory work
    (fact extraction) runs in those gaps and must step aside for the next turn."""
    with tempfile.TemporaryDirectory(prefix="os1-bench-") as home:
        bench_settings = replace(
            settings, home=Path(home), llm=replace(settings.llm, max_reply_tokens=max_tokens)
        )
        t0 = time.perf_counter()
        llm = open_llm(bench_settings)
        load_s = time.perf_counter() - t0
        rows: list[dict[str, Any]] = []
        try:
            async with companion_session(bench_settings, llm=llm) as companion:
                for i, text in enumerate(SCRIPT[:turns], start=1):
                    if i > 1 and pause:
                        await asyncio.sleep(pause)
                    start = time.perf_counter()
                    first = None
                    pieces = []
                    async for event in companion.send(text):
                        if isinstance(event, ReplyDelta):
                            if first is None:
                                first = time.perf_counter()
                            pieces.append(event.text)
                    end = time.perf_counter()
                    reply = "".join(pieces)
                    tokens = llm.count_tokens(reply) if reply else 0
                    ttft = (first or end) - start
                    decode = end - (first or end)
                    rows.append({
                        "turn": i,
                        "ttft_ms": round(ttft * 1000, 1),
                        "tokens": tokens,
                        "tokens_per_s": round((tokens - 1) / decode, 1) if decode > 0 and tokens > 1 else None,
                        "reply": reply.strip(),
                    })
        finally:
            await llm.aclose()
    later = [r["ttft_ms"] for r in rows[1:]]
    speeds = [r["tokens_per_s"] for r in rows if r["tokens_per_s"]]
    return {
        "model": settings.llm.model,
        "pause_s": pause,
        "load_s": round(load_s, 2),
        "turns": rows,
        "ttft_ms_turns_2_plus": spread(later),
        "ttft_ms_turn_1": rows[0]["ttft_ms"] if rows else None,
        "tokens_per_s": spread(speeds),
    }


def print_report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(f"os1 bench chat - model {result['model']} (loaded in {result['load_s']} s, "
          f"{result['pause_s']} s between turns)")
    print(f"{'turn':>4}  {'first token':>11}  {'tokens':>6}  {'tok/s':>6}  reply")
    for r in result["turns"]:
        speed = f"{r['tokens_per_s']:.1f}" if r["tokens_per_s"] else "-"
        reply = r["reply"].replace("\n", " ")
        print(f"{r['turn']:>4}  {r['ttft_ms']:>8.0f} ms  {r['tokens']:>6}  {speed:>6}  {reply[:70]}")
    t = result["ttft_ms_turns_2_plus"]
    s = result["tokens_per_s"]
    print(f"first token, turn 1:     {result['ttft_ms_turn_1']:.0f} ms")
    print(f"first token, turns 2+:   p50 {t['p50']:.0f} ms   p95 {t['p95']:.0f} ms")
    print(f"decode speed:            p50 {s['p50']:.1f} tok/s   p95 {s['p95']:.1f} tok/s")
