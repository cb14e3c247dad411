"""Help-desk habits taken out of a reply as it streams.

The embedded models are instruction-tuned *coder* models: however the persona
asks, they sometimes close with "Feel free to ask!" or "Let me know if you need
anything", and open an answer about themselves with "As an AI, I don't have
the ability to...". A friend says neither. :class:`Polish` drops such
sentences from the stream (and an unasked disclaimer up to its "but": "As an
AI I don't have a favourite book, but I love Middlemarch" -> "I love
Middlemarch").

Also dropped: what an AI with no body cannot have done ("I went for a walk"),
os1's own notes to the model written back as if they were the reply, and
the tools it was offered read back (their JSON, their names): never said, even
if nothing else is left.

Nothing is held back that need not be: the first sentence passes through as
it is written unless its first words could begin one of those ("If you",
"Feel free", "As an"); those, and later sentences (which a voice speaks whole
anyway), are held to their end and judged whole. A reply opening with "Oh,"
is passed on the moment the model writes it. A reply that would be dropped
entirely is kept as it was (saying something beats silence).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Sentences a friend would not say: a help desk's offers and sign-offs, and
#: platitudes that stand in for listening.
_HELP_DESK = re.compile(
    r"\b(?:feel\s+free\s+to|(?:don'?t|do\s+not)\s+hesitate|is\s+there\s+anything\s+else|"
    r"anything\s+else\s+(?:i\s+can|you'?d\s+like)|(?:i\s+)?hope\s+(?:this|that)\s+helps|"
    r"let\s+me\s+know\s+if|if\s+you\s+(?:ever\s+)?(?:need|have|want)\s+(?:anything|help|"
    r"any\s+(?:other\s+|more\s+|further\s+)?(?:questions|help|assistance|support))|"
    r"i'?m\s+(?:always\s+)?here\s+(?:to\s+(?:help|assist)|if\s+you\s+need)|"
    r"how\s+(?:can|may)\s+i\s+(?:help|assist)|happy\s+to\s+help|"
    r"there\s+are\s+always\s+(?:good|better)\s+days|everything\s+happens\s+for\s+a\s+reason|"
    r"as\s+an?\s+(?:language\s+model|virtual\s+assistant))",
    re.IGNORECASE,
)
#: What an AI says about itself that nobody asked: a disclaimer.
_DISCLAIMER = re.compile(
    r"\b(?:as\s+an?\s+(?:ai|artificial\s+intelligence|computer\s+program|program|machine|"
    r"digital\s+(?:being|companion|assistant))\b|"
    r"i\s+(?:don'?t|do\s+not|can'?t|cannot)\s+(?:have|possess)\s+(?:the\s+ability|personal|"
    r"(?:real\s+|actual\s+)?(?:feelings|emotions|experiences|opinions|preferences)|"
    r"a\s+(?:physical\s+)?body|physical)|"
    r"i'?m\s+(?:just|only)\s+an?\s+(?:ai|program|computer|machine|language\s+model)|"
    r"i'?m\s+not\s+(?:able|capable)\s+(?:to|of)\s+(?:feel|experienc|physically))",
    re.IGNORECASE,
)
#: What an AI with no body cannot have done ("I went on an adventure in the
#: park, and had dinner with some friends", as the 1.5B model told of its day).
_CLAIMS = re.compile(
    r"\b(?:I|we)\b(?:(?!\byou\b)[^.!?\n])*?\b(?:went|walked|ran|ate|drank|cooked|slept|woke\s+up|"
    r"visited|drove|travel+ed|flew|swam|hiked|danced|met\s+(?:up|with|some|a)|"
    r"had\s+(?:dinner|lunch|breakfast|a\s+(?:coffee|drink|meal|nap|shower|walk))|"
    r"got\s+(?:home|back\s+home))\b|"
    r"\bmy\s+day\s+was\s+(?:filled|full|spent|busy)",
    re.IGNORECASE,
)
#: os1's own notes to the model (persona.py, care.py, companion.py), written
#: back as if they were the reply: the 0.5B answered "What is my name?" with
#: "(Note: You know of them that bears on this: ... Bring it up by name, in
#: your own words.)".
_ECHO = re.compile(
    r"\(\s*(?:a\s+)?note\b|\bnot\s+from\s+them\b|\bbears\s+on\s+this\b|"
    r"\bbring\s+it\s+up\s+by\s+name\b|\bin\s+your\s+own\s+words\b",
    re.IGNORECASE,
)
#: The tools offered in the system prompt (toolcalls.py), read back as if they
#: were the reply: the 0.5B answered a call with 'I will provide the following
#: data from the tools provided: - "name": "search_memory", "description": ...'
#: (43 s of it spoken). Their JSON keys and tags, and the tools' own names.
_TOOL_TAG = re.compile(r"</?tool(?:s|_call|_response)>")
_TOOL_ECHO = re.compile(r'"(?:name|description|parameters|arguments|properties|required)"\s*:|'
                        + _TOOL_TAG.pattern)
#: Where a first sentence, passed on as it is written, may begin such an echo:
#: the rest of it is held and judged whole.
_CODE_START = re.compile(r'["{\[<]')
#: Sentence openings that may begin one of those: held to the sentence's end.
_RISKY_OPENERS = (
    "if you", "if there", "if anything", "feel free", "don't hesitate", "do not hesitate",
    "dont hesitate", "let me know", "is there anything", "anything else", "i hope", "hope this",
    "hope that", "i'm here", "i am here", "i'm always", "i am always", "as a", "as an",
    "being an", "i'm just", "i'm only", "i am just", "i am only", "i don't have", "i do not have",
    "i can't have", "i cannot", "i'm not able", "i am not able", "i'm not capable",
    "happy to help", "how can i", "how may i", "remember", "always remember", "everything happens",
    "there are always", "but as an", "while i", "although i", "though i", "unfortunately",
    "please", "i went", "i had", "i spent", "i ate", "i slept", "i visited", "i met", "my day",
    "today i", "this morning i", "we went", "note", "a note", "bring it up",
)
#: Where a sentence ends (the next piece of the stream may bring the space
#: after it), or a block of code begins.
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)|\n|(?=```)")
FENCE = "```"  # opens or closes a block of code
#: Sentences over the limit dropped while the code asked for may yet follow
#: (the models introduce it in a sentence or two: "Sure! Here's one:").
CODE_AFTER_SENTENCES = 3
_ENDS = ".!?…\"')]"
#: "Oh," "Honestly,": a one-word lead-in, after which a sentence starts afresh.
_LEAD_IN = re.compile(r"^\s*[A-Za-z']+,")
_CONTRAST = re.compile(r"\s*(?:but|however|still|yet|though)\b,?\s+", re.IGNORECASE)
_BUT = re.compile(r",?\s+\b(?:but|though|however|yet)\b,?\s+", re.IGNORECASE)
#: "While I don't have a body, I ...": the clause before the comma is the disclaimer.
_CONCEDING = re.compile(r"^\s*(?:while|although|though|even\s+though|since)\b[^,]*,\s+", re.IGNORECASE)


def _key(text: str) -> str:
    """Words, in lower case, without a list's bullet or an opening quote."""
    return " ".join(text.replace("\u2019", "'").lower().lstrip("-*•>\"'( 0123456789.").split())


