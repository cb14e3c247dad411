"""``os1 memory``: see, search, edit, forget, export and import what os1 remembers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from os1.config import Settings
from os1.errors import StorageError
from os1.memory.facts import day
from os1.memory.store import RELATIONSHIP_KINDS, Fact, parse_ref
from os1.memory.transfer import read_export
from os1.runtime import open_memory

#: How many of the latest summaries and journal entries `list` shows.
LATEST_NOTES = 5
_KIND_LABELS = {"moment": "moment", "joke": "inside joke", "promise": "promise",
                "open_loop": "open loop"}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "memory", help="see, search, edit, forget, export and import what os1 remembers",
        description="What os1 remembers about you is yours: list it, search it, correct it, "
        "forget any part of it, or export all of it as readable JSON and import it again.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser(
        "list", parents=[common], help="what os1 knows about you, and its notes on your talks")
    ls.add_argument("--messages", type=int, metavar="N", default=0,
                    help="also show the last N messages")
    ls.add_argument("--history", action="store_true",
                    help="also show facts that are no longer true, with their dates")
    ls.set_defaults(run=_list)
    hi = actions.add_parser(
        "history", parents=[common], help="facts that changed or were corrected, with dates",
        description="Facts that were replaced by newer ones (\"lived in Los Angeles until "
        "2026-03-02\") or corrected by you. They are kept until you forget them.",
    )
    hi.set_defaults(run=_history)
    se = actions.add_parser("search", parents=[common], help="search facts, notes and past messages")
    se.add_argument("query", nargs="+", help="words to look for")
    se.add_argument("--limit", type=int, default=10, help="how many results (default 10)")
    se.set_defaults(run=_search)
    ed = actions.add_parser(
        "edit", parents=[common], help="correct a fact (f3) or a note (s2, j4, r5, d1)",
        description="Give a fact or a note new words. A fact keeps its id; its old words "
        "stay in its history (os1 memory history) until you forget them.",
    )
    ed.add_argument("id", metavar="ID", help="id as shown by list/search")
    ed.add_argument("text", nargs="+", help="the new words")
    ed.set_defaults(run=_edit)
    fo = actions.add_parser(
        "forget", parents=[common], help="forget a fact (f3), a note (s2) or a message (m12)",
        description="Forget a fact, a note or a message by id. Forgetting a message also "
        "forgets its reply, every fact drawn from them, and os1's notes on that conversation "
        "(written again from what remains).",
    )
    fo.add_argument("ids", nargs="+", metavar="ID", help="ids as shown by list/search")
    fo.set_defaults(run=_forget)
    ex = actions.add_parser("export", parents=[common], help="write everything to a JSON file")
    ex.add_argument("file", help="where to write ('-' for standard output)")
    ex.set_defaults(run=_export)
    im = actions.add_parser(
        "import", parents=[common], help="add an exported JSON file to your memory",
        description="Read a file written by 'os1 memory export' into the current user's "
        "memory (--user). What is already there is kept; items already present are skipped.",
    )
    im.add_argument("file", help="the export to read ('-' for standard input)")
    im.set_defaults(run=_import)
    re_ = actions.add_parser(
        "reflect", parents=[common], help="write os1's notes on past conversations now",
        description="Reflect now on every conversation that needs it (os1 otherwise does "
        "this in the background when a conversation goes quiet): a summary, a journal "
        "entry, moments and open loops, and its self-description. Uses the model.",
    )
    re_.set_defaults(run=_reflect)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _list(settings: Settings, args: argparse.Namespace) -> int:
    name = settings.persona.name
    memory = open_memory(settings)
    try:
        profile = memory.profile()
        if profile:
            print("Profile:")
            for key, value in sorted(profile.items()):
                print(f"  {key}: {value}")
        facts = memory.facts(include_history=args.history)
        current = [f for f in facts if f.current]
        print("Facts:" if current else "No facts yet: talk with os1 (os1 chat) and it will learn.")
        for f in current:  # dated from when it became true
            print(f"  {f.ref:>6}  {_when(f.valid_from or f.created_at)}  {f.text}")
        if args.history:
            _print_history(facts)
        notes = memory.notes()
        between = [n for n in notes if n.kind in RELATIONSHIP_KINDS]
        if between:
            print("Between you:")
            for n in between:
                due = f" (due {day(n.due_at)})" if n.due_at is not None else ""
                print(f"  {n.ref:>6}  {_KIND_LABELS[n.kind]}: {n.text}{due}")
        for kind, title in (("summary", "Conversations"), ("journal", f"{name}'s journal")):
            chosen = [n for n in notes if n.kind == kind][-LATEST_NOTES:]
            if chosen:
                print(f"{title} (latest {len(chosen)}):")
                for n in chosen:
                    print(f"  {n.ref:>6}  {_when(n.created_at)}  {n.text}")
        if (me := memory.self_description()) is not None:
            print(f"How {name} sees itself: {me}")
        if args.messages:
            print("Messages:")
            for m in memory.messages(limit=args.messages):
                print(f"  {m.ref:>6}  {_when(m.created_at)}  {m.role:>9}: {_one_line(m.content)}")
    finally:
        memory.close()
    return 0


def _history(settings: Settings, args: argparse.Namespace) -> int:
    memory = open_memory(settings)
    try:
        facts = memory.facts(include_history=True)
    finally:
        memory.close()
    if not _print_history(facts):
        print("No fact has changed yet.")
    return 0


def _print_history(facts: list[Fact]) -> int:
    """Facts no longer current, latest change first: how long each was true."""
    past = sorted((f for f in facts if not f.current), key=lambda f: f.superseded_at or 0,
                  reverse=True)
    if past:
        print("No longer true:")
    for f in past:
        by = f" by f{f.superseded_by}" if f.superseded_by else ""
        if f.corrected:  # never true: wrong or badly worded
            when = f"corrected{by} on {day(f.superseded_at or 0)}"
        else:
            since = f"from {day(f.valid_from)} " if f.valid_from else ""
            when = f"{since}until {day(f.superseded_at or 0)}; replaced{by}"
        print(f"  {f.ref:>6}  {f.text}  ({when})")
    return len(past)


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


def _edit(settings: Settings, args: argparse.Namespace) -> int:
    parsed = parse_ref(args.id)
    if parsed is not None and parsed[0] == "m":
        print("os1: a message cannot be edited; forget it instead (os1 memory forget "
              f"{args.id}).", file=sys.stderr)
        return 1
    memory = open_memory(settings)
    try:
        edited = memory.edit(args.id, " ".join(args.text))
    finally:
        memory.close()
    if not edited:
        print(f"os1: there is no memory with id {args.id!r}.", file=sys.stderr)
        return 1
    kept = " (its old words are kept: os1 memory history)" if parsed and parsed[0] == "f" else ""
    print(f"Edited: {args.id}{kept}")
    return 0


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


def _import(settings: Settings, args: argparse.Namespace) -> int:
    data = read_export(args.file)
    memory = open_memory(settings)
    try:
        counts = memory.import_data(data)
    finally:
        memory.close()
    added = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items() if n)
    print(f"Imported into {settings.user}'s memory: {added or 'nothing new'}.")
    return 0


def _reflect(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from os1.cli.ui import progress_bar
    from os1.mind.engines import open_llm
    from os1.mind.reflect import reflect_pending

    async def run() -> int:
        llm = open_llm(settings, progress_bar(f"Preparing the {settings.llm.model} model (once)"))
        memory = open_memory(settings)
        try:
            return await reflect_pending(llm, memory, companion=settings.persona.name)
        finally:
            memory.close()
            await llm.aclose()

    done = asyncio.run(run())
    print(f"Reflected on {done} conversation{'s' if done != 1 else ''}.")
    return 0


def _one_line(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
