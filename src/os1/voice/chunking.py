"""Streamed reply text -> pieces worth speaking, as early as they make sense.

The first piece is cut as soon as it is a phrase (at the first punctuation,
or after five words), because the time to first audio is what a listener feels; later
pieces are whole sentences, which Piper phrases better.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s|[;:]\s|\n")
_PHRASE_END = re.compile(r"[,.!?;:…—]+[\"')\]]*\s")
FIRST_MIN_WORDS = 1  # "Oh," "Sure!" and "Hmm," sound natural on their own
FIRST_MAX_WORDS = 5


class SpeechChunker:
    def __init__(self) -> None:
        self._buffer = ""
        self._first = True

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        out = []
        while piece := self._cut():
            out.append(piece)
        return out

    def flush(self) -> list[str]:
        piece, self._buffer = self._buffer.strip(), ""
        return [piece] if _speakable(piece) else []

    def _cut(self) -> str | None:
        if self._first:
            words = self._buffer.split()
            for match in _PHRASE_END.finditer(self._buffer):
                if len(self._buffer[: match.end()].split()) >= FIRST_MIN_WORDS:
                    return self._take(match.end())
            if len(words) > FIRST_MAX_WORDS:  # a complete word is followed by another
                spans = list(re.finditer(r"\S+", self._buffer))
                return self._take(spans[FIRST_MAX_WORDS].start())
            return None
        match = _SENTENCE_END.search(self._buffer)
        return self._take(match.end()) if match else None

    def _take(self, end: int) -> str | None:
        piece, self._buffer = self._buffer[:end].strip(), self._buffer[end:]
        if not _speakable(piece):
            return None if not self._buffer else self._cut()
        self._first = False
        return piece


def _speakable(text: str) -> bool:
    return any(c.isalnum() for c in text)
