"""Written text -> what a voice should say.

The small models write markdown and LaTeX even in a call ("**bold**",
"\\[ \\frac{3}{2} \\]", bullets, tables), and a voice reads such marks aloud, or
stumbles on them. :func:`speakable` turns a piece of a reply into words a
person would say: emphasis, headings, bullets and fences go; a link is its
text; a web address is its host ("example.org"); a formula is read ("3 over 2",
"x squared"); money, fractions, ISO dates and units are said as people say
them ("5 dollars 50", "three quarters", "December 3, 2026", "2 kilograms": the
voice said "yours 20" for "€20" and "three slash four"); a block of code and
emoji go. The text shown on the page keeps its formatting: only what is voiced
passes through here. Pure and cheap (a few regular expressions
over a phrase), so it costs nothing before the first audio.
"""

from __future__ import annotations

import re
import unicodedata

#: LaTeX commands read as words.
_TEX_WORDS = {
    "times": " times ", "cdot": " times ", "div": " divided by ", "pm": " plus or minus ",
    "leq": " is at most ", "le": " is at most ", "geq": " is at least ", "ge": " is at least ",
    "neq": " is not ", "ne": " is not ", "approx": " is about ", "infty": " infinity ",
    "pi": " pi ", "alpha": " alpha ", "beta": " beta ", "theta": " theta ", "sum": " the sum of ",
    "degree": " degrees", "circ": " degrees", "to": " to ", "rightarrow": " to ",
    "percent": " percent", "%": " percent",
}
_FRAC = re.compile(r"\\d?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_TEXT = re.compile(r"\\(?:text|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}")
_POWER = re.compile(r"\^\s*(?:\{([^{}]*)\}|(\w))")
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+|%)")
_TEX_DELIMITERS = re.compile(r"\\[()\[\]]|\$\$?")
_SUBSCRIPT = re.compile(r"_\{([^{}]*)\}")

