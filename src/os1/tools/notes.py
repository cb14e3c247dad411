"""Where the notes a person asks os1 to save are kept: text files in their
notes folder, or, when os1 keeps people in PostgreSQL (``[storage] url``), a
table of it (row-level security: theirs alone), so that any worker, on any
host, finds what another saved."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from os1.errors import StorageError
from os1.tools import ToolError

if TYPE_CHECKING:
    from os1.memory.postgres import PersonDb

#: A note's name: letters, digits, spaces, dots, dashes; no folders.
_SAFE_NAME = re.compile(r"^[\w][\w .,'()-]{0,99}$")


def note_name(name: str) -> str:
    """``name`` as a note is called: a plain file name, ``.md`` added to one without an extension."""
    name = name.strip()
    if not _SAFE_NAME.match(name) or name.startswith("."):
        raise ToolError(f"A note's name is a plain file name such as groceries.md, not {name!r}.")
    return name if Path(name).suffix else name + ".md"


def note_path(folder: Path, name: str) -> Path:
    """Where note ``name`` goes in ``folder``: never outside it."""
    return folder / note_name(name)


class Notes(Protocol):
    #: Where they are, as the person is told ("in /home/sam/notes").
    place: str

    def has(self, name: str) -> bool: ...

    def save(self, name: str, text: str) -> None: ...


class FolderNotes:
    def __init__(self, folder: Path):
        self.folder = folder
        self.place = f"in {folder}"

    def has(self, name: str) -> bool:
        return note_path(self.folder, name).exists()

    def save(self, name: str, text: str) -> None:
        path = note_path(self.folder, name)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ToolError(f"I could not save {path}: {exc.strerror}.") from exc


class DatabaseNotes:
    """One person's notes in os1's PostgreSQL database."""

    place = "in your notes"

    def __init__(self, url: str, user: str):
        from os1.memory.postgres import PersonDb

        self.user = user
        self._db: PersonDb = PersonDb(url, user)

    def has(self, name: str) -> bool:
        return bool(self._db.exec("SELECT 1 FROM notes WHERE user_id = ? AND name = ?",
                                  (self.user, note_name(name))).fetchone())

    def save(self, name: str, text: str) -> None:
        try:
            self._db.exec("INSERT INTO notes (name, text, saved_at) VALUES (?, ?, ?) ON CONFLICT (user_id, name)"
                          " DO UPDATE SET text = excluded.text, saved_at = excluded.saved_at",
                          (note_name(name), text, time.time()))
        except StorageError as exc:
            raise ToolError(f"I could not save the note: {exc}") from exc

    def read(self, name: str) -> str | None:
        row = self._db.exec("SELECT text FROM notes WHERE user_id = ? AND name = ?",
                            (self.user, note_name(name))).fetchone()
        return row[0] if row else None

    def forget(self) -> int:
        """Every note of theirs (their account was removed)."""
        return int(self._db.exec("DELETE FROM notes WHERE user_id = ?", (self.user,)).rowcount)
