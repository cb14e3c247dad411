"""The first tools: search memory and tell the time (read); save a note (act)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from os1.memory.facts import spoken_day
from os1.memory.store import Recall
from os1.tools import Result, Tool, tool
from os1.tools.notes import FolderNotes, Notes, note_name, note_path

__all__ = ["basic_tools", "note_path"]

#: Memories one search returns.
SEARCH_HITS = 5


def basic_tools(memory: Recall, notes: Path | Notes,
                clock: Callable[[], float] = time.time) -> list[Tool]:
    """The tools every conversation has, bound to one person's memory and
    notes (a folder, or where else they are kept: tools/notes.py)."""
    shelf = FolderNotes(notes) if isinstance(notes, Path) else notes

    @tool("read", examples=[("Can you find what I told you about my piano lessons?",
                             {"query": "piano lessons"})])
    def search_memory(query: str) -> Result:
        """Search your memory of what they told you in past conversations, when
        they ask about something they said before that you don't have in mind.

        Args:
            query: a few words to look for
        """
        hits = memory.search(query, limit=SEARCH_HITS, now=clock())
        if not hits:
            return Result(f"Nothing in memory about {query!r}.", "your memory")
        lines = [f"- ({spoken_day(h.created_at)}) {h.text[:300]}" for h in hits]
        return Result("\n".join(lines), "your memory")

    @tool("read", examples=[("What time is it?", {})])
    def current_time() -> Result:
        """The current time and date, when they ask for the time."""
        return Result(time.strftime("%H:%M on %A, %d %B %Y", time.localtime(clock())), "the clock")

    def describe(args: dict[str, Any]) -> str:
        name = note_name(args["name"])
        again = " (it replaces the note already there)" if shelf.has(name) else ""
        return f"Save the note {name} {shelf.place}{again}, saying:\n{args['text']}"

    @tool("act", describe=describe, targets=("name", "text"), examples=[
        ("Write down that the plumber comes Monday.",
         {"name": "plumber.md", "text": "The plumber comes Monday."})])
    def save_note(name: str, text: str) -> Result:
        """Save a note as a text file in their notes folder, when they ask you
        to save, note, write down or jot down something.

        Args:
            name: the file's name, e.g. groceries.md
            text: the note's exact words
        """
        shelf.save(name, text)
        return Result(f"Saved the note {note_name(name)} {shelf.place}.")

    return [search_memory, current_time, save_note]
