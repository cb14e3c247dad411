"""Talking to the mail servers: IMAP to sync and file messages, SMTP to send.

Incremental sync: each folder's UIDVALIDITY and the last UID read are kept in
the store with each batch, so a restart resumes where it stopped and a
renumbered folder is read again from the start. One message that cannot be
fetched or parsed is reported and skipped; the rest go on.

Every library error is translated here into :class:`MailError` with a
sentence a person can act on (wrong password, server unreachable, ...).
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage

from os1.errors import Os1Error
from os1.mail.parse import MAX_BYTES, parse
from os1.mail.store import Account, MailStore, StoredMail
from os1.mail.triage import triage

log = logging.getLogger(__name__)

#: Messages fetched (and committed) per round trip.
BATCH = 25
#: Seconds to wait for a server.
TIMEOUT = 30.0
KEYRING_SERVICE = "os1-mail"


class MailError(Os1Error):
    """A mail server could not be reached or refused; the message says which and why."""


@dataclass(slots=True)
class SyncReport:
    new: int = 0
    skipped: list[str] = field(default_factory=list)  # what could not be read, and why
    folders: list[str] = field(default_factory=list)


Progress = Callable[[str, int, int], None]  # (folder, done, total)


def keyring_key(user: str, account: str) -> str:
    return f"{user}/{account}"


def password(account: Account, user: str) -> str:
    """The account's password: from its environment variable, else the system
    keyring. os1 never writes it anywhere itself."""
    if account.password_env:
        value = os.environ.get(account.password_env)
        if value:
            return value
    try:
        import keyring

        value = keyring.get_password(KEYRING_SERVICE, keyring_key(user, account.name))
    except Exception as exc:  # noqa: BLE001 - any keyring backend failure
        log.debug("keyring: %s", exc)
        value = None
    if value:
        return value
    where = f"${account.password_env}" if account.password_env else "the system keyring"
    raise MailError(f"No password for the mail account {account.name}: set it in {where} "
                    f"(os1 mail add asks for it).")


def forget_password(user: str, account: str) -> None:
    """Take the account's password out of the keyring, if it is there."""
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, keyring_key(user, account))
    except Exception as exc:  # noqa: BLE001 - none there, or no keyring on this computer
        log.debug("keyring: %s", exc)


def _context(account: Account) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=account.ca_file) if account.ca_file else \
        ssl.create_default_context()


@contextlib.contextmanager
def imap(account: Account, user: str) -> Iterator[object]:
    """A logged-in IMAP connection (an ``imapclient.IMAPClient``)."""
    import imapclient
    from imapclient.exceptions import IMAPClientError, LoginError

    secret = password(account, user)
    where = f"{account.imap_host}:{account.imap_port}"
    try:
        client = imapclient.IMAPClient(account.imap_host, account.imap_port,
                                       ssl=account.imap_security == "ssl",
                                       ssl_context=_context(account), timeout=TIMEOUT)
    except (OSError, IMAPClientError) as exc:
        raise MailError(f"Cannot reach the mail server {where}: {_why(exc)}.") from exc
    try:
        if account.imap_security == "starttls":
            client.starttls(_context(account))
        client.login(account.username, secret)
    except LoginError as exc:
        _quietly(client.shutdown)
        raise MailError(f"The mail server {where} refused the password for {account.username}.") from exc
    except (OSError, IMAPClientError) as exc:
        _quietly(client.shutdown)
        raise MailError(f"The mail server {where} failed: {_why(exc)}.") from exc
    try:
        yield client
    except (OSError, IMAPClientError) as exc:
        raise MailError(f"The mail server {where} failed: {_why(exc)}.") from exc
    finally:
        _quietly(client.logout)


def sync(store: MailStore, account: Account, *, progress: Progress | None = None,
         limit: int | None = None) -> SyncReport:
    """Read what is new in the inbox and the sent folder into ``store``;
    ``limit``: at most this many new messages a folder (newest first wins
    nothing: older ones follow on the next run, in UID order).

    One sync of a store at a time: one that finds another running (the page's
    background sync, a tool's check) waits for it and adds nothing of its own."""
    if not store.syncing.acquire(blocking=False):
        with store.syncing:
            return SyncReport()
    try:
        return _sync(store, account, progress, limit)
    finally:
        store.syncing.release()