_FENCE = re.compile(r"```[\w+-]*")  # opens or closes a block of code
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)")
_URL = re.compile(r"\b(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:/[^\s)]*)?", re.IGNORECASE)
_LINE_MARK = re.compile(r"^\s*(?:#{1,6}\s+|[-*•+]\s+|\d+[.)]\s+|>\s*)", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|\*|`+|~~)")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")
_SNAKE = re.compile(r"(?<=[A-Za-z0-9])_(?=[A-Za-z0-9])")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$", re.MULTILINE)
_UNITS = ((re.compile(r"°\s*C\b"), " degrees Celsius"), (re.compile(r"°\s*F\b"), " degrees Fahrenheit"),
          (re.compile(r"°"), " degrees"), (re.compile(r"(?<=\d)\s*%"), " percent"),
          (re.compile(r"(?<=\d)\s*km/h\b"), " kilometres an hour"),
          (re.compile(r"(?<=\d)\s*mph\b"), " miles an hour"), (re.compile(r"\s&\s"), " and "))


_MONEY = re.compile(r"([$€£])\s?(\d[\d,]*)(?:\.(\d{2}))?\b")
_CURRENCY = {"$": "dollar", "€": "euro", "£": "pound"}
#: 3/4 (not 12/03/2026): a fraction, said as people say it.
_FRACTION = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])")
_FRACTIONS = {"1/2": "a half", "1/3": "a third", "2/3": "two thirds", "1/4": "a quarter",
              "3/4": "three quarters"}
_ISO_DATE = re.compile(r"\b(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
#: Units after a number, which the voice would spell out ("2 k g").
_UNIT_WORDS = {"km": "kilometres", "kg": "kilograms", "cm": "centimetres", "mm": "millimetres",
               "ml": "millilitres", "mg": "milligrams", "lb": "pounds", "lbs": "pounds", "ft": "feet",
               "mph": "miles an hour"}
_UNIT = re.compile(r"(?<=\d)\s?(" + "|".join(_UNIT_WORDS) + r")\b")


#: Said in place of the colon of a piece that points at a block of code.
ON_SCREEN = ", written out on your screen."


class Speakable:
    """The pieces of one reply, in order, as they should be said: a block of
    code (between ``` fences, which pieces may split) is not read out."""

    def __init__(self) -> None:
        self._in_code = False
        self._told = False  # where the code is was said

    def pointing(self, said: str, following: str | None) -> str:
        """``said``, a piece that ends pointing at what follows ("...like
        this:"), with the piece after it in view: if that opens a block of
        code, which is shown and not said, say where it is instead of
        pointing at nothing (in the same sentence: a call's reply stays short),
        once: then the sentence just ends ("You can use it like this, written
        out on your screen" came twice in one reply)."""
        opens_code = following is not None and not self._in_code and _FENCE.match(following.lstrip())
        if not (said.endswith(":") and opens_code):
            return said
        told, self._told = self._told, True
        return said[:-1] + ("." if told else ON_SCREEN)

    def __call__(self, piece: str) -> str:
        said = []
        for i, part in enumerate(_FENCE.split(piece)):
            if i:
                self._in_code = not self._in_code
            if not self._in_code:
                said.append(part)
        return speakable(" ".join(said))


def speakable(text: str) -> str:
    """``text`` as it should be said ("" if nothing in it is to be said)."""
    text = _TABLE_RULE.sub("", text)
    text = _MONEY.sub(_money, text)  # before the maths: "$" is not LaTeX there
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(lambda m: m.group(1).lower(), text)
    text = _math(text)
    text = _LINE_MARK.sub("", text)
    text = re.sub(r"^[ \t]*\||\|[ \t]*$", "", text, flags=re.MULTILINE).replace("|", ", ")
    text = _EMPHASIS.sub("", text)
    text = _UNDERSCORE_EMPHASIS.sub(r"\1", text)
    text = _SNAKE.sub(" ", text)  # add_numbers(5, 3): "add numbers"
    for pattern, words in _UNITS:
        text = pattern.sub(words, text)
    text = _UNIT.sub(lambda m: " " + _UNIT_WORDS[m.group(1)], text)
    text = _FRACTION.sub(lambda m: _FRACTIONS.get(m.group(0), f"{m.group(1)} over {m.group(2)}"), text)
    text = _ISO_DATE.sub(lambda m: f"{_MONTHS[int(m.group(2)) - 1]} {int(m.group(3))}, {m.group(1)}", text)
    text = "".join(c for c in text if not _is_emoji(c))
    text = re.sub(r"\s*\n\s*", " ", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", re.sub(r"[ \t]{2,}", " ", text))
    text = re.sub(r"(?:,\s*){2,}", ", ", text).strip().lstrip(", ")
    return text if any(c.isalnum() for c in text) else ""


def _money(match: re.Match[str]) -> str:
    unit = _CURRENCY[match.group(1)]
    amount = match.group(2)
    said = f"{amount} {unit}{'' if amount == '1' else 's'}"
    if match.group(3) and match.group(3) != "00":
        said += f" {int(match.group(3))}"
    return said


def _math(text: str) -> str:
    if "\\" not in text and "^" not in text and "$" not in text:
        return text
    text = _TEX_DELIMITERS.sub(" ", text)
    for _ in range(3):  # nested: \frac{\sqrt{2}}{2}
        text = _TEXT.sub(r"\1", text)
        text = _SQRT.sub(r" the square root of \1 ", text)
        text = _FRAC.sub(r" \1 over \2 ", text)
    text = _POWER.sub(_power, text)
    text = _SUBSCRIPT.sub(r" \1", text)
    text = _TEX_COMMAND.sub(lambda m: _TEX_WORDS.get(m.group(1), " "), text)
    return text.replace("{", "").replace("}", "")


def _power(match: re.Match[str]) -> str:
    exponent = (match.group(1) or match.group(2) or "").strip()
    return {"2": " squared", "3": " cubed"}.get(exponent, f" to the power of {exponent}")


def _is_emoji(c: str) -> bool:
    return unicodedata.category(c) == "So" or c in "\ufe0f\u200d"
