"""Small terminal helpers: progress bars and styled text, stderr-aware."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def style(text: str, code: str, stream: TextIO = sys.stdout) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if is_tty(stream) else text


def progress_bar(label: str, stream: TextIO = sys.stderr) -> Callable[[int, int], None]:
    """A callback ``(done, total)`` drawing a bar on a terminal, or two plain
    lines (start, end) when ``stream`` is a file or pipe."""
    state = {"last": 0.0, "started": False}
    tty = is_tty(stream)

    def update(done: int, total: int) -> None:
        now = time.monotonic()
        if not state["started"]:
            state["started"] = True
            if not tty:
                print(f"{label} ({total / 1e6:,.0f} MB)...", file=stream, flush=True)
        finished = done >= total
        if tty and (finished or now - state["last"] > 0.1):
            state["last"] = now
            width = 30
            filled = int(width * done / max(total, 1))
            print(
                f"\r{label} [{'#' * filled}{'.' * (width - filled)}] "
                f"{100 * done / max(total, 1):3.0f}% {done / 1e6:,.0f}/{total / 1e6:,.0f} MB",
                end="\n" if finished else "", file=stream, flush=True,
            )
        elif finished and not tty:
            print(f"{label}: done.", file=stream, flush=True)

    return update
