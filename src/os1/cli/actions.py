"""``os1 actions``: what os1 proposed to do for you, and what came of it."""

from __future__ import annotations

import argparse
import time
from typing import Any

from os1.config import Settings
from os1.runtime import open_memory

#: Proposals listed without --all.
RECENT = 20


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "actions", parents=[common], help="list the actions os1 proposed and their outcome",
        description="Every action os1 asked your consent for (saving a note, and later sending "
        "mail or booking), newest first, with what came of it: done, declined, expired, failed "
        "or still pending.",
    )
    p.add_argument("--all", action="store_true", help=f"all of them (default: the last {RECENT})")
    p.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    memory = open_memory(settings)
    try:
        actions = memory.actions(limit=None if args.all else RECENT)
    finally:
        memory.close()
    if not actions:
        print("No actions yet: os1 has not proposed to do anything for you.")
        return 0
    for a in actions:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.created_at))
        print(f"#{a.id}  {when}  {a.status:<8} {a.tool}")
        for line in a.action.splitlines():
            print(f"      {line}")
        for warning in a.warnings:
            print(f"      ! {warning}")
        if a.outcome and a.outcome != a.action:
            print(f"      -> {a.outcome}")
    return 0
