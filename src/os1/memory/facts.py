"""Rules for facts over time: what a fact's key is, and how a past fact reads.

A key names the one thing a fact is about, "subject.attribute" (``user.home_city``,
``sister.name``), for things that have one value at a time: a newer fact with
the same key and different words replaces the older one, which is kept as
history. Keys come from a language model, so they are tidied here, and keys
for things people have many of ("user.likes", "user.friend") are dropped: a
second hobby must not erase the first.
"""

from __future__ import annotations

import re
import time

MAX_KEY = 48

#: Attributes with many values at once: never a key.
_MANY = frozenset(
    """like likes dislike dislikes love loves hate hates preference preferences hobby hobbies
    interest interests friend friends pet pets plan plans goal goals fact facts info
    information other others activity activities thing things detail details note notes
    memory memories event events skill skills habit habits feeling feelings favorite
    favourite favorites favourites trait traits family relative relatives child children
    kid kids sibling siblings""".split()
)


def normalize_key(raw: str | None) -> str | None:
    """``" User.Home City "`` -> ``"user.home_city"``; None when it is no usable key."""
    if not raw:
        return None
    parts = [re.sub(r"[^a-z0-9]+", "_", p.strip().lower()).strip("_") for p in raw.split(".")]
    parts = [p for p in parts if p]
    if len(parts) < 2 or parts[-1] in _MANY:
        return None
    key = ".".join(parts)
    return key if len(key) <= MAX_KEY else None


def day(ts: float) -> str:
    """A date as people write it in a list: 2026-03-02."""
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def spoken_day(ts: float) -> str:
    """A date as a sentence says it: 2 March 2026."""
    t = time.localtime(ts)
    return f"{t.tm_mday} {time.strftime('%B %Y', t)}"
