"""The test mail servers (tests/mailservers.py) work with the standard library's clients."""

from __future__ import annotations

import email
import email.policy
import imaplib
import re
import smtplib
import ssl
import time
from email.message import EmailMessage

import pytest

from mailservers import FOLDERS, PERSONAL_INBOX, PERSONAL_SENT, ImapServer, SmtpServer

CORPUS_SIZE = 50  # ../shared/data/email/spamassassin_dev


def _tls(cafile) -> ssl.SSLContext:
    # The ordinary verifying context (hostname checked against the certificate's SAN).
    return ssl.create_default_context(cafile=str(cafile))


def _login_starttls(server: ImapServer) -> imaplib.IMAP4:
    imap = imaplib.IMAP4(server.host, server.port, timeout=10)
    imap.starttls(_tls(server.cafile))
    imap.login(server.user, server.password)
    return imap


def _uidvalidity(imap: imaplib.IMAP4, mailbox: str) -> int:
    status, data = imap.status(mailbox, "(UIDVALIDITY MESSAGES)")
    assert status == "OK"
    match = re.search(rb"UIDVALIDITY (\d+)", data[0])
    assert match
    return int(match.group(1))


def test_imap_login_after_starttls_verifies_the_fixture_certificate(dovecot):
    imap = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=10)
    assert "STARTTLS" in imap.capabilities
    imap.starttls(_tls(dovecot.cafile))
    assert imap.sock.getpeercert()["subjectAltName"] == (("IP Address", "127.0.0.1"), ("DNS", "localhost"))
    status, _ = imap.login(dovecot.user, dovecot.password)
    assert status == "OK"
    imap.logout()


def test_imaps_login_verifies_the_fixture_certificate_by_hostname(dovecot):
    imap = imaplib.IMAP4_SSL("localhost", dovecot.ssl_port, ssl_context=_tls(dovecot.cafile), timeout=10)
    status, _ = imap.login(dovecot.user, dovecot.password)
    assert status == "OK"
    imap.logout()


def test_an_unknown_ca_is_refused(dovecot):
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(dovecot.host, dovecot.ssl_port, ssl_context=ssl.create_default_context(),
                          timeout=10)


