"""Letters: changes accepted one by one into a new version (never over the
original), real docx and PDF files, the book, and the GLEU scorer. The model
is a fake at its Protocol (the bench and tests/test_model_integration.py use
the real one); files and libraries are real."""

from __future__ import annotations

import random

import docx
import pytest
from pypdf import PdfReader

from os1.bench.gleu import detokenize, gleu, tokenize
from os1.errors import DocumentError
from os1.events import ReplyDelta
from os1.letters.book import make_book
from os1.letters.changes import apply, changes
from os1.letters.desk import Desk, letter_request, letter_tools
from os1.letters.documents import read, save_version
from os1.letters.proofread import plausible, revise
from os1.letters.review import decision
from os1.memory.sqlite import SQLiteMemory
from os1.mind.companion import Companion
from os1.mind.llm import ToolCall
from os1.tools import Tools

from fakes import FakeLLM

LETTER = [
    "Dear Chris,",
    "Thank you for you letter, i recieved it on monday and it make me very happy.",
    "I hope we can meet soon at teh lake.",
    "Sincerely,",
    "Theodore",
]
FIXED = [
    "Dear Chris,",
    "Thank you for your letter; I received it on Monday and it made me very happy.",
    "I hope we can meet soon at the lake.",
    "Sincerely,",
    "Theodore",
]


def write_docx(path, paragraphs):
    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    document.save(str(path))
    return path


@pytest.fixture
def memory(settings):
    m = SQLiteMemory(settings.database, settings.user, embedder=None)
    yield m
    m.close()


def said(events) -> str:
    return "".join(e.text for e in events if isinstance(e, ReplyDelta))


async def turn(c, text):
    return [e async for e in c.send(text)]


def desk_companion(settings, memory, folder, replies, *, channel="text"):
    llm = FakeLLM(replies)
    tools = Tools()
    desk = Desk(folder, llm, memory, channel=lambda: tools.channel)
    tools.tools += letter_tools(desk)
    tools.answering.append(desk.answer)
    return Companion(settings, llm, memory, tools=tools, channel=channel), desk


def test_with_every_change_accepted_the_text_is_the_revision_and_with_none_the_original():
    rng = random.Random(18)
    words = ["the", "a", "letter", "Chris", ",", ".", "went", "has", "teh", "love", "  ", "\n", "don't"]
    for _ in range(300):
        old = " ".join(rng.choice(words) for _ in range(rng.randint(0, 14)))
        new = " ".join(rng.choice(words) for _ in range(rng.randint(0, 14)))
        found = changes(old, new)
        assert apply(old, found, {c.n for c in found}) == new
        assert apply(old, found, set()) == old
        for c in found:  # each change alone touches only its own span
            one = apply(old, found, {c.n})
            assert one == old[:c.start] + c.after + old[c.end:]


def test_a_change_reads_as_whole_words():
    found = changes("i has went to teh shop", "I went to the shop")
    assert [c.describe() for c in found] == ["\u201ci has\u201d \u2192 \u201cI\u201d",
                                             "\u201cteh\u201d \u2192 \u201cthe\u201d"]


def test_plain_requests_about_a_letter_are_known_without_the_model():
    assert letter_request("Can you proofread my letter to Chris?") == ("proofread", "Chris", "proofread")
    assert letter_request("make the letter to Ana warmer please") == ("revise", "Ana", "warmer")
    assert letter_request("Read me the letter to Chris out loud.") == ("read", "Chris", "proofread")
    for other in ("I wrote a letter to Chris yesterday", "what should I say in my letter to Chris?",
                  "My sister read my letter to Chris and cried"):
        assert letter_request(other) is None


def test_decisions_are_read_from_plain_words_and_anything_else_is_not_one():
    assert [(d.kind, d.numbers) for d in decision("keep 1 and 3, reject 2")] == [("accept", (1, 3)),
                                                                                 ("reject", (2,))]
    assert decision("accept all")[0].every and decision("Reject the rest.")[0].every
    assert decision("accept 2-4")[0].numbers == (2, 3, 4)
    assert decision("keep two")[0].numbers == (2,)
    assert decision("done")[0].kind == "finish" and decision("cancel")[0].kind == "abandon"
    assert decision("yes")[0].kind == "accept" and decision("no")[0].kind == "reject"
    for other in ("what a lovely day", "I kept thinking about her", "no idea what to write"):
        assert decision(other) is None