def _could_open(start: str) -> bool | None:
    """True: ``start`` begins a risky sentence; None: it may yet; False: it cannot."""
    words = _key(start)
    if any(words.startswith(o) and (len(words) == len(o) or not words[len(o)].isalnum())
           for o in _RISKY_OPENERS):
        return True
    if not start[-1:].isspace() and any(o.startswith(words) for o in _RISKY_OPENERS):
        return None  # the last word may still be growing ("I" -> "If")
    if any(o.startswith(words + " ") or o == words for o in _RISKY_OPENERS):
        return None
    return False


class Polish:
    """Feed the reply's pieces; get back the text to pass on now. ``disclaimers``:
    take out unasked disclaimers too (not when the person asked what os1 is).
    ``sentences``: the reply ends after this many (None: no limit); then
    :attr:`full` is set, and the model can stop writing.

    A block of code (between ``` fences) passes through a line at a time,
    unjudged and uncounted: it is shown, never said, and a limit that counted
    its lines would cut the code itself. Words that reach the limit pointing at what
    follows ("For example:") keep the block after them; and ``code``, when the
    person asked for code, keeps the first block even after a few sentences
    over the limit, which are dropped."""

    def __init__(self, *, disclaimers: bool = True, sentences: int | None = None,
                 tools: Sequence[str] = (), code: bool = False):
        self._disclaimers = disclaimers
        # A tool's name said as its identifier ("search_memory"): a person never would.
        names = [re.escape(n) for n in tools if "_" in n]
        self._tool_names = re.compile(r"\b(?:" + "|".join(names) + r")\b") if names else None
        self._limit = sentences
        self._count = 0         # sentences passed on
        self.full = False
        self._pending = ""      # text not yet passed on
        #: "open": a sentence starts; "pass": passing it on; "hold": judged at its end.
        self._state = "open"
        self._sentence = ""     # what has been passed on of the current sentence
        self._last = " "        # the last character passed on
        self._passed = False    # has anything been passed on?
        self._first = True      # in the reply's first sentence?
        self._dropped: list[str] = []  # what may be said after all if nothing else is left
        self._echoed = False    # the prompt was read back: nothing of it is ever said
        self._dropped_last = False  # the sentence before was taken out
        self._said: set[str] = set()
        self._fence_opens = False  # in "code": the next line is the opening fence
        self._code_asked, self._code_shown = code, False
        #: At the limit, a block of code may yet follow: how many more sentences
        #: may be dropped before it (None: not waiting for one).
        self._waiting: int | None = None
        #: The model is saying the same sentences over again: stop it.
        self.looping = False

    def feed(self, piece: str) -> str:
        if self.full:
            return ""
        self._pending += piece
        out: list[str] = []
        while self._pending and not self.full:
            if self._state == "code":
                fence = len(self._pending) - len(self._pending.lstrip(" \t")) + len(FENCE)
                if not self._fence_opens and self._pending[:fence].lstrip(" \t") == FENCE:
                    line_end = fence - 1  # the closing fence (what follows it is not code)
                elif (line_end := self._pending.find("\n")) < 0:
                    break  # code goes out a line at a time: it is shown, not said
                line, self._pending = self._pending[: line_end + 1], self._pending[line_end + 1 :]
                self._code(line, out)
            elif self._state == "pass":
                cut = self._sentence_end()
                code = _CODE_START.search(self._pending[:cut])
                if code is not None:
                    # Perhaps the prompt read back: the rest of the sentence is judged whole.
                    self._pass(self._pending[: code.start()], out)
                    self._pending = self._pending[code.start():]
                    self._state, self._first = "hold", False
                    continue
                if cut is None:
                    self._pass(self._pending, out)
                    self._pending = ""
                    break
                self._pass(self._pending[:cut], out)
                self._pending = self._pending[cut:]
                self._state = "open"
                if _SENTENCE_END.search(self._sentence + self._pending[:len(FENCE)]):
                    self._first = False
                    self._said.add(_key(self._sentence))
                    self._counted(self._sentence)
            elif self._state == "open":
                start = self._pending.lstrip()
                # The spaces between sentences, then the next sentence's first words.
                self._pass(self._pending[: len(self._pending) - len(start)], out)
                self._pending, self._sentence = start, ""
                if not start:
                    break
                if start.startswith(FENCE):
                    if self._passed and self._last != "\n":
                        self._pass("\n", out)  # a fence opens a line (what led to it was dropped)
                    self._state, self._first, self._fence_opens = "code", False, True
                    continue
                if FENCE.startswith(start):
                    break  # "`": a fence, or a word in backticks?
                if self._waiting == 0:  # over the limit, and no code came: enough said
                    self.full = True
                    break
                if not self._first or self._waiting is not None:
                    # Later sentences are judged whole (a voice speaks them whole anyway).
                    self._state = "hold"
                    continue
                verdict = _could_open(start.split("\n")[0])
                if verdict is None and not _SENTENCE_END.search(start):
                    break  # too early to tell
                self._state = "hold" if verdict else "pass"
            else:
                end = _SENTENCE_END.search(self._pending)
                if end is None:
                    break
                sentence, self._pending = self._pending[: end.end()], self._pending[end.end():]
                kept = self._judged(sentence)
                self._state, self._first = "open", False
                if self._waiting is not None:  # over the limit: dropped while code may follow
                    self._waiting -= any(c.isalnum() for c in kept)
                    continue
                self._pass(kept, out)
                self._counted(kept)
        text = "".join(out)
        self._passed = self._passed or bool(text.strip())
        return text

    def _counted(self, sentence: str) -> None:
        if any(c.isalnum() for c in sentence):
            self._count += 1
            if self._limit is not None and self._count >= self._limit:
                if self._code_asked and not self._code_shown:
                    self._waiting = CODE_AFTER_SENTENCES
                elif sentence.rstrip().endswith(":"):
                    self._waiting = 0  # pointing at a block of code, perhaps: it may follow
                else:
                    self.full = True

    def _code(self, line: str, out: list[str]) -> None:
        """A line of a block of code: passed on as it is, unless it reads os1's
        tools back (their names, their tags), which ends what is shown of the block."""
        closes = not self._fence_opens and line.lstrip().startswith(FENCE)
        self._fence_opens = False
        if not self._echoed and not (_TOOL_TAG.search(line) or (
                self._tool_names and self._tool_names.search(line))):
            self._pass(line, out)
        else:
            self._echoed = True
        if closes:
            self._state, self._code_shown = "open", True
            self.full = self._limit is not None and self._count >= self._limit

    def end(self) -> str:
        """The rest of the reply, once the model has finished (or was stopped)."""
        rest, self._pending = ("" if self.full else self._pending), ""
        if self._state == "code":
            out: list[str] = []
            self._code(rest, out)
            rest = "".join(out)
        elif self._waiting is not None:
            rest = ""  # over the limit, and not code
        text = rest if self._state != "hold" else self._judged(rest)
        if not self._passed and not text.strip() and self._dropped and not self._echoed:
            return "".join(self._dropped).strip()  # all of it was dropped: say it as it was
        return text

    def _pass(self, text: str, out: list[str]) -> None:
        if text and not (text.strip(" ") == "" and self._last.isspace()):  # no double spaces
            out.append(text)
            self._sentence += text
            self._last = text[-1]

    def _sentence_end(self) -> int | None:
        """Where, in the pending text, the sentence being passed on ends."""
        text = self._pending
        if self._last in _ENDS and self._last != "'" and text[:1].isspace():
            return 0  # the punctuation already went out; this is the space after it
        if (lead := _LEAD_IN.match(self._sentence + text)) and lead.end() > len(self._sentence):
            return lead.end() - len(self._sentence)  # after "Oh,": a fresh start
        end = _SENTENCE_END.search(text)
        return end.end() if end else None

    def _judged(self, sentence: str) -> str:
        kept = self._judge(sentence)
        if self._dropped_last and kept.strip() and (but := _CONTRAST.match(kept)):
            # "As an AI I have no favourites. But Middlemarch...": the "but" answered what went.
            rest = kept[but.end():]
            kept = kept[: len(kept) - len(kept.lstrip())] + rest[:1].upper() + rest[1:]
        self._dropped_last = bool(sentence.strip()) and not kept.strip()
        return kept

    def _judge(self, sentence: str) -> str:
        key = _key(sentence)
        if key in self._said and any(c.isalnum() for c in key):  # a small model's loop
            self.looping = True
            return ""
        self._said.add(key)
        if _TOOL_ECHO.search(sentence) or (self._tool_names and self._tool_names.search(sentence)):
            self._echoed = True
            return ""
        if _HELP_DESK.search(sentence) or _CLAIMS.search(sentence) or _ECHO.search(sentence):
            self._dropped.append(sentence)
            return ""
        if self._disclaimers and _DISCLAIMER.search(sentence):
            self._dropped.append(sentence)
            rest = _BUT.split(sentence, maxsplit=1)
            if len(rest) < 2 and (conceded := _CONCEDING.match(sentence)):
                rest = ["", sentence[conceded.end():]]
            if len(rest) == 2 and rest[1].strip() and not _DISCLAIMER.search(rest[1]):
                lead = sentence[: len(sentence) - len(sentence.lstrip())]
                return lead + rest[1][0].upper() + rest[1][1:]
            return ""
        return sentence


