"""Folders os1 may read: every path is checked where it is used.

A path is allowed only if its real location (symlinks followed, ``..``
resolved) is inside one of the configured folders; a walk does not follow
symlinked folders and skips a file whose link points outside. So ``../x``, an
absolute path and a symlink out of the folders all read nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from os1.errors import DocumentError
from os1.letters.documents import READABLE, read

#: Files a search looks at, at most (a folder of photos should not stall a turn).
MAX_FILES = 5000
TEXT_LIKE = (".txt", ".md", ".markdown", ".csv", ".json", ".org", ".rst", ".log", ".ics")


@dataclass(frozen=True, slots=True)
class Hit:
    path: Path
    excerpt: str


class Folders:
    def __init__(self, roots: Sequence[Path]):
        self.roots = tuple(Path(os.path.realpath(r)) for r in roots)

    def inside(self, path: Path) -> Path:
        """``path``'s real location, if it is in a folder; else :class:`DocumentError`."""
        real = Path(os.path.realpath(path))
        if any(real == root or real.is_relative_to(root) for root in self.roots):
            return real
        raise DocumentError("That is outside the folders I may read, so I did not open it.")

    def resolve(self, name: str) -> Path:
        """A file named by the person: a path within a folder ("letters/chris.docx"),
        or a file's name or words of it ("the letter to Chris")."""
        name = name.strip().strip("\"'\u201c\u201d")
        if not name:
            raise DocumentError("Which file?")
        for root in self.roots:
            candidate = root / name
            relative = Path(os.path.normpath(candidate))
            if relative.is_relative_to(root) and any(
                    part.startswith(".") for part in relative.relative_to(root).parts):
                raise DocumentError("Hidden files are not among the documents I read.")
            if os.path.lexists(candidate):
                real = self.inside(candidate)
                if real.is_file():
                    return real
        if "/" in name or "\\" in name or name.startswith(".."):
            raise DocumentError(f"I found no file {name!r} in your folders.")
        found = self.named(name)
        if not found:
            raise DocumentError(f"I found no file called {name!r} in your folders.")
        return found[0]

    def files(self) -> Iterator[Path]:
        """Every file in the folders (hidden ones and links out left out), newest first."""
        seen: list[tuple[float, Path]] = []
        for root in self.roots:
            for folder, dirs, names in os.walk(root, followlinks=False):
                if len(seen) >= MAX_FILES:
                    break
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in names:
                    if name.startswith("."):
                        continue
                    path = Path(folder) / name
                    try:
                        real = self.inside(path)
                        if real.is_file():
                            seen.append((real.stat().st_mtime, path))
                    except (DocumentError, OSError):
                        continue
                    if len(seen) >= MAX_FILES:
                        break
        yield from (p for _, p in sorted(seen, key=lambda s: -s[0]))

    def named(self, words: str) -> list[Path]:
        """Files whose name has the words ("letter to chris" -> "Letter to Chris.docx")."""
        wanted = [w for w in re.findall(r"\w+", words.lower())
                  if w not in ("the", "a", "my", "file", "letter", "document", "doc", "to", "for", "of")]
        if not wanted:
            wanted = re.findall(r"\w+", words.lower())
        scored = []
        for path in self.files():
            have = re.findall(r"\w+", path.stem.lower())
            score = sum(any(h.startswith(w) for h in have) for w in wanted)
            if score == len(wanted):
                scored.append((len(have), path))
        return [p for _, p in sorted(scored, key=lambda s: s[0])]

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        """Files whose name or content has the query's words, with an excerpt."""
        words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 2] or re.findall(r"\w+", query.lower())
        if not words:
            return []
        hits: list[tuple[int, Hit]] = []
        for path in self.files():
            name_score = sum(w in path.stem.lower() for w in words)
            text = self.text(path)
            lower = text.lower()
            content_score = sum(w in lower for w in words)
            if not (name_score or content_score):
                continue
            hits.append((2 * name_score + content_score, Hit(path, _excerpt(text, words))))
        hits.sort(key=lambda h: -h[0])
        return [h for _, h in hits[:limit]]

    def text(self, path: Path) -> str:
        """A file's text ("" for a kind os1 does not read, or a damaged one)."""
        suffix = path.suffix.lower()
        try:
            real = self.inside(path)
            if suffix in READABLE:
                return read(real).text
            if suffix in TEXT_LIKE and real.stat().st_size <= 2 * 2**20:
                return real.read_text(encoding="utf-8", errors="replace")
        except (DocumentError, OSError):
            return ""
        return ""

    def label(self, path: Path) -> str:
        """The file as the person knows it: its path within its folder."""
        real = Path(os.path.realpath(path))
        for root in self.roots:
            if real.is_relative_to(root):
                return str(real.relative_to(root))
        return path.name


def _excerpt(text: str, words: Sequence[str], chars: int = 160) -> str:
    lower = text.lower()
    at = min((i for i in (lower.find(w) for w in words) if i >= 0), default=0)
    start = max(0, at - chars // 3)
    piece = " ".join(text[start:start + chars].split())
    return ("\u2026" if start else "") + piece + ("\u2026" if start + chars < len(text) else "")
