"""Their voice in a draft: how they greet, sign off and capitalise, learned
from what they sent (their Sent folder). The words of the message are theirs
(what they asked os1 to say); only the frame is learned.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_GREETING = re.compile(r"^(hi|hey|hello|dear|morning|good morning|hiya|yo)\b[ ,]*([\w .'-]*?)\s*([,!:\u2014-]*)\s*$",
                       re.IGNORECASE)
_QUOTE = re.compile(r"^\s*>|^On .+ wrote:\s*$")


def in_their_voice(message: str, sent: Sequence[str], *, to_name: str = "") -> str:
    """``message`` framed as they frame their mail: their greeting (with the
    recipient's first name), their sign-off, their capitals."""
    greetings: Counter[tuple[str, str]] = Counter()
    closings: Counter[str] = Counter()
    lower = upper = 0
    for text in sent:
        lines = [ln.rstrip() for ln in text.splitlines() if not _QUOTE.match(ln)]
        lines = [ln for ln in lines if ln.strip()]
        if not lines:
            continue
        if (g := _GREETING.match(lines[0].strip())) and len(lines[0].split()) <= 4:
            word = g.group(1)
            greetings[(word, g.group(3) or ",")] += 1
            lines = lines[1:]
        tail = [ln.strip() for ln in lines[-2:] if len(ln.split()) <= 3]
        if tail and len(lines) > len(tail):
            closings["\n".join(tail)] += 1
            lines = lines[:-len(tail)]
        for sentence in re.split(r"(?<=[.!?])\s+|\n", "\n".join(lines)):
            first = next((c for c in sentence if c.isalpha()), "")
            lower += first.islower()
            upper += first.isupper()
    first_name = to_name.split()[0] if to_name.split() else ""
    body = message.strip()
    if lower > upper and body[:1].isupper() and not body[1:2].isupper():  # not "NASA"
        body = body[0].lower() + body[1:]
    if greetings:
        (word, mark), _ = greetings.most_common(1)[0]
        greeting = f"{word} {first_name}".strip() + mark
    else:
        greeting = f"{'hi' if lower > upper else 'Hi'} {first_name}," if first_name else ""
    closing = closings.most_common(1)[0][0] if closings and closings.most_common(1)[0][1] > 1 else ""
    parts = [greeting, body, closing]
    return "\n\n".join(p for p in parts if p) + "\n"
