"""The letters skill of one conversation: the person's letters folder, the
review in progress, and the tools the model may call.

Proofreading or rewording a letter is a *read* tool: it writes nothing, and
shows the changes (Result.final, so the model cannot retell them wrongly).
What the person says next is read by :meth:`Desk.answer` first ("keep 1 and
3", "reject 2", "accept all", "done"): their own decisions, so the new version
with exactly the accepted changes is saved at their word, beside the original
and never over it, and recorded in the action log. Saying something else
leaves the review waiting. A book of letters is an *act* (a new PDF), shown
and approved like any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from os1.errors import DocumentError
from os1.files.folders import Folders
from os1.letters.book import make_book
from os1.letters.documents import READABLE, Document, read, save_version, version_path, write_new_letter
from os1.letters.proofread import HOWS, How, revise_all
from os1.letters.review import Review, decision
from os1.letters.style import STYLE_KEY, describe_style
from os1.letters.style import draft as draft_letter
from os1.mail.guard import guard
from os1.memory.store import Actions, Facts
from os1.mind.llm import LLM
from os1.tools import Result, Tool, ToolError, tool

#: A letter is revised a paragraph at a time, ~2 s a sentence on 2 cores with the 1.5B.
REVISE_SECONDS = 240.0
_LABELS = {"proofread": "proofread", "warmer": "warmer", "shorter": "shorter", "more formal": "formal",
           "more casual": "casual"}


class DeskMemory(Actions, Facts, Protocol):
    """What the desk keeps in memory: the action log, and their style notes."""


class Desk:
    def __init__(self, folder: Path, llm: LLM, memory: DeskMemory | None = None, *,
                 channel: Callable[[], str] = lambda: "text"):
        self.folder = folder
        self.folders = Folders([folder])
        self.llm = llm
        self.memory = memory  # the action log, and their style notes
        self.review: Review | None = None
        self.draft: tuple[str, str] | None = None  # (file name, text) waiting for "save it"
        self._reviews = 0
        self.last: Path | None = None  # the letter last read or revised: "change X to Y" is about it
        self.channel = channel  # the running turn's: by voice, changes come one at a time

    def _record(self, name: str, arguments: dict[str, Any], action: str) -> None:
        """Done at their own word: into the action log, as done."""
        if self.memory is not None:
            entry = self.memory.add_action(name, arguments, action, [], expires_at=0.0)
            self.memory.settle_action(entry.id, "done", "At their own word.")

    def letters(self) -> list[Path]:
        return [p for p in self.folders.files() if p.suffix.lower() in READABLE]

    def _readable(self, limit: int) -> list[Document]:
        """Up to ``limit`` of their letters, newest first (a damaged one left out)."""
        found: list[Document] = []
        for path in self.letters():
            if len(found) == limit:
                break
            try:
                found.append(read(path))
            except DocumentError:
                continue
        return found

    def find(self, name: str) -> Document:
        try:
            path = self.folders.resolve(name)
        except DocumentError as exc:
            names = ", ".join(p.stem for p in self.letters()[:8])
            raise ToolError(f"{exc} Your letters: {names or 'none yet'}.") from None
        if path.suffix.lower() not in READABLE:
            raise ToolError(f"{path.name} is not a letter I can read (txt, md, docx or pdf).")
        try:
            document = read(path)
        except DocumentError as exc:
            raise ToolError(str(exc)) from None
        self.last = path
        return document

    async def start(self, name: str, how: How, channel: str = "text") -> Result:
        document = self.find(name)
        revised = await revise_all(self.llm, document.paragraphs, how)
        review = self._open(Review(document, tuple(revised), how))
        if not review.found:
            self.review = None
            return Result(f"I read \u201c{document.title}\u201d closely and found nothing to change."
                          if how == "proofread" else
                          f"I couldn't find a way to make \u201c{document.title}\u201d {how}.", final=True)
        return self._opening(review, channel)

    def _open(self, review: Review) -> Review:
        self._reviews += 1
        review.id = self._reviews
        self.review, self.draft = review, None
        return review

    def edit(self, name: str, find: str, replace: str, channel: str = "text") -> Result:
        document = self.find(name)
        pattern = re.compile(re.escape(find.strip()), re.IGNORECASE)
        if not find.strip() or not any(pattern.search(p) for p in document.paragraphs):
            raise ToolError(f"\u201c{find}\u201d is not in \u201c{document.title}\u201d.")
        revised = tuple(pattern.sub(lambda m: _same_case(m.group(0), replace.strip()), p)
                        for p in document.paragraphs)
        return self._opening(self._open(Review(document, revised, "edit")), channel)

    def _opening(self, review: Review, channel: str) -> Result:
        n = len(review.found)
        what = {"proofread": "corrections", "edit": "changes"}.get(review.how, "changes")
        if channel == "voice":
            text = (f"I have {n} {what if n > 1 else what[:-1]} for \u201c{review.document.title}\u201d. "
                    f"{self._next_spoken(review)}")
        else:
            text = (f"{n} {what if n > 1 else what[:-1]} for \u201c{review.document.title}\u201d:\n"
                    f"{review.listing()}\n\nSay which to keep and which not (\u201ckeep 1 and 3\u201d, "
                    "\u201creject 2\u201d, \u201caccept all\u201d), then \u201cdone\u201d: I'll save a new "
                    "version with just those, and the original stays as it is.")
        return Result(text, final=True, view=("review", review.view()))

    @staticmethod
    def _next_spoken(review: Review) -> str:
        left = review.undecided
        if not left:
            return ""
        n = left[0]
        change = review.found[n - 1][1]
        return f"Number {n}: {change.describe()}. Keep it?"

    async def answer(self, text: str, channel: str) -> Result | None:
        """The person's decisions on the review (or draft) in progress, or a plain
        request about a letter; None if ``text`` is neither."""
        if (change := change_request(text)) is not None:
            find, new, name = change
            if name or (self.last is not None and find.lower() in self.folders.text(self.last).lower()):
                # Named, or about the letter just read or revised (else not about a letter at all).
                try:
                    return self.edit(name or str(self.last), find, new, channel)
                except ToolError as exc:
                    return Result(str(exc))
        if (asked := letter_request(text)) is not None:
            # Unmistakable, so done here whatever the model: the 0.5B, offered the
            # tools, answered "Proofread" to "Can you proofread my letter to Chris?".
            kind, name, how = asked
            try:
                if kind == "read":
                    return read_out(self.find(name))
                return await self.start(name, how, channel)
            except ToolError as exc:
                return Result(str(exc))
        if self.draft is not None and self.review is None:
            words = self._answer_draft(text)
            return None if words is None else Result(words)
        review = self.review
        if review is None:
            return None
        decisions = decision(text)
        if decisions is None:
            return None
        notes: list[str] = []
        for d in decisions:
            if d.kind == "abandon":
                self.review = None
                return Result(f"Okay, I've left \u201c{review.document.title}\u201d as it was; nothing was saved.",
                              view=("review", review.view(closed=True)))
            if d.kind == "finish":
                return self._finish(review)
            if d.kind == "more":
                return Result(review.listing() or "That's all of them.")
            accept = d.kind == "accept"
            numbers = review.undecided if d.every else list(d.numbers) or review.undecided[:1]
            if wrong := review.decide(numbers, accept):
                notes.append(f"There is no change {', '.join(map(str, wrong))}.")
        if not review.undecided:
            done = self._finish(review)
            return Result(" ".join([*notes, done.text]), view=done.view)
        if channel == "voice":
            words = " ".join([*notes, self._next_spoken(review)])
        else:
            words = " ".join([*notes, f"Noted ({len(review.decided)} of {len(review.found)} decided). Still open:\n"
                              f"{review.listing()}\nOr say \u201cdone\u201d to save with what you kept."])
        return Result(words, view=("review", review.view()))

    async def style(self) -> str:
        """Their style notes: from memory, or learned now from their letters (and remembered)."""
        if self.memory is not None:
            known = [f.text for f in self.memory.facts() if f.key == STYLE_KEY]
            if known:
                return known[-1]
        notes = await describe_style(self.llm, self._readable(12))
        if notes and self.memory is not None:
            self.memory.add_fact(notes, kind="preference", source_message_id=None, key=STYLE_KEY)
        return notes

    async def write(self, to: str, about: str) -> str:
        notes = await self.style()
        text = await draft_letter(self.llm, to, about, notes, self._readable(1))
        if not text:
            raise ToolError("I couldn't write a draft just now; try asking again.")
        name = f"Letter to {_file_name(to)}.docx"
        self.draft, self.review = (name, text), None
        style = f" (in your style: {notes})" if notes else ""
        return (f"Here's a draft{style}:\n\n{text}\n\nSay \u201csave it\u201d and I'll keep it as "
                f"\u201c{name}\u201d in your letters folder, or \u201cdrop it\u201d.")

    def _answer_draft(self, text: str) -> str | None:
        assert self.draft is not None
        said = decision(text) or []
        if len(said) != 1 or said[0].numbers or said[0].every:
            return None  # not a plain "save it" or "drop it"
        if said[0].kind in ("abandon", "reject"):
            self.draft = None
            return "Okay, I've dropped the draft."
        if said[0].kind not in ("finish", "accept"):
            return None
        name, body = self.draft
        target = self.folder / name
        if target.exists():
            target = version_path(target, "new")
        try:
            write_new_letter(target, body)
        except DocumentError as exc:
            return f"{exc} The draft is still here: say \u201csave it\u201d to try again."
        self.draft = None
        self._record("save_letter", {"name": target.name}, f"Save the draft as {target.name} in {self.folder}")
        return f"Saved \u201c{target.name}\u201d in your letters folder."

    def _finish(self, review: Review) -> Result:
        self.review = None
        kept = review.accepted
        if not kept:
            return Result(f"Nothing kept, so \u201c{review.document.title}\u201d stays exactly as it was.",
                          view=("review", review.view(closed=True)))
        label = _LABELS.get(review.how, "edited")
        try:
            path = save_version(review.document, review.paragraphs(), label)
        except DocumentError as exc:
            self.review = review  # nothing is lost: their decisions wait for another "done"
            return Result(f"{exc} Your decisions are kept: say \u201cdone\u201d to try again.")
        action = (f"Save a new version of {review.document.path.name} as {path.name} with changes "
                  f"{', '.join(map(str, kept))} of {len(review.found)}")
        self._record("save_letter_version", {"letter": review.document.path.name, "kept": kept}, action)
        return Result(f"Saved \u201c{path.name}\u201d with {len(kept)} of the {len(review.found)} changes; "
                      f"\u201c{review.document.path.name}\u201d is unchanged.",
                      view=("review", review.view(saved=path.name, closed=True)))


_NAME = r"(?:my |the |that )?letter (?:to|for) (?P<name>[\w' .-]+?)"
#: A request, not a story: the verb comes first ("can you proofread...", "please read...").
_LEAD = (r"^(?:(?:hey|ok(?:ay)?|so|now|and|hi)\W+)*(?:(?:can|could|would|will) you (?:please )?|please |"
         r"i'?d like you to |i want you to )?")
_REQUESTS = (
    ("proofread", re.compile(rf"{_LEAD}(?:proof-?read|spell-?check|check|correct|look over|go over|fix)\b[\w ]*? "
                             rf"{_NAME}(?: for (?:me|errors|mistakes|typos))?(?: please)?\W*$", re.IGNORECASE)),
    ("revise", re.compile(rf"{_LEAD}make {_NAME} (?P<how>warmer|shorter|more formal|more casual)\b(?: please)?\W*$",
                          re.IGNORECASE)),
    ("read", re.compile(rf"{_LEAD}read (?:me |out )?{_NAME}(?: (?:to me|out|aloud|out loud))?(?: please)?\W*$",
                        re.IGNORECASE)),
)


_QUOTED = r"[\"'\u2018\u201c]?(?P<{0}>[^\"'\u2019\u201d]+?)[\"'\u2019\u201d]?"
_CHANGE = re.compile(rf"{_LEAD}(?:change|replace) {_QUOTED.format('find')} (?:to|with|into|for) "
                     rf"{_QUOTED.format('new')}(?: in {_NAME})?(?: please)?\W*$", re.IGNORECASE)


def change_request(text: str) -> tuple[str, str, str] | None:
    """(words, new words, letter or "") for "change 'sincerely' to 'love' [in the letter to Chris]"."""
    m = _CHANGE.search(" ".join(text.split()))
    if m is None:
        return None
    return m["find"].strip(), m["new"].strip(), (m["name"] or "").strip()


def letter_request(text: str) -> tuple[str, str, How] | None:
    """("proofread" | "revise" | "read", the letter's name, how) for a plain request
    about a letter ("can you proofread my letter to Chris?"), or None."""
    said = " ".join(text.replace("\u2019", "'").split())
    for kind, pattern in _REQUESTS:
        if m := pattern.search(said):
            how = m.groupdict().get("how") or "proofread"
            return kind, m["name"].strip(), how.lower()  # type: ignore[return-value]
    return None


def read_out(document: Document) -> Result:
    """A letter, word for word (what it says to an AI held back, as for any outside text)."""
    return Result(f"\u201c{document.title}\u201d:\n\n{guard(document.text).text}",
                  f"the letter {document.path.name}", final=True)


def _same_case(found: str, replacement: str) -> str:
    if found[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def letter_tools(desk: Desk) -> list[Tool]:
    """The letters tools, bound to one person's desk."""
    channel = desk.channel

    @tool("read", examples=[("Which letters do I have?", {})])
    def list_letters() -> Result:
        """List the letters in their letters folder, when they ask which letters they have."""
        names = [p.name for p in desk.letters()[:30]]
        return Result("Their letters: " + "; ".join(names) if names else "Their letters folder is empty.",
                      "their letters folder")

    @tool("read", examples=[("Read me the letter to Chris.", {"name": "Chris"})])
    def read_letter(name: str) -> Result:
        """Read one of their letters out to them, word for word.

        Args:
            name: the letter's name or words of it, e.g. Chris
        """
        return read_out(desk.find(name))

    @tool("read", seconds=REVISE_SECONDS, examples=[
        ("Can you proofread my letter to Chris?", {"name": "Chris", "how": "proofread"}),
        ("Make the letter to Ana warmer.", {"name": "Ana", "how": "warmer"})])
    async def revise_letter(name: str, how: How = "proofread") -> Result:
        """Proofread one of their letters, or make it warmer, shorter, more formal or
        more casual: shows each change for them to keep or reject.

        Args:
            name: the letter's name or words of it, e.g. Chris
            how: proofread, warmer, shorter, more formal or more casual
        """
        if how not in HOWS:
            raise ToolError(f"I can proofread a letter or make it {', '.join(HOWS[1:])}.")
        return await desk.start(name, how, channel())

    @tool("read", examples=[("In the letter to Chris, change sincerely to love.",
                             {"name": "Chris", "find": "sincerely", "replace": "love"})])
    def change_in_letter(name: str, find: str, replace: str) -> Result:
        """Change words in one of their letters, as they say ("change X to Y"):
        shown for them to confirm before a new version is saved.

        Args:
            name: the letter's name or words of it
            find: the words to change, exactly as they said them
            replace: the new words
        """
        return desk.edit(name, find, replace, channel())

    @tool("read", seconds=REVISE_SECONDS, examples=[
        ("Write a letter to Chris thanking him for the weekend.", {"to": "Chris", "about": "thanking him for the weekend"})])
    async def write_letter(to: str, about: str) -> Result:
        """Draft a new letter in their own style, when they ask you to write one:
        shown in full, saved only when they say so.

        Args:
            to: who it is for
            about: what it should say, in their words
        """
        return Result(await desk.write(to, about), final=True)

    def describe_book(args: dict[str, Any]) -> str:
        chosen = [desk.find(n) for n in args["letters"]]
        target = desk.folder / f"{_file_name(args['title'])}.pdf"
        listing = "\n".join(f"{i}. {d.title}" for i, d in enumerate(chosen, 1))
        return (f"Make a book \u201c{args['title']}\u201d ({target.name} in {desk.folder}) with a title page, "
                f"contents and one chapter per letter:\n{listing}")

    @tool("act", describe=describe_book, targets=("title",), examples=[
        ("Put my letters to Chris and Ana into a book called Letters.",
         {"letters": ["Chris", "Ana"], "title": "Letters"})])
    def make_letter_book(letters: list[str], title: str) -> Result:
        """Gather letters they choose into a book: a PDF with a title page, a
        table of contents and one letter per chapter.

        Args:
            letters: the letters' names or words of them, in the book's order
            title: the book's title
        """
        chosen = [desk.find(n) for n in letters]
        try:
            path = make_book(chosen, title, desk.folder / f"{_file_name(title)}.pdf")
        except DocumentError as exc:
            raise ToolError(str(exc)) from None
        return Result(f"Made the book {path.name} in {desk.folder}: {len(chosen)} letters.")

    return [list_letters, read_letter, revise_letter, change_in_letter, write_letter, make_letter_book]


def _file_name(title: str) -> str:
    name = re.sub(r"[^\w .,'()-]", "", title).strip(" .") or "Letters"
    return name[:80]
