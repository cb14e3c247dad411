"""Triage: each message gets one label (urgent, needs reply, FYI, newsletter,
spam) and a one-line reason a person can check.

Spam is scored as SpamAssassin does: many small, general signs (how the
sender and subject look, what the body sells and how it shouts, whether it
answers a conversation), each with a weight; the sum decides. The weights
were set on half of the dev messages and checked on the other half, and each
sign is a kind of spam, never a phrase of one message. The other labels come
from how the message reached the person (a list or bulk sender: newsletter; a
reply or a question to them: needs reply; a deadline or "urgent" from a
person: urgent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from os1.mail.parse import Mail

Label = Literal["urgent", "needs reply", "FYI", "newsletter", "spam"]
LABELS: tuple[Label, ...] = ("urgent", "needs reply", "FYI", "newsletter", "spam")
#: A score at or above this is spam (the dev messages: ham up to 3.4, spam from 4.1).
SPAM_AT = 3.5


@dataclass(frozen=True, slots=True)
class Triage:
    label: Label
    reason: str
    spam_score: float = 0.0


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


#: What unsolicited mail sells or promises (kinds of offer, not one message's words).
_OFFER = _words(
    r"free", r"guarantee[ds]?", r"risk[- ]free", r"no (?:extra )?cost", r"100 ?%", r"act now",
    r"limited time", r"order now", r"call now", r"click here", r"special (?:offer|promotion)",
    r"(?:lowest|best|low) (?:rates?|prices?)", r"save (?:up to|\$|big)", r"discount", r"cash", r"earn",
    r"income", r"money", r"profits?", r"refinanc\w*", r"mortgage", r"loans?", r"debt", r"credit",
    r"insurance", r"grants?", r"lose \d+", r"weight", r"diet", r"fat", r"viagra", r"pills?",
    r"work from home", r"home[- ]based", r"business opportunity", r"mlm", r"multi-?level",
    r"investment", r"million", r"casino", r"winner", r"prize", r"adult", r"xxx", r"sex\w*", r"porn\w*",
    r"opt[- ]?in", r"bulk e?mail", r"e?mail marketing", r"leads", r"per minute", r"no obligation",
    r"satisfaction", r"amazing", r"incredible", r"miracle", r"secret", r"dear friend", r"apply now",
    r"bank account", r"wire transfer", r"urgent (?:help|assistance|reply)", r"confidential business",
)
#: How unsolicited mail tells you it may write to you.
_OPT_OUT = _words(
    r"to be removed", r"remove me", r"removal", r"opt[- ]?out", r"not spam", r"you (?:are receiving|received) this", r"one[- ]time (?:e?mail|mailing)",
    r"never receive (?:another|further)", r"this (?:e?mail|message) (?:is|was) sent (?:to you )?in compliance",
    r"bill s\.? ?1618", r"removed from (?:our|this|future)",
)
_UNSUBSCRIBE = _words(r"unsubscribe", r"no longer wish")
#: How a newsletter someone signed up for reminds them they did.
_SUBSCRIBED = _words(r"you (?:have )?(?:subscribed|signed up|registered)", r"your subscription",
                     r"subscribed (?:as|to|with)", r"you are (?:currently )?subscribed",
                     r"(?:change|update|manage) your (?:e-?mail )?(?:preferences|profile|subscription)",
                     r"you requested", r"member(?:s|ship)? (?:services|account)")
_MONEY = re.compile(r"\$\s?\d[\d,.]*|\d+\s?%|\$\$+")
_SHOUT = re.compile(r"\b[A-Z]{3,}\b")
_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
#: Bulk mailers number or time-stamp each subject ("... 26583", "... 11.150", "Time:7:20:54 AM").
_RANDOM_TAIL = re.compile(r"(?:\s|^)(?!(?:19|20)\d\d\b)[\w-]*\d{4,}[\w-]*\s*$|\s\d{1,2}\.\d{3}\s*$|"
                          r"\btime:\s*(?:[ap]m\s*)?\d{1,2}:\d\d:\d\d", re.IGNORECASE)
_RANDOM_LOCAL = re.compile(r"^(?=[^@]*\d)(?=[^@]*[a-z])[a-z0-9]{8,}@|^[a-z]+\d{3,}@|^\d")
_FREE_MAIL = re.compile(r"@(?:hotmail|yahoo|aol|msn|excite|mailexcite|usa\.net|juno|netscape|lycos|"
                        r"mail\.com|email\.com|firemail|mymail|web\.de|free\w*\.)", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s\]>)\"']+|www\.[^\s\]>)\"']+", re.IGNORECASE)
_QUOTED = re.compile(r"^\s*>.*$", re.MULTILINE)
#: Within a day, or said to be pressing ("by Thursday" is a reply's deadline, not urgency;
#: "today's meeting" is news, not a deadline).
_URGENT = _words(r"urgent", r"asap", r"as soon as possible", r"immediately", r"tonight",
                 r"tomorrow", r"by (?:tonight|noon|end of (?:the )?day)", r"shut ?off", r"cancel+ed",
                 r"overdue", r"final notice", r"emergency")
#: A question or request to the reader: an answer is wanted.
_ASKS = re.compile(r"\?|\b(?:could|can|would|will) you\b|\b(?:let|tell) (?:me|us)\b|\bget back to (?:me|us)\b|"
                   r"\bwrite back\b|\bplease (?:confirm|reply|let|send|call|tell)\b|\brsvp\b|"
                   r"\b(?:confirm|reply|answer|respond)(?: to me)? by\b", re.IGNORECASE)


def spam_signs(mail: Mail) -> list[tuple[float, str]]:
    """The signs of unsolicited bulk mail in ``mail``, each (weight, what)."""
    signs: list[tuple[float, str]] = []
    subject, text = mail.subject, mail.text
    body = _QUOTED.sub("", text)
    words = max(1, len(_WORD.findall(body)))

    def sign(weight: float, what: str) -> None:
        signs.append((weight, what))

    offers = {m.group(0).lower() for m in _OFFER.finditer(f"{subject}\n{body}")}
    density = min(1.0, 300 / words)  # a long newsletter names "free" and "$" by the way
    if offers:
        sign(min(3.0, 0.5 * len(offers) * density), "it offers " + ", ".join(sorted(offers)[:3]))
    if _OFFER.search(subject):
        sign(0.8, "its subject sells")
    if _OPT_OUT.search(body) and not _is_list(mail):
        sign(1.5, "it says how to be removed from a list you did not join")
    elif _UNSUBSCRIBE.search(body) and not _is_list(mail):
        sign(0.5, "an unsubscribe link")
    if _SUBSCRIBED.search(body):
        sign(-1.5, "it says how you subscribed")
    money = len(_MONEY.findall(f"{subject}\n{body}"))
    if money:
        sign(min(1.5, 0.3 * money * density), "it is about money")
    letters = [c for c in subject if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.6:
        sign(1.2, "its subject shouts")
    if subject.count("!") >= 1 or "$" in subject:
        sign(0.6, "its subject exclaims or names money")
    if _RANDOM_TAIL.search(subject):
        sign(1.5, "its subject carries a tracking number")
    shouting = len(_SHOUT.findall(body)) / words
    if shouting > 0.08:
        sign(min(1.5, shouting * 8), "its text shouts")
    if body.count("!") / words > 0.02:
        sign(0.7, "its text exclaims")
    if _RANDOM_LOCAL.search(mail.sender):
        sign(1.0, "its sender's address looks made up")
    if _FREE_MAIL.search(mail.sender) and (offers or money):
        sign(1.0, "a free-mail sender selling something")
    if mail.html_only and not _is_list(mail):
        sign(0.8, "only HTML")
    reply_to = mail.headers.get("reply-to", "").lower()
    if reply_to and mail.sender and mail.sender.split("@")[-1] not in reply_to and not _is_list(mail):
        sign(0.7, "replies go elsewhere than the sender")
    if not mail.to:
        sign(0.5, "it is not addressed to anyone")
    if "charset=" in mail.headers.get("content-type", "").lower() and re.search(
            r"charset=\"?(?:big5|gb2312|ks_c|euc-kr|windows-1251)", mail.headers["content-type"], re.I):
        sign(0.8, "in a charset its reader does not use")
    if text.count("\ufffd") > 5:
        sign(0.8, "text that does not decode")
    # Signs of a real conversation count against.
    if mail.in_reply_to or mail.references:
        sign(-2.0, "it answers a conversation")
    if _is_list(mail) and not offers:
        sign(-1.0, "a mailing list post")
    if len(_URL.findall(body)) == 0 and not offers:
        sign(-0.5, "no links")
    return signs


def _is_list(mail: Mail) -> bool:
    h = mail.headers
    return bool(h.get("list-id") or h.get("mailing-list") or h.get("x-mailman-version")
                or h.get("list-post") or h.get("precedence", "").lower() in ("list", "bulk"))


def _bulk(mail: Mail) -> bool:
    h = mail.headers
    return _is_list(mail) or bool(h.get("list-unsubscribe")) or h.get("precedence", "").lower() == "bulk"


def triage(mail: Mail, me: Iterable[str] = ()) -> Triage:
    """``mail``'s label and why. ``me``: the person's own addresses (a message
    written to them, not to a list, may need their reply)."""
    signs = spam_signs(mail)
    score = sum(w for w, _ in signs)
    if score >= SPAM_AT:
        worst = [what for w, what in sorted(signs, reverse=True) if w > 0][:2]
        return Triage("spam", "Looks like unsolicited bulk mail: " + "; ".join(worst) + ".", score)
    mine = {a.lower() for a in me}
    to_me = not mine or bool(mine & {*mail.to, *mail.cc})
    body = _QUOTED.sub("", mail.text)
    fresh = body[:3000]
    if _bulk(mail) or re.search(r"\bnewsletter\b", mail.subject, re.I):
        kind = "a mailing list" if _is_list(mail) else "a newsletter or bulk sender"
        return Triage("newsletter", f"From {kind}.", score)
    if to_me and _URGENT.search(f"{mail.subject}\n{fresh[:1500]}"):
        word = _URGENT.search(f"{mail.subject}\n{fresh[:1500]}")
        assert word is not None
        return Triage("urgent", f"Written to you and time-bound (\u201c{word.group(0)}\u201d).", score)
    if to_me and _ASKS.search(fresh):
        return Triage("needs reply", "Written to you, and it asks you something.", score)
    if mail.attachments:
        return Triage("FYI", f"Sends you {len(mail.attachments)} attachment(s); it asks nothing.", score)
    return Triage("FYI", "For your information; it asks nothing of you.", score)