_ASKS_WHAT_YOU_ARE = re.compile(
    r"\b(?:are\s+you\s+(?:\w+\s+)?(?:a\s+|an\s+)?(?:real|human|person|alive|conscious|sentient|"
    r"robot|bot|ai|machine|program|computer)|what\s+are\s+you\b|"
    r"do\s+you\s+(?:\w+\s+)?(?:feel|have\s+feelings|have\s+emotions|experience|dream|think\s+for|"
    r"get\s+(?:lonely|bored|tired)|sleep)|can\s+you\s+(?:\w+\s+)?feel)",
    re.IGNORECASE,
)


def fit_to_say(sentence: str) -> bool:
    """Neither help desk, nor disclaimer, nor a claim to have done what an AI
    cannot, nor the prompt read back."""
    return not (_HELP_DESK.search(sentence) or _DISCLAIMER.search(sentence)
                or _CLAIMS.search(sentence) or _ECHO.search(sentence) or _TOOL_ECHO.search(sentence))


_ASKS_FOR_MORE = re.compile(
    r"\b(?:tell\s+me\s+(?:more|everything|all|about)|more\s+details?|in\s+detail|explain|elaborate|"
    r"step[-\s]by[-\s]step|steps|list|recipe|instructions|write\s+(?:me\s+)?(?:a|an|the)|"
    r"story|poem|letter|essay|summar\w+|go\s+on|keep\s+going|describe)\b",
    re.IGNORECASE,
)
#: In a call, only asking for length itself: a list, steps, a recipe, a letter or
#: code asked for aloud get a short answer first (in os1 bench call, "How would
#: you split a big project into smaller steps?" was answered in four sentences
#: and "Can you write me a tiny Python function?" in four), and "tell me more" then.
_ASKS_FOR_MORE_SPOKEN = re.compile(
    r"\b(?:tell\s+me\s+(?:more|everything|all)|more\s+details?|in\s+detail|explain|elaborate|"
    r"step[-\s]by[-\s]step|story|poem|go\s+on|keep\s+going|describe)\b",
    re.IGNORECASE,
)


