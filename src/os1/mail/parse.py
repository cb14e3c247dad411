"""A raw email (RFC 5322 bytes) made into what os1 reads: who, when, the
thread it belongs to, its text (HTML made text), and its attachments listed,
never opened or run.

Nothing here trusts the message: an unknown charset is read as UTF-8 with
replacement characters, a broken header becomes its raw text, and a huge body
is cut at :data:`MAX_TEXT` characters (the cut is said in the text).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Any

#: Characters of body text kept per message (a 50 MB mail still parses in a blink).
MAX_TEXT = 40_000
#: Bytes of a message fetched and parsed at all (attachments past them are not listed);
#: a batch of big messages stays within memory.
MAX_BYTES = 5_000_000
_SPACES = re.compile(r"[ \t\xa0]+")
_BLANKS = re.compile(r"\n\s*\n(\s*\n)+")
_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Mail:
    """One parsed message."""

    message_id: str
    subject: str
    sender_name: str
    sender: str  # the address, lower case
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: float | None  # seconds since the epoch
    text: str
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    #: The headers triage reads (lower-case names), first value of each.
    headers: dict[str, str] = field(default_factory=dict)
    html_only: bool = False
    size: int = 0

    @property
    def thread_key(self) -> str:
        """The first message of the thread this one answers, else itself."""
        return self.references[0] if self.references else (self.in_reply_to or self.message_id)

    @property
    def sender_label(self) -> str:
        return f"{self.sender_name} <{self.sender}>" if self.sender_name else self.sender


#: Headers kept for triage and display.
_KEPT = ("list-id", "list-unsubscribe", "precedence", "x-mailer", "x-mailman-version", "mailing-list",
         "reply-to", "return-path", "x-priority", "importance", "auto-submitted", "content-type",
         "list-post", "sender", "x-spam-flag", "organization", "user-agent")


def parse(raw: bytes) -> Mail:
    """``raw`` as a :class:`Mail` (never raises for a malformed message)."""
    size = len(raw)
    msg = email.message_from_bytes(raw[:MAX_BYTES], policy=email.policy.default)
    name, address = _address(msg, "from")
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    for part in _parts(msg):
        kind = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _header_text(part.get_filename() or "")
        if disposition == "attachment" or (filename and not kind.startswith("text/")):
            payload = part.get_payload(decode=True) or b""
            attachments.append(Attachment(filename or "unnamed", kind, len(payload)))
        elif kind == "text/plain":
            texts.append(_decoded(part))
        elif kind == "text/html":
            htmls.append(_decoded(part))
    text = "\n\n".join(t for t in texts if t.strip())
    html_only = not text.strip() and bool(htmls)
    if html_only:
        text = "\n\n".join(html_to_text(h) for h in htmls)
    text = _BLANKS.sub("\n\n", _SPACES.sub(" ", text.replace("\r\n", "\n"))).strip()
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n[... cut: the message goes on for {len(text) - MAX_TEXT} characters]"
    message_id = _ids(_header_text(msg.get("message-id", "")))
    return Mail(
        message_id=message_id[0] if message_id else _made_id(raw),
        subject=" ".join(_header_text(msg.get("subject", "")).split()),
        sender_name=name,
        sender=address,
        to=tuple(a for _, a in _addresses(msg, "to")),
        cc=tuple(a for _, a in _addresses(msg, "cc")),
        date=_date(msg),
        text=text,
        in_reply_to=next(iter(_ids(_header_text(msg.get("in-reply-to", "")))), ""),
        references=tuple(_ids(_header_text(msg.get("references", "")))),
        attachments=tuple(attachments),
        headers={h: _header_text(msg.get(h, ""))[:500] for h in _KEPT if msg.get(h) is not None},
        html_only=html_only,
        size=size,
    )


def html_to_text(html: str) -> str:
    """The words of an HTML body, as a reader would see them (no scripts,
    styles or hidden comments); links keep their address in brackets."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title", "meta"]):
        tag.decompose()
    for a in soup.find_all("a"):
        href = str(a.get("href") or "")
        if href.startswith(("http://", "https://")) and href not in a.get_text():
            a.append(f" [{href}]")
    for br in soup.find_all(["br", "p", "div", "tr", "li", "h1", "h2", "h3"]):
        br.insert_before("\n")
    return soup.get_text()


def _parts(msg: Message) -> list[Message]:
    if not msg.is_multipart():
        return [msg]
    return [p for p in msg.walk() if not p.is_multipart()]


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: read it as UTF-8
        return payload.decode("utf-8", errors="replace")


def _header_text(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a header that cannot be decoded is shown raw
        return repr(value)


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    values = [_header_text(v) for v in (msg.get_all(name) or [])]
    return [(n.strip(), a.strip().lower()) for n, a in email.utils.getaddresses(values) if a]


def _address(msg: Message, name: str) -> tuple[str, str]:
    found = _addresses(msg, name)
    return found[0] if found else ("", "")


def _date(msg: Message) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(_header_text(msg.get("date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed else None


def _ids(value: str) -> list[str]:
    return _ID.findall(value)


def _made_id(raw: bytes) -> str:
    """A stable id for a message without one (the same bytes, the same id)."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@os1.invalid>"


def compose(*, sender: str, to: list[str], subject: str, body: str, in_reply_to: str = "",
            references: tuple[str, ...] = (), domain: str = "os1.local") -> EmailMessage:
    """A plain-text message ready for SMTP."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join((*references, in_reply_to) if in_reply_to not in references
                                     else references)
    msg.set_content(body)
    return msg