def test_inbox_holds_the_corpus_and_the_personal_emails_in_date_order(dovecot):
    imap = _login_starttls(dovecot)
    status, data = imap.select("INBOX", readonly=True)
    assert status == "OK" and int(data[0]) == CORPUS_SIZE + len(PERSONAL_INBOX)
    # Arrival (INTERNALDATE, from each Date header) rises with the sequence number; the newest is
    # the landlord's, sent last.
    _, data = imap.fetch("1:*", "(INTERNALDATE)")
    arrivals = [imaplib.Internaldate2tuple(line) for line in data]
    assert arrivals == sorted(arrivals, key=time.mktime)
    # The corpus is from 2002 (one spam claims 1980); Sam's own mail, from 2026, comes after it.
    assert [a.tm_year == 2026 for a in arrivals] == [False] * CORPUS_SIZE + [True] * len(PERSONAL_INBOX)
    _, data = imap.fetch(str(len(arrivals)), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"Water shut off tomorrow 9-12" in data[0][1]
    # Only Sam's own recent mail is unread, except Amy's email he answered.
    _, unseen = imap.search(None, "UNSEEN")
    assert len(unseen[0].split()) == len(PERSONAL_INBOX) - 1
    _, answered = imap.search(None, "ANSWERED")
    _, data = imap.fetch(answered[0], "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1].strip() == b"Subject: Wedding plans"
    imap.logout()


def test_a_personal_email_arrives_byte_for_byte_with_its_date_as_internaldate(dovecot):
    imap = _login_starttls(dovecot)
    imap.select("INBOX", readonly=True)
    _, found = imap.search(None, '(HEADER Message-ID "<20260407081203.4f1c9e@mail.example.net>")')
    (num,) = found[0].split()
    _, data = imap.fetch(num, "(INTERNALDATE BODY.PEEK[])")
    assert b'INTERNALDATE "07-Apr-2026' in data[0][0]
    original = next(p for p in PERSONAL_INBOX if p.name == "robert-dinner.eml").read_bytes()
    assert data[0][1] == original.replace(b"\n", b"\r\n")  # IMAP sends CRLF line ends
    message = email.message_from_bytes(data[0][1], policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Dinner on Friday?"
    imap.logout()


def test_uidvalidity_and_uids_stay_the_same_across_connections(dovecot):
    first = _login_starttls(dovecot)
    validity = _uidvalidity(first, "INBOX")
    first.select("INBOX", readonly=True)
    _, uids = first.uid("SEARCH", "ALL")
    first.logout()
    second = imaplib.IMAP4_SSL(dovecot.host, dovecot.ssl_port, ssl_context=_tls(dovecot.cafile), timeout=10)
    second.login(dovecot.user, dovecot.password)
    assert _uidvalidity(second, "INBOX") == validity
    second.select("INBOX", readonly=True)
    assert second.uid("SEARCH", "ALL")[1] == uids
    assert uids[0].split()[:3] == [b"1", b"2", b"3"]
    second.logout()


def test_a_wrong_password_fails_with_an_authentication_error(dovecot):
    imap = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=10)
    imap.starttls(_tls(dovecot.cafile))
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        imap.login(dovecot.user, "wrong horse")
    imap.logout()


def test_sent_archive_trash_and_drafts_exist_subscribed_with_their_special_use(dovecot):
    imap = _login_starttls(dovecot)
    _, listed = imap.list()
    _, subscribed = imap.lsub()
    for name, use in FOLDERS.items():
        assert any(line.endswith(f'"." {name}'.encode()) and use.encode() in line for line in listed), listed
        assert any(line.endswith(f" {name}".encode()) for line in subscribed), subscribed
    status, data = imap.select("Sent", readonly=True)
    assert status == "OK" and int(data[0]) == len(PERSONAL_SENT)
    _, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (FROM)])")
    assert all(b"From: Sam <sam@example.org>" in part[1] for part in data if isinstance(part, tuple))
    for name in ("Archive", "Trash", "Drafts"):
        status, data = imap.select(name, readonly=True)
        assert status == "OK" and data == [b"0"]
    imap.logout()


def test_amy_replied_to_the_email_in_sams_sent_folder(dovecot):
    imap = _login_starttls(dovecot)
    imap.select("Sent", readonly=True)
    _, found = imap.search(None, '(SUBJECT "Re: Wedding plans")')
    _, data = imap.fetch(found[0], "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    sams_id = data[0][1].split(b":", 1)[1].strip()
    imap.select("INBOX", readonly=True)
    _, found = imap.search(None, "HEADER", "In-Reply-To", sams_id.decode())
    assert len(found[0].split()) == 1
    imap.logout()


def _message(to: str = "robert@example.net") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Sam <sam@example.org>"
    message["To"] = to
    message["Subject"] = "re: dinner on friday"
    message["Message-ID"] = "<test-reply-1@example.org>"
    message.set_content("yes please! i'll bring dessert.\n\n— Sam\n")
    return message


def test_smtp_login_and_send_is_recorded_exactly(smtp_server: SmtpServer):
    raw = _message().as_bytes(policy=email.policy.SMTP)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        smtp.login(smtp_server.user, smtp_server.password)
        smtp.sendmail("sam@example.org", ["robert@example.net", "mei@example.net"], raw)
    (got,) = smtp_server.received
    assert got.mail_from == "sam@example.org"
    assert got.rcpt_tos == ("robert@example.net", "mei@example.net")
    assert got.content == raw
    assert got.login == smtp_server.user
    assert got.message["Subject"] == "re: dinner on friday"
    assert got.message.get_content() == "yes please! i'll bring dessert.\n\n— Sam\n"


def test_smtp_starttls_verifies_the_fixture_certificate(smtp_server: SmtpServer):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        smtp.starttls(context=_tls(smtp_server.cafile))
        smtp.login(smtp_server.user, smtp_server.password)
        smtp.send_message(_message())
    assert smtp_server.received[0].message["Message-ID"] == "<test-reply-1@example.org>"


def test_smtp_refuses_a_wrong_password_and_takes_mail_without_login(smtp_server: SmtpServer):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(smtp_server.user, "wrong horse")
        smtp.send_message(_message())
    assert smtp_server.received[0].login is None