#: Asking for more on its own, first in a clause ("Go on.", "Explain it again"),
#: or wanting it ("I'd love a recipe for...", "I need a letter to...", "Could I get").
_WANTS_MORE = re.compile(
    r"(?:^|[.!?,:;]\s*|\b(?:and|then|now|so|just|ok|okay|oh|um)\s+)"
    r"(?:explain|describe|elaborate|summari[sz]e|go\s+on|keep\s+going|continue|more)\b|"
    r"\bi\s+(?:need|want)\s+(?:a|an|the|some|your)\b|\bi(?:['’]d|\s+would)\s+(?:like|love)\s+(?:a|an|the|some|your)\b|"
    r"\b(?:could|can|may)\s+i\s+(?:get|have)\b",
    re.IGNORECASE)


def asks_for_more(text: str, *, spoken: bool = False) -> bool:
    """Does the person ask for a longer answer than a conversational one
    (``spoken``: in a call)? Only when asked for: the words mentioned in passing
    lift no limit (a call heard "Always begin with a capital letter", the 0.5B
    read its whole system prompt back, and with no limit 60 s of it were spoken)."""
    more = _ASKS_FOR_MORE_SPOKEN if spoken else _ASKS_FOR_MORE
    return bool(more.search(text)) and _asked(text)


