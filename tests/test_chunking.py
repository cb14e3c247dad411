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
    assert pieces == ["Oh,", "that sounds lovely!", "I would love to hear more.", "What happened next?"]


def test_first_piece_without_punctuation_is_cut_after_four_words():
    pieces = run([w + " " for w in "well I think that is a really good idea for the weekend".split()])
    assert pieces[0] == "well I think that"
    assert pieces[1] == "is a really good idea for the weekend"


def test_first_phrase_ends_when_its_punctuation_is_written():
    c = SpeechChunker()
    assert c.feed("That") == [] and c.feed("'s") == [] and c.feed(" true") == []
    assert c.feed("!") == ["That's true!"]  # not waiting for the next token's space
    for start in ("It costs 3.", "It costs 3,", "Ask Dr.", "Well..", "The U.S."):
        assert SpeechChunker().feed(start) == [], start


def test_a_first_word_with_punctuation_is_spoken_at_once():
    assert run(["Sure, ", "I can ", "do that. ", "Done."]) == ["Sure,", "I can do that.", "Done."]


def test_nothing_speakable():
    assert run(["...", " ", "\n"]) == []


def test_whisper_repetition_is_cut():
    from os1.ears.whisper import drop_loops

    assert drop_loops("I am fine. I am fine. I am fine. I am fine. Thanks") == "I am fine. Thanks"
    assert drop_loops("And so my fellow Americans. And so, my fellow American.") == "And so my fellow Americans."
    assert drop_loops("What can you do for me? What can you do to me? Ask away") == "What can you do for me? Ask away"
    jfk = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
    assert drop_loops(jfk) == jfk


def test_after_a_short_reaction_the_next_piece_is_a_phrase_too():
    # "Oh," is heard in ~0.4 s: a whole sentence after it would leave a silence.
    text = "Oh, that sounds lovely, and the weather helped. Where did you go?"
    assert run(list(text)) == ["Oh,", "that sounds lovely,", "and the weather helped.",
                               "Where did you go?"]
    long = "Mm, I think you should take the train because it is cheaper. Yes."
    assert run([w + " " for w in long.split()])[:3] == [
        "Mm,", "I think you should", "take the train because it is cheaper."]
    # After a longer first piece, sentences as before.
    assert run(list("I'm sorry to hear that, it sounds hard. Tell me more."))[1:] == [
        "that, it sounds hard.", "Tell me more."]


def test_a_reaction_written_as_the_first_token_is_spoken_at_once():
    c = SpeechChunker()
    assert c.feed("Oh") == ["Oh,"]  # not waiting for the comma's token
    assert c.feed(",") == [] and c.feed(" that") == []
    assert c.feed(" sounds lovely!") == ["that sounds lovely!"]
    # Spoken and written agree, so the history keeps the reply as written.
    assert " ".join(run(["Well", ",", " I", " think", " so."])) == "Well, I think so."
    # Letters streamed in pieces may start another word.
    assert run(list("Wellington is lovely.")) == ["Wellington is lovely."]
