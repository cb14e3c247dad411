from os1.voice.chunking import SpeechChunker


def run(deltas):
    c = SpeechChunker()
    out = []
    for d in deltas:
        out += c.feed(d)
    return out + c.flush()


def test_first_piece_is_an_early_phrase_then_sentences():
    text = "Oh, that sounds lovely! I would love to hear more. What happened next?"
    pieces = run(list(text))  # one character at a time, like tokens
    assert pieces == ["Oh, that sounds lovely!", "I would love to hear more.", "What happened next?"]


def test_first_piece_without_punctuation_is_cut_after_five_words():
    pieces = run([w + " " for w in "well I think that is a really good idea for the weekend".split()])
    assert pieces[0] == "well I think that is"
    assert pieces[1] == "a really good idea for the weekend"


def test_one_word_before_a_comma_waits_for_more():
    assert run(["Sure, ", "I can ", "do that. ", "Done."]) == ["Sure, I can do that.", "Done."]


def test_nothing_speakable():
    assert run(["...", " ", "\n"]) == []
