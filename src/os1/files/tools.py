"""Files as tools: find by name or content, and read one (both *read*). What a
file says is outside content: it reaches the model marked as such, with
orders to its reader held back (mail/guard.py), and cannot choose an action."""

from __future__ import annotations

from os1.errors import DocumentError
from os1.files.folders import Folders
from os1.mail.guard import guard
from os1.tools import Result, Tool, ToolError, tool

#: Characters of one file the model reads (a long one is cut, and says so).
READ_CHARS = 3000


def file_tools(folders: Folders) -> list[Tool]:
    @tool("read", examples=[("Where's that document about the lease?", {"query": "lease"}),
                            ("Find my notes on the garden.", {"query": "garden"})])
    def find_files(query: str) -> Result:
        """Search their folders for files by name and content, when they ask
        where a document is or what a file says about something.

        Args:
            query: a few words of the name or the content
        """
        hits = folders.search(query)
        if not hits:
            return Result(f"No file in their folders matches {query!r}.", "their folders")
        lines = [f"- {folders.label(h.path)}: {guard(h.excerpt).text}" for h in hits]
        return Result("\n".join(lines), "files in their folders")

    @tool("read", examples=[("What does my packing list say?", {"name": "packing list"})])
    def read_file(name: str) -> Result:
        """Read one file from their folders, named by them or found by find_files.

        Args:
            name: the file's name or path within their folders
        """
        try:
            path = folders.resolve(name)
        except DocumentError as exc:
            raise ToolError(str(exc)) from None
        text = folders.text(path)
        if not text.strip():
            raise ToolError(f"{folders.label(path)} has no text I can read.")
        g = guard(text)
        body = g.text if len(g.text) <= READ_CHARS else g.text[:READ_CHARS] + " [...]"
        return Result(f"{folders.label(path)}:\n{body}", f"the file {folders.label(path)}")

    return [find_files, read_file]