def _sync(store: MailStore, account: Account, progress: Progress | None, limit: int | None) -> SyncReport:
    import imapclient
    from imapclient import imapclient as names

    report = SyncReport()
    me = {account.address.lower()}
    with imap(account, store.user) as client:
        c: imapclient.IMAPClient = client  # type: ignore[assignment]
        # CONDSTORE (RFC 7162): a folder whose HIGHESTMODSEQ has not moved is
        # not searched at all, and read/unread marks made in other mail
        # programs come in with the new mail.
        condstore = c.has_capability("CONDSTORE")
        if condstore:
            c.enable("CONDSTORE")
        folders = [("INBOX", "inbox")]
        for role, flag in (("sent", names.SENT), ("archive", names.ARCHIVE),
                           ("trash", names.TRASH)):
            found = c.find_special_folder(flag)
            if found:
                folders.append((found, role))
        for folder, role in folders:
            if role in ("archive", "trash"):  # known for filing, not read
                if store.folder_state(account, folder)[0] is None:
                    store.reset_folder(account, folder, 0, role)
                continue
            status = c.select_folder(folder, readonly=True)
            validity = int(status[b"UIDVALIDITY"])
            highest = status.get(b"HIGHESTMODSEQ") if condstore else None
            known, last = store.folder_state(account, folder)
            if known != validity:
                store.reset_folder(account, folder, validity, role)
                last = 0
            report.folders.append(folder)
            before = store.modseq(account, folder)
            if highest is not None and before == highest:
                continue  # nothing in it changed since it was last read whole
            if before is not None:
                # By the UIDs held (imapclient 4 drops replies to a range "1:n").
                held = store.uids(account, folder)
                for start in range(0, len(held), 1000):
                    changed = c.fetch(held[start:start + 1000], ["FLAGS"], modifiers=[f"CHANGEDSINCE {before}"])
                    store.set_seen_by_uid(account, folder, {
                        uid: names.SEEN in data.get(b"FLAGS", ()) for uid, data in changed.items()})
            uids = sorted(u for u in c.search(["UID", f"{last + 1}:*"]) if u > last)
            whole = limit is None or len(uids) <= limit
            if not whole:
                uids = uids[:limit]
            if progress and uids:
                progress(folder, 0, len(uids))
            for start in range(0, len(uids), BATCH):
                batch = uids[start:start + BATCH]
                fetched = c.fetch(batch, ["RFC822.SIZE", "FLAGS", f"BODY.PEEK[]<0.{MAX_BYTES}>"])
                rows = []
                for uid in batch:
                    data = fetched.get(uid)
                    raw = _body(data)
                    if raw is None:
                        report.skipped.append(f"{folder} #{uid}: the server sent no message")
                        continue
                    try:
                        mail = replace(parse(raw), size=int((data or {}).get(b"RFC822.SIZE") or len(raw)))
                    except Exception as exc:  # noqa: BLE001 - one bad message must not stop sync
                        report.skipped.append(f"{folder} #{uid}: {exc}")
                        continue
                    seen = names.SEEN in (data or {}).get(b"FLAGS", ())
                    rows.append((uid, mail, triage(mail, me) if role == "inbox" else None, seen))
                store.add_mails(account, folder, rows, last_uid=batch[-1])
                report.new += len(rows)
                if progress:
                    progress(folder, min(start + BATCH, len(uids)), len(uids))
            if whole and highest is not None:
                store.set_modseq(account, folder, highest)
    return report


def _body(data: dict | None) -> bytes | None:
    if not data:
        return None
    for key, value in data.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[") and isinstance(value, bytes):
            return value
    return None


def send(store: MailStore, account: Account, message: EmailMessage) -> None:
    """Send ``message`` over SMTP, then keep a copy in the sent folder."""
    secret = password(account, store.user)
    where = f"{account.smtp_host}:{account.smtp_port}"
    try:
        if account.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(account.smtp_host, account.smtp_port, timeout=TIMEOUT,
                                                  context=_context(account))
        else:
            smtp = smtplib.SMTP(account.smtp_host, account.smtp_port, timeout=TIMEOUT)
        with smtp:
            smtp.ehlo_or_helo_if_needed()
            if account.smtp_security == "starttls":
                smtp.starttls(context=_context(account))
                smtp.ehlo()  # what the server offers now, over TLS (AUTH, often)
            if account.username and smtp.has_extn("auth"):
                smtp.login(account.username, secret)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"The mail server {where} refused the password for {account.username}.") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"The mail server {where} refused the address "
                        f"{', '.join(exc.recipients)}; nothing was sent.") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"Cannot send through {where}: {_why(exc)}; nothing was sent.") from exc
    with contextlib.suppress(MailError):  # sent is sent: a missing copy is not a failure
        with imap(account, store.user) as client:
            import imapclient
            from imapclient import imapclient as names

            c: imapclient.IMAPClient = client  # type: ignore[assignment]
            sent = store.folder_role(account, "sent") or c.find_special_folder(names.SENT) or "Sent"
            c.append(sent, message.as_bytes(), flags=(names.SEEN,))


def file(store: MailStore, mail: StoredMail, how: str) -> str:
    """Archive, delete or mark ``mail`` on its server, and in the store as the
    server now has it; returns where it went (or ``how``)."""
    account = next((a for a in store.accounts() if a.id == mail.account_id), None)
    if account is None:
        raise MailError("The account that email came from is no longer set up.")
    where = file_away(store, account, mail.folder, mail.uid, how)
    if how in ("archive", "delete"):
        store.drop_mail(mail.id)
    else:
        store.set_seen(mail.id, how == "mark read")
    return where


def file_away(store: MailStore, account: Account, folder: str, uid: int, how: str) -> str:
    """Archive, delete (to the trash) or mark one message on the server; the
    message's new place is read on the next sync."""
    import imapclient
    from imapclient import imapclient as names

    with imap(account, store.user) as client:
        c: imapclient.IMAPClient = client  # type: ignore[assignment]
        c.select_folder(folder)
        if how in ("mark read", "mark unread"):
            (c.add_flags if how == "mark read" else c.remove_flags)([uid], [names.SEEN])
            return how
        flag = names.ARCHIVE if how == "archive" else names.TRASH
        target = store.folder_role(account, how if how == "archive" else "trash") or c.find_special_folder(flag)
        if not target:
            raise MailError(f"The server has no {'archive' if how == 'archive' else 'trash'} folder.")
        if c.has_capability("MOVE"):
            c.move([uid], target)
        else:
            c.copy([uid], target)
            c.delete_messages([uid])
            c.expunge()
        return target


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "it did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "nothing is listening there"
    if isinstance(exc, socket.gaierror):
        return "no such host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted ({exc.verify_message})"
    return str(exc) or type(exc).__name__


def _quietly(fn: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        fn()
