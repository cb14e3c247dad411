"""``os1 reminders`` and ``os1 reach-outs``: what os1 will bring up on its own,
and what it did bring up (or held back), with why."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from os1.config import Settings
from os1.errors import Os1Error
from os1.runtime import open_reach


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "reminders", parents=[common], help="list or cancel your reminders",
        description="The reminders and check-ins you asked for in conversation (\"remind me to call "
        "Ana at 6pm tomorrow\"), with when each is next due, in your time zone.",
    )
    p.add_argument("action", nargs="?", choices=("list", "cancel"), default="list")
    p.add_argument("id", nargs="?", type=int, help="the reminder to cancel (ids as listed)")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(run=run_reminders)

    p = sub.add_parser(
        "reach-outs", parents=[common], help="what os1 said on its own, and what it held back, and why",
        description="The log of reach-outs: every message os1 sent on its own (a reminder, a "
        "follow-up, a check-in) and every one it held back or dropped, each with its reason.",
    )
    p.add_argument("action", nargs="?", choices=("log",), default="log")
    p.add_argument("--limit", type=int, default=50, help="the last N entries (default 50)")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(run=run_log)


def run_reminders(settings: Settings, args: argparse.Namespace) -> int:
    reacher = open_reach(settings)
    try:
        if args.action == "cancel":
            if args.id is None:
                raise Os1Error("Which one? `os1 reminders cancel ID` (ids as `os1 reminders list` shows).")
            item = reacher.store.get(args.id)
            if item is None or item.kind == "follow_up" or not reacher.store.settle(args.id, "cancelled"):
                raise Os1Error(f"There is no active reminder #{args.id}.")
            reacher.store.log([item.id], "dropped", f"cancelled with os1 reminders: {item.text}",
                              at=reacher.clock())
            print(f"Cancelled #{item.id}: {item.text}")
            return 0
        items = reacher.store.items(kinds=("reminder", "check_in"))
        if args.json:
            print(json.dumps([{"id": i.id, "kind": i.kind, "text": i.text, "when": reacher.when(i),
                               "due": _local(i.due_at, reacher.tz), "repeats": i.schedule.repeats}
                              for i in items], indent=1))
            return 0
        if not items:
            print("No reminders. Ask for one in conversation: \"remind me to call Ana at 6pm tomorrow\".")
            return 0
        for i in items:
            due = _local(i.due_at, reacher.tz)
            label = "check-in" if i.kind == "check_in" else i.text
            repeats = f"  ({i.schedule.words(reacher.now())})" if i.schedule.repeats else ""
            print(f"#{i.id:<4} {due}  {label}{repeats}")
        return 0
    finally:
        reacher.store.close()


def run_log(settings: Settings, args: argparse.Namespace) -> int:
    reacher = open_reach(settings)
    try:
        entries = reacher.store.entries(limit=args.limit)
        if args.json:
            print(json.dumps([{"at": _local(e.at, reacher.tz), "decision": e.decision, "reason": e.reason,
                               "text": e.text, "items": list(e.items), "delivered": e.delivered_at is not None,
                               "answered": e.answered_at is not None} for e in entries], indent=1))
            return 0
        if not entries:
            print("Nothing yet: os1 has not reached out, nor held anything back.")
            return 0
        for e in entries:
            print(f"{_local(e.at, reacher.tz)}  {e.decision:<7}  {e.reason}")
            if e.text:
                print(f"{'':25}“{e.text}”")
        return 0
    finally:
        reacher.store.close()


def _local(at: float | None, tz: Any) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%a %Y-%m-%d %H:%M") if at is not None else "-"
