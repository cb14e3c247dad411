"""Streamed reply text -> pieces worth speaking, as early as they make sense.

The first piece is cut as soon as it is a phrase (at the first punctuation,
or after four words), because the time to first audio is what a listener feels; later
pieces are whole sentences, which Piper phrases better. Punctuation ends the
first piece as soon as it is written, without waiting for the next token to
show a space after it: a token is ~70 ms of the 1.5B model on two cores.

A reply that opens with a reaction ("Oh", "Well", "Hmm") has it spoken the
moment the model writes it as its first token, before the comma after it: one
token sooner. (A first token is a whole word; the same letters streamed in
pieces may begin another, "Well" in "Wellington".)

After a first piece of a word or two ("Oh,"), which is over in ~0.4 s, the
second is cut as a first piece is (at a comma, or after four words): a whole
sentence would take longer to write than that, and leave a silence after
"Oh,". (Eight words there put the first words with content 60-190 ms later,
in interleaved runs of ``os1 bench voice``.)
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s|[;:]\s|\n")
_PHRASE_END = re.compile(r"[,.!?;:…—]+[\"')\]]*\s")
FIRST_MIN_WORDS = 1  # "Oh," "Sure!" and "Hmm," sound natural on their own
FIRST_MAX_WORDS = 4
SHORT_FIRST_WORDS = 2  # a first piece this short is followed by another phrase
SECOND_MIN_WORDS = 2
SECOND_MAX_WORDS = 4
# Reactions that are a phrase by themselves at the start of a reply.
# Not "Right" or "Sure": "Right now", "Sure thing".
_REACTION = re.compile(r"(Oh|Ah|Aw|Ooh|Mm+|Hm+|Well|Yeah|Wow)")
#: The reactions replies open with most, as spoken: worth having ready (piper.py).
COMMON_REACTIONS = ("Oh,", "Ah,", "Hmm,", "Well,", "Wow,", "Yeah,")
# Punctuation at the very end of the text so far that surely ends a phrase:
# not a decimal or thousands separator ("3.5", "3,000"), not an abbreviation.
_PHRASE_END_NOW = re.compile(r"(?<![\d.])[,!?;:…]+$|(?<=[A-Za-z]{2})(?<!\bMr|\bDr|\bSt|\bMs|\bvs|\bJr|\bSr)\.$")


class SpeechChunker:
    def __init__(self) -> None:
        self._buffer = ""
        self._first = True
        self._phrase_next = False  # the next piece is a phrase, not a sentence
        self._started = False  # has the first token arrived?
        self._after_reaction = False  # drop the comma written after a spoken "Oh,"

    def feed(self, text: str) -> list[str]:
        first_token, self._started = not self._started, True
        if first_token and _REACTION.fullmatch(text.strip()):
            # Spoken with the comma that almost always follows it in writing.
            self._first, self._phrase_next, self._buffer = False, True, ""
            self._after_reaction = True
            return [text.strip() + ","]
        if self._after_reaction:
            text = text.lstrip(",.!?")
            self._after_reaction = not text
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
            return self._phrase(FIRST_MIN_WORDS, FIRST_MAX_WORDS)
        if self._phrase_next:
            return self._phrase(SECOND_MIN_WORDS, SECOND_MAX_WORDS)
        match = _SENTENCE_END.search(self._buffer)
        return self._take(match.end()) if match else None

    def _phrase(self, min_words: int, max_words: int) -> str | None:
        """Cut at the first punctuation after ``min_words``, or after ``max_words``."""
        for match in [*_PHRASE_END.finditer(self._buffer), _PHRASE_END_NOW.search(self._buffer)]:
            if match and len(self._buffer[: match.end()].split()) >= min_words:
                return self._take(match.end())
        if len(self._buffer.split()) > max_words:  # a complete word is followed by another
            spans = list(re.finditer(r"\S+", self._buffer))
            return self._take(spans[max_words].start())
        return None

    def _take(self, end: int) -> str | None:
        piece, self._buffer = self._buffer[:end].strip(), self._buffer[end:]
        if not _speakable(piece):
            return None if not self._buffer else self._cut()
        self._phrase_next = self._first and len(piece.split()) <= SHORT_FIRST_WORDS
        self._first = False
        return piece


def _speakable(text: str) -> bool:
    # A code fence says nothing but tells the voice what not to read (speakable.py).
    return any(c.isalnum() for c in text) or "```" in text
