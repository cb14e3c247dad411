"""``os1 bench tools``: does the model call the right tool, with the right
arguments, and none when none is wanted?

Each request is put to the model as the first turn of a session would be (the
persona's system prompt with the tools, then the request) through the real
engine and tool registry; the reply's first tool call, or its words, are
compared with what the case accepts. Nothing is run: an act is only proposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import tempfile
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from os1.bench.stats import percentile
from os1.config import Settings
from os1.mind.llm import LLM, BadToolCall, GenerateOptions, ToolCall, until
from os1.mind.polish import asks_for_something

#: Characters of plain words after which a reply counts as having called nothing.
WORDS_ENOUGH = 60


def load_cases(path: Path | None = None) -> list[dict[str, Any]]:
    if path is None:
        text = resources.files("os1.bench").joinpath("data/tool_requests.json").read_text()
    else:
        text = path.read_text(encoding="utf-8")
    return list(json.loads(text)["cases"])


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def args_match(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    """Each expected argument is there: the same words (a file name's
    extension optional), or all of ``has``'s words."""
    for name, want in expected.items():
        value = got.get(name)
        if not isinstance(value, str):
            return False
        if isinstance(want, dict):
            words = set(_norm(value).split())
            if not all(w in words or any(v.startswith(w) for v in words) for w in want["has"]):
                return False
        elif _norm(re.sub(r"\.(md|txt)$", "", value)) != _norm(re.sub(r"\.(md|txt)$", "", want)):
            return False
    return True


async def first_call(llm: LLM, prompt: list[Any],
                     options: GenerateOptions) -> tuple[str, ToolCall | BadToolCall | None]:
    """The reply's words (until it is clearly not calling anything) and its call."""
    words = ""
    async with contextlib.aclosing(until(llm.stream(prompt, options), asyncio.Event())) as stream:
        async for piece in stream:
            if isinstance(piece, (ToolCall, BadToolCall)):
                return words, piece
            words += piece
            if len(words.strip()) >= WORDS_ENOUGH:
                break
    return words, None


async def run_tools_bench(settings: Settings, cases: list[dict[str, Any]],
                          *, progress: bool = True) -> dict[str, Any]:
    from os1.runtime import companion_session

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="os1-bench-") as home:
        bench_settings = replace(settings, home=Path(home))
        async with companion_session(bench_settings, remember=False) as companion:
            await companion.ready()
            specs = companion.tools.specs
            options = GenerateOptions(max_tokens=settings.llm.max_reply_tokens, temperature=0.0,
                                      tools=specs)
            for n, case in enumerate(cases):
                _, message = companion._fit([], [], case["say"])
                started = time.perf_counter()
                # As a turn decides: tools answer requests, not news ("I saved some money").
                choice: Literal["auto", "none"] = "auto" if asks_for_something(case["say"]) else "none"
                words, call = await first_call(companion.llm, [companion.system_message, message],
                                               replace(options, tool_choice=choice))
                ms = (time.perf_counter() - started) * 1000
                name = call.name if isinstance(call, ToolCall) else ("(malformed)" if call else None)
                accepted = case["accept"]
                right = name in accepted
                if right and name is not None and isinstance(call, ToolCall):
                    right = args_match(case.get("args", {}), call.arguments)
                row = {"say": case["say"], "split": case.get("split", ""), "accept": accepted,
                       "called": name, "arguments": call.arguments if isinstance(call, ToolCall) else None,
                       "words": words.strip()[:80], "right": right, "ms": round(ms),
                       "p_call": getattr(companion.llm, "call_probability", None) if choice == "auto"
                       else None}
                rows.append(row)
                if progress:
                    mark = "ok " if right else "BAD"
                    p = row["p_call"]
                    print(f"  {mark} {n + 1:>2}/{len(cases)} {'' if p is None else f'{p:.2f}'} "
                          f"{case['say'][:50]!r} -> {name} "
                          f"{row['arguments'] if row['arguments'] is not None else ''}", file=sys.stderr)
    return summarize(rows, settings.llm.model)


def summarize(rows: list[dict[str, Any]], model: str) -> dict[str, Any]:
    none_wanted = [r for r in rows if r["accept"] == [None]]
    calls = [r["ms"] for r in rows if r["called"] is not None]
    result: dict[str, Any] = {
        "model": model,
        "n": len(rows),
        "accuracy": round(sum(r["right"] for r in rows) / max(1, len(rows)), 3),
        "false_calls": round(sum(r["called"] is not None for r in none_wanted) / max(1, len(none_wanted)), 3),
        "ms_per_call_p50": round(percentile(calls, 50)) if calls else None,
        "ms_per_call_p95": round(percentile(calls, 95)) if calls else None,
    }
    for split in sorted({r["split"] for r in rows if r["split"]}):
        part = [r for r in rows if r["split"] == split]
        result[f"accuracy_{split}"] = round(sum(r["right"] for r in part) / len(part), 3)
    result["misses"] = [{k: r[k] for k in ("say", "split", "accept", "called", "arguments", "words")}
                        for r in rows if not r["right"]]
    return result


def print_report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(f"tool use, {result['n']} requests, model {result['model']}")
    print(f"  accuracy (tool and arguments): {result['accuracy']:.3f}"
          + "".join(f"   {k[9:]} {v:.3f}" for k, v in result.items() if k.startswith("accuracy_")))
    print(f"  false calls (requests that need no tool): {result['false_calls']:.3f}")
    if result["ms_per_call_p50"] is not None:
        print(f"  ms from request to a complete call: p50 {result['ms_per_call_p50']}, "
              f"p95 {result['ms_per_call_p95']}")
    for miss in result["misses"]:
        print(f"  miss: {miss['say']!r} -> {miss['called']} {miss['arguments'] or miss['words']!r}")