async def test_a_docx_letter_keeps_exactly_the_accepted_corrections_in_a_new_version(settings, memory, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    original = write_docx(folder / "Letter to Chris.docx", LETTER)
    before = original.read_bytes()
    c, desk = desk_companion(settings, memory, folder,
                             [ToolCall("revise_letter", {"name": "Chris"}), *[p for p in FIXED]])
    async with c:
        events = await turn(c, "Have a look at what I wrote to Chris, would you? Proofread it.")
        shown = said(events)
        review = desk.review
        assert review is not None
        listing = [review.line(n) for n in review.numbers]
        assert all(line.split(". ", 1)[1] in shown or line[:2] in shown for line in listing)
        by_word = {c.before.strip(): n for n, (_, c) in enumerate(review.found, 1)}
        keep = [by_word["recieved"], by_word["teh"]]
        drop = [n for n in review.numbers if n not in keep]
        reply = said(await turn(c, f"keep {keep[0]} and {keep[1]}"))
        assert "Still open" in reply and desk.review is not None
        reply = said(await turn(c, f"reject {', '.join(map(str, drop))}"))
        assert "Saved" in reply and desk.review is None
    assert original.read_bytes() == before  # the original, byte for byte
    saved = folder / "Letter to Chris (proofread).docx"
    paragraphs = [p.text for p in docx.Document(str(saved)).paragraphs]
    assert paragraphs[1] == "Thank you for you letter, i received it on monday and it make me very happy."
    assert "your letter" not in paragraphs[1]  # rejected
    assert paragraphs[2] == "I hope we can meet soon at the lake."
    assert paragraphs[0] == LETTER[0] and paragraphs[3:] == LETTER[3:]
    assert [a.tool for a in memory.actions()][-1] == "save_letter_version"


async def test_said_aloud_the_changes_come_one_at_a_time_and_change_sincerely_to_love(settings, memory, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "chris.txt").write_text("\n\n".join(LETTER), encoding="utf-8")
    c, desk = desk_companion(settings, memory, folder, [
        ToolCall("change_in_letter", {"name": "chris", "find": "sincerely", "replace": "love"})], channel="voice")
    async with c:
        first = said(await turn(c, "change sincerely to love in the letter to Chris"))
        assert "Number 1" in first and "Love" in first and "Keep it?" in first
        second = said(await turn(c, "yes"))
    assert "Saved" in second
    assert (folder / "chris (edited).txt").read_text().split("\n\n")[3] == "Love,"
    assert (folder / "chris.txt").read_text().split("\n\n")[3] == "Sincerely,"


async def test_a_review_ends_without_saving_when_they_cancel_and_other_talk_passes_by(settings, memory, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    write_docx(folder / "chris.docx", LETTER)
    c, desk = desk_companion(settings, memory, folder, [*FIXED, "It was lovely, yes."])
    async with c:
        await turn(c, "proofread the letter to chris")  # plain enough to need no model call
        assert "lovely" in said(await turn(c, "Was the lake nice this time of year?"))  # not a decision
        assert desk.review is not None
        assert "nothing was saved" in said(await turn(c, "cancel"))
    assert sorted(p.name for p in folder.iterdir()) == ["chris.docx"]


async def test_read_me_the_letter_says_it_word_for_word(settings, memory, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    write_docx(folder / "Letter to Chris.docx", LETTER)
    c, _ = desk_companion(settings, memory, folder, [ToolCall("read_letter", {"name": "Chris"})])
    async with c:
        reply = said(await turn(c, "What did I write to Chris? Read it to me word for word."))
    assert all(p in reply for p in LETTER)


async def test_an_answer_that_is_not_a_version_of_the_text_leaves_it_as_it_was():
    text = "I hope we can meet soon at teh lake."
    assert not plausible(text, "Sure! Here are some tips for writing a great letter: be yourself, and "
                         "always proofread twice before you send anything to anyone you love.", "proofread")
    assert await revise(FakeLLM(["Corrected: I hope we can meet soon at the lake."]), text) == \
        "I hope we can meet soon at the lake."
    assert await revise(FakeLLM(["Lo siento, no entiendo."]), text) == text


def test_a_damaged_docx_or_pdf_gets_a_clear_message_and_stays_untouched(tmp_path):
    bad_docx = tmp_path / "broken.docx"
    bad_docx.write_bytes(b"PK\x03\x04 not really a zip")
    bad_pdf = tmp_path / "broken.pdf"
    bad_pdf.write_bytes(b"%PDF-1.7\n garbage")
    for path in (bad_docx, bad_pdf):
        data = path.read_bytes()
        with pytest.raises(DocumentError, match="damaged|not a valid|not a readable"):
            read(path)
        assert path.read_bytes() == data


def test_a_new_version_never_replaces_a_file_already_there(tmp_path):
    original = write_docx(tmp_path / "note.docx", ["one", "two"])
    taken = tmp_path / "note (proofread).docx"
    taken.write_bytes(b"mine")
    path = save_version(read(original), ["One.", "Two."], "proofread")
    assert path.name == "note (proofread 2).docx" and taken.read_bytes() == b"mine"
    assert [p.text for p in docx.Document(str(path)).paragraphs] == ["One.", "Two."]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".os1-")]  # no temporary left


def test_the_book_is_a_pdf_with_a_title_page_contents_and_a_chapter_per_letter(tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    write_docx(folder / "To Chris.docx", ["Dear Chris,", "The lake was \u201cperfect\u201d \u2014 thank you.",
                                          "Love, Theo"])
    (folder / "To Roberta.txt").write_text("Dear Roberta,\n\nFifty years together.\n\nTheodore")
    pdf_letter = make_book([read(folder / "To Roberta.txt")], "Old", tmp_path / "old.pdf")  # a PDF to read back
    letters = [read(folder / "To Chris.docx"), read(folder / "To Roberta.txt"), read(pdf_letter)]
    path = make_book(letters, "Letters from Theodore", folder / "Letters from Theodore.pdf", author="Theodore")
    reader = PdfReader(str(path))
    assert [item.title for item in reader.outline] == ["To Chris", "To Roberta", "old"]
    pages = [p.extract_text() for p in reader.pages]
    assert "Letters from Theodore" in pages[0]
    assert "Contents" in pages[1] and all(name in pages[1] for name in ("To Chris", "To Roberta"))
    text = " ".join(pages[2:])
    assert "The lake was \u201cperfect\u201d \u2014 thank you." in text and "Fifty years together." in text


def test_gleu_rewards_the_references_corrections_and_not_the_errors_left_in():
    src = ["i has went to teh shop .", "He go home ."]
    refs = [["I went to the shop .", "He goes home ."], ["I have gone to the shop .", "He went home ."]]
    perfect = gleu(refs[0], src, refs)
    unchanged = gleu(src, src, refs)
    assert perfect > 0.6 > unchanged
    assert gleu(["I went to teh shop .", "He goes home ."], src, refs) < perfect
    assert gleu(refs[0], src, refs) == gleu(refs[0], src, refs)  # seeded: the same every time
    with pytest.raises(ValueError):
        gleu(src[:1], src, refs)


def test_text_is_tokenized_as_the_benchmark_writes_it():
    assert tokenize("I can't go, won't you? It's Sam's day...") == \
        "I ca n't go , wo n't you ? It 's Sam 's day ..."
    assert detokenize("I ca n't go , wo n't you ? It 's Sam 's ( big ) day .") == \
        "I can't go, won't you? It's Sam's (big) day."


async def test_a_new_letter_is_drafted_in_their_style_and_saved_only_when_they_say(settings, memory, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    for name, to in (("To Chris.txt", "Chris"), ("To Ana.txt", "Ana")):
        (folder / name).write_text(f"Dear {to},\n\nThe garden is full of light this week.\n\nLove, Theo")
    body = "Dear Roberta,\n\nThank you for the weekend by the sea.\n\nLove, Theo"
    c, desk = desk_companion(settings, memory, folder, [
        ToolCall("write_letter", {"to": "Roberta", "about": "thanks for the weekend"}),
        "Warm and plain, with short sentences about small things.", body,
        ToolCall("write_letter", {"to": "Ana", "about": "the garden"}), "Dear Ana,\n\nThe roses are out.\n\nLove, Theo"])
    async with c:
        shown = said(await turn(c, "Write a letter to Roberta thanking her for the weekend."))
        assert body in shown and not (folder / "Letter to Roberta.docx").exists()
        assert "Saved" in said(await turn(c, "save it"))
        assert "The roses are out." in said(await turn(c, "Now write one to Ana about the garden."))  # style known
        assert "dropped" in said(await turn(c, "drop it"))
    assert not (folder / "Letter to Ana.docx").exists()
    assert [p.text for p in docx.Document(str(folder / "Letter to Roberta.docx")).paragraphs] == \
        ["Dear Roberta,", "Thank you for the weekend by the sea.", "Love, Theo"]
    (style,) = [f for f in memory.facts() if f.key == "user.letter_style"]
    assert "signs off \u201cLove, Theo\u201d" in style.text and "Warm and plain" in style.text


async def test_change_sincerely_to_love_is_about_the_letter_just_read(settings, memory, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "chris.txt").write_text("\n\n".join(LETTER), encoding="utf-8")
    c, desk = desk_companion(settings, memory, folder, ["Oh, a new job? Tell me more."], channel="voice")
    async with c:
        assert "Sincerely," in said(await turn(c, "Read me the letter to Chris."))
        assert "Keep it?" in said(await turn(c, "Change 'sincerely' to 'love'"))
        assert "Saved" in said(await turn(c, "yes"))
        assert "new job" in said(await turn(c, "change jobs to something better"))  # not about the letter
    assert (folder / "chris (edited).txt").read_text().split("\n\n")[3] == "Love,"
