"""``os1 bench``: measure os1 with the real models and print the figures."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from os1.config import Settings


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "bench", help="measure latency and quality with the real models",
        description="Benchmarks with the real models. They print figures (p50/p95); they use a "
        "throw-away data directory and never touch your memory.",
    )
    kinds = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    chat = kinds.add_parser(
        "chat", parents=[common], help="a scripted 10-turn conversation: first-token latency, tok/s",
    )
    chat.add_argument("--turns", type=int, default=10, help="how many turns (1-10, default 10)")
    chat.add_argument("--max-tokens", type=int, default=60,
                      help="reply length cap in tokens (default 60)")
    chat.add_argument("--pause", type=float, default=0.0, metavar="SECONDS",
                      help="user 'typing' time between turns, during which background memory "
                      "work runs (default 0)")
    chat.add_argument("--json", action="store_true", help="print one JSON object")
    chat.set_defaults(run=_chat)


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.chat import print_report, run_chat_bench

    turns = max(1, min(args.turns, 10))
    result = asyncio.run(run_chat_bench(settings, turns=turns, max_tokens=args.max_tokens, pause=args.pause))
    print_report(result, args.json)
    return 0