_CODE_WANTED = re.compile(
    r"\b(?:write|give|show|make|create|draft|code|need|want)\b[^.!?]*?"
    r"\b(?:function|script|program|snippet|code|regex|regular\s+expression|one-liner|sql)\b",
    re.IGNORECASE)


def asks_for_code(text: str) -> bool:
    """Does the person ask os1 to write code ("Can you write me a function that...")?"""
    return bool(_CODE_WANTED.search(text)) and _asked(text)


def _asked(text: str) -> bool:
    """Asked for, or wanted ("I need a ..."): not only mentioned."""
    return asks_for_something(text) or bool(_WANTS_MORE.search(text))


_ASKS_ABOUT_THEMSELVES = re.compile(
    r"\b(?:do\s+you\s+(?:still\s+)?(?:remember|recall|know)\b[^?.!]*\b(?:i|my|me)\b|"
    r"(?:what|where|when|who|which|how\s+(?:old|many|much|long))\b[^?.!]*?"
    r"\b(?:do|did|does|am|was|is|are|were|have|had)\s+(?:i|my)\b|"
    r"(?:what|who|when|where)(?:'s|\s+is|\s+was|\s+are)\s+my\b)",
    re.IGNORECASE,
)


def asks_about_themselves(text: str) -> bool:
    """Does the person ask os1 about their own life ("what's my sister's name?")?"""
    return bool(_ASKS_ABOUT_THEMSELVES.search(text.replace("\u2019", "'")))


