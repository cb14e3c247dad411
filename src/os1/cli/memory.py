"""``os1 memory``: see, search, forget and export what os1 remembers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from os1.config import Settings
from os1.errors import StorageError
from os1.runtime import open_memory


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "memory", help="see, search, forget and export what os1 remembers",
        description="What os1 remembers about you is yours: list it, search it, forget any "
        "part of it, or export all of it as readable JSON.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", parents=[common], help="list the facts os1 knows about you")
    ls.add_argument("--messages", type=int, metavar="N", default=0,
                    help="also show the last N messages")
    ls.set_defaults(run=_list)
    se = actions.add_parser("search", parents=[common], help="search facts and past messages")
    se.add_argument("query", nargs="+", help="words to look for")
    se.add_argument("--limit", type=int, default=10, help="how many results (default 10)")
    se.set_defaults(run=_search)
    fo = actions.add_parser(
        "forget", parents=[common], help="forget a fact (f3) or a message (m12)",
        description="Forget a fact or a message by id. Forgetting a message also forgets "
        "every fact drawn from it.",
    )
    fo.add_argument("ids", nargs="+", metavar="ID", help="ids as shown by list/search")
    fo.set_defaults(run=_forget)
    ex = actions.add_parser("export", parents=[common], help="write everything to a JSON file")
    ex.add_argument("file", help="where to write ('-' for standard output)")
    ex.set_defaults(run=_export)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _list(settings: Settings, args: argparse.Namespace) -> int:
    memory = open_memory(settings)
    try:
        profile = memory.profile()
        if profile:
            print("Profile:")
            for key, value in sorted(profile.items()):
                print(f"  {key}: {value}")
        facts = memory.facts()
        print("Facts:" if facts else "No facts yet: talk with os1 (os1 chat) and it will learn.")
        for f in facts:
            print(f"  {f.ref:>6}  {_when(f.created_at)}  {f.text}")
        if args.messages:
            print("Messages:")
            for m in memory.messages(limit=args.messages):
                print(f"  {m.ref:>6}  {_when(m.created_at)}  {m.role:>9}: {_one_line(m.content)}")
    finally:
        memory.close()
    return 0


def _search(settings: Settings, args: argparse.Namespace) -> int:
    memory = open_memory(settings)
    try:
        hits = memory.search(" ".join(args.query), limit=args.limit)
    finally:
        memory.close()
    if not hits:
        print("Nothing found.")
    for h in hits:
        print(f"{h.ref:>6}  {_when(h.created_at)}  {_one_line(h.text)}")
    return 0


def _forget(settings: Settings, args: argparse.Namespace) -> int:
    memory = open_memory(settings)
    missing = 0
    try:
        for ref in args.ids:
            if memory.forget(ref):
                print(f"Forgotten: {ref}")
            else:
                print(f"os1: there is no memory with id {ref!r}.", file=sys.stderr)
                missing += 1
    finally:
        memory.close()
    return 1 if missing else 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    memory = open_memory(settings)
    try:
        data = memory.export()
    finally:
        memory.close()
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if args.file == "-":
        print(text)
        return 0
    try:
        Path(args.file).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"Cannot write {args.file}: {exc.strerror}.") from exc
    print(f"Exported {len(data['facts'])} facts and {len(data['messages'])} messages to {args.file}.")
    return 0


def _one_line(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