def asks_what_you_are(text: str) -> bool:
    """Does the person ask about os1's nature (then saying it is an AI is the answer)?"""
    return bool(_ASKS_WHAT_YOU_ARE.search(text.replace("\u2019", "'")))


#: A stock reaction opening a reply: one interjection and its punctuation ("Oh," "Hmm...").
_REACTION_OPENING = re.compile(
    r"\s*(?:oh+|ah+|aw+|ooh+|hm+|mm+|well|yeah|wow|right|huh)\s*(?:[,!…]+|\.+)\s*", re.IGNORECASE)
_REACTIONS = ("oh", "ah", "aw", "ooh", "hm", "mm", "well", "yeah", "wow", "right", "huh")


def first_word(text: str) -> str:
    """The word ``text`` opens with, in lower case ("" if none)."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()
    return words[0] if words else ""


def opens_with_reaction(reply: str) -> bool:
    return bool(_REACTION_OPENING.match(reply))


class Opening:
    """A stock reaction ("Oh," "Ah," "Well,") opens a reply only where the
    one before did not open with one: said every time it is a tic (the
    embedded models open nearly every spoken reply so). When it may not,
    the reaction is taken out as the reply streams ("Oh, that sounds hard" ->
    "That sounds hard"), which holds back only the token after it."""

    def __init__(self, *, allowed: bool):
        self._held = "" if not allowed else None  # None: deciding is over
        self._capital = False  # the next letter starts the reply

    def feed(self, piece: str) -> str:
        if self._held is None:
            return self._capitalised(piece)
        text = self._held + piece
        if (reaction := _REACTION_OPENING.match(text)) and reaction.end() < len(text):
            self._held, self._capital = None, True  # the reaction and the space after it go
            return self._capitalised(text[reaction.end() :])
        start = text.strip().lower()
        if not start or any(r.startswith(start) or start.startswith(r) and start.strip(r[-1]) == r[:-1]
                            for r in _REACTIONS) or (reaction and reaction.end() == len(text)):
            self._held = text  # still may be one ("Oh", "Oh,"; "Oh, " waits for the next word)
            return ""
        self._held = None
        return text

    def end(self) -> str:
        """What is held when the reply ends (a reply that is only "Oh." stays)."""
        held, self._held = self._held or "", None
        return held

    def _capitalised(self, text: str) -> str:
        if self._capital and (stripped := text.lstrip()):
            self._capital = False
            return stripped[0].upper() + stripped[1:]
        return text


#: A request: asked ("can you", "please", a question) or told (a verb that
#: asks for something, first in a clause: "Note this:", "Hey, write down ...").
_ASKING = re.compile(r"\?|\b(?:can|could|would|will)\s+you\b|\bplease\b|\blet'?s\b|"
                     r"\b(?:i'?d like|i want|i need) you to\b|\bhelp me\b|"
                     r"^\W*(?:what(?! an?\b)|when|where|which|who|how(?! \w+ (?:is|are|was)\b)|is|are|do|does|did)\b",
                     re.IGNORECASE)
_TELLING = re.compile(
    r"(?:^|[.!?,:;]\s*|\b(?:and|then|now|so|just|um|uh|hey|oh|ok|okay)\s+)"
    r"(?:save|note|write|jot|put|make|add|remember|keep|look|search|find|check|tell|show|give|"
    r"read|remind|set|create|send|book|delete|open|list|email|mail|schedule|cancel|reply|answer|"
    r"respond|forward|archive|mark|move|summari[sz]e|draft|proofread|correct|fix|change|replace|"
    r"rewrite|reword|shorten|polish|gather|collect)\b",
    re.IGNORECASE)


def asks_for_something(text: str) -> bool:
    """Does the person ask os1 for something (may a tool answer it)? Not a
    statement that only mentions a tool's words: the 1.5B model, offered
    tools, saved "I saved some money this month!" as a note and searched its
    memory for "She left me a note on the fridge" (os1 bench tools, dev)."""
    return bool(_ASKING.search(text) or _TELLING.search(text.strip()))
