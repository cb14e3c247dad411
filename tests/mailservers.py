"""Real mail servers for the email tests, on loopback only.

``dovecot``: a private Dovecot IMAP server (plain port with STARTTLS, and an
IMAPS port) run from its own config in a temporary directory, with Sam's
mailbox: the 50 real SpamAssassin emails of ``../shared/data/email`` plus the
emails written for os1 in ``tests/data/mail``. A fresh one for every test, so
a test may move, flag or delete mail freely (it starts in well under a second).

``smtp_server``: an aiosmtpd server that records every message it is given.

Both accept ``sam@example.org`` / ``correct horse``. A missing Dovecot or
missing data skips the test; under CI (``CI=true``) conftest turns that skip
into a failure.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NoReturn, cast

import pytest

USER = "sam@example.org"
PASSWORD = "correct horse"

# Like the other tests that read ../shared/data, relative to the repository root.
SHARED_DATA = Path(os.environ.get("OS1_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
SPAMASSASSIN = SHARED_DATA / "email" / "spamassassin_dev" / "maildir"
MAIL_DATA = Path(__file__).resolve().parent / "data" / "mail"
PERSONAL_INBOX = sorted((MAIL_DATA / "inbox").glob("*.eml"))
PERSONAL_SENT = sorted((MAIL_DATA / "sent").glob("*.eml"))
# Folders besides INBOX, with their RFC 6154 special use; created and subscribed by Dovecot itself.
FOLDERS = {"Sent": r"\Sent", "Archive": r"\Archive", "Trash": r"\Trash", "Drafts": r"\Drafts"}
# Maildir flags (S seen, R answered) for a lived-in mailbox: the old corpus has been read, and Sam
# has answered Amy's first wedding email (his reply is in Sent); the rest of his own mail is new.
CORPUS_FLAGS = "S"
PERSONAL_FLAGS = {"amy-wedding.eml": "RS"}
SENT_FLAGS = "S"

START_TIMEOUT = 10.0  # seconds for Dovecot to accept connections


@dataclass(frozen=True)
class TlsFiles:
    cafile: Path  # the test CA: give it to a client to verify the servers
    certfile: Path  # the servers' certificate (CN 127.0.0.1; SAN 127.0.0.1, localhost), signed by the CA
    keyfile: Path


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int  # plain IMAP; STARTTLS offered, plain-text login allowed too
    ssl_port: int  # IMAPS (TLS from the first byte)
    user: str
    password: str
    cafile: Path
    # Sam's Maildir++ (INBOX at the top, .Sent, .Archive, ...), owned by the mail user: nobody when
    # the tests run as root. Read it to check what a client did; change mail through IMAP.
    maildir: Path


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes  # exactly as sent in DATA (CRLF line ends, dots unstuffed)
    message: EmailMessage  # content parsed (line ends \n)
    login: str | None  # the AUTH user, None when the client did not log in


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int  # plain SMTP; STARTTLS offered (with the same certificate as Dovecot)
    user: str
    password: str
    cafile: Path
    received: list[ReceivedMail]  # appended to as messages arrive


def _missing(what: str) -> NoReturn:
    # A skip, which the conftest hook fails under CI=true: CI must run the mail tests.
    pytest.skip(f"needs {what}")


def _free_ports(count: int) -> list[int]:
    # Bound together so they differ; closed just before the server binds them (a tiny race,
    # acceptable on a test machine, and a lost race shows as a clear start-up failure).
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _run(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def mail_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA and a server certificate it signed, made once per run with the openssl command
    (a dependency of Dovecot's Debian package). A CA rather than one self-signed certificate:
    Python 3.13's default context is X509-strict, which rejects a CA certificate used as a leaf."""
    if shutil.which("openssl") is None:
        _missing("the openssl command (apt install openssl)")
    d = tmp_path_factory.mktemp("mail-tls")
    ca, ca_key = d / "ca.pem", d / "ca.key"
    cert, key, csr = d / "server.pem", d / "server.key", d / "server.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]  # fast to generate
    _run("openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "7",
         "-subj", "/CN=os1 test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _run("openssl", "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext = d / "server.ext"
    ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    _run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial", "1",
         "-days", "7", "-extfile", ext, "-out", cert)
    return TlsFiles(cafile=ca, certfile=cert, keyfile=key)


def _dovecot_binary() -> str | None:
    # /usr/sbin is not on an ordinary user's PATH.
    return shutil.which("dovecot", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin",
                                                         "/usr/local/sbin"]))


def _received_time(raw: bytes) -> float | None:
    date = email.message_from_bytes(raw, policy=email.policy.compat32)["Date"]
    try:
        return email.utils.parsedate_to_datetime(date).timestamp() if date else None
    except (TypeError, ValueError):
        return None


def _fill(folder: Path, messages: list[tuple[Path, str]], uid: int, gid: int) -> None:
    """Put messages into a Maildir folder in the order of their Date headers, which become
    their arrival time (Dovecot's INTERNALDATE is the file's mtime); Dovecot gives UIDs in
    file-name order, so names are numbered in that order too."""
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    if folder.name.startswith("."):  # a Maildir++ subfolder is marked by this file
        (folder / "maildirfolder").touch()
    dated = []
    for path, flags in messages:
        raw = path.read_bytes()
        dated.append((_received_time(raw) or path.stat().st_mtime, raw, flags))
    dated.sort(key=lambda m: m[0])
    for i, (when, raw, flags) in enumerate(dated):
        name = folder / "cur" / f"{int(when)}.M{i:06d}P1.os1-test,S={len(raw)}:2,{flags}"
        name.write_bytes(raw)
        os.utime(name, (when, when))
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, uid, gid)


def _wait_for_greeting(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"Dovecot exited ({proc.returncode}) while starting:\n{_show_log(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"Dovecot did not greet on 127.0.0.1:{port} in {START_TIMEOUT:.0f} s:\n"
                        f"{_show_log(log)}")
        time.sleep(0.05)


def _show_log(log: Path) -> str:
    parts = [p.read_text(errors="replace") for p in (log, log.with_suffix(".stderr")) if p.exists()]
    return "\n".join(parts) or "(Dovecot wrote no log)"


@pytest.fixture
def dovecot(mail_tls: TlsFiles) -> Iterator[ImapServer]:
    binary = _dovecot_binary()
    if binary is None:
        _missing("Dovecot (apt install dovecot-imapd; scripts/test installs it as root)")
    if not SPAMASSASSIN.is_dir():
        _missing(f"the SpamAssassin emails in {SPAMASSASSIN} (set OS1_SHARED_DATA)")
    corpus = sorted(SPAMASSASSIN.glob("*/cur/*"))

    # Not under pytest's tmp_path: that is private to its owner (0700), and as root Dovecot's
    # own processes run as other users that must reach the mailbox and the password file.
    root = Path(tempfile.mkdtemp(prefix="os1-dovecot-"))
    root.chmod(0o755)
    try:
        if os.geteuid() == 0:
            # Dovecot refuses mail access as uid 0 ("userdb returned 0 as uid") and login
            # processes as root, so as root (a container, CI) it uses its Debian system users
            # and the mail belongs to nobody.
            nobody = pwd.getpwnam("nobody")
            mail_uid, mail_gid = nobody.pw_uid, nobody.pw_gid
            internal = "dovecot" if _user_exists("dovecot") else "nobody"
            login = "dovenull" if _user_exists("dovenull") else "nobody"
        else:
            # As an ordinary user Dovecot cannot switch users: everything runs as that user.
            mail_uid, mail_gid = os.getuid(), os.getgid()
            internal = login = pwd.getpwuid(mail_uid).pw_name
        maildir, home = root / "Maildir", root / "home"
        home.mkdir()
        os.chown(home, mail_uid, mail_gid)
        _fill(maildir, [(p, CORPUS_FLAGS) for p in corpus]
              + [(p, PERSONAL_FLAGS.get(p.name, "")) for p in PERSONAL_INBOX], mail_uid, mail_gid)
        for name in FOLDERS:
            _fill(maildir / f".{name}", [(p, SENT_FLAGS) for p in PERSONAL_SENT] if name == "Sent" else [],
                  mail_uid, mail_gid)
        # Copied out of pytest's private tmp dir, so every path Dovecot uses is in this directory.
        shutil.copy(mail_tls.certfile, root / "server.pem")
        shutil.copy(mail_tls.keyfile, root / "server.key")
        passwd = root / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        passwd.chmod(0o644)  # read by the auth process, which runs as the internal user
        port, ssl_port = _free_ports(2)
        conf = root / "dovecot.conf"
        conf.write_text(_config(root, port, ssl_port, internal, login, mail_uid, mail_gid, maildir))
        log = root / "dovecot.log"

        with open(log.with_suffix(".stderr"), "wb") as stderr:
            # -F: stay in the foreground, so the fixture owns the process. Its own process group
            # (new session) holds Dovecot's children too, to stop them all at once.
            proc = subprocess.Popen([binary, "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                    stdout=stderr, stderr=stderr, start_new_session=True)
        try:
            _wait_for_greeting(proc, port, log)
            yield ImapServer(host="127.0.0.1", port=port, ssl_port=ssl_port, user=USER,
                             password=PASSWORD, cafile=mail_tls.cafile, maildir=maildir)
        finally:
            # SIGTERM to the group: a few ms. To the master alone it takes a second, which a
            # fixture run for every test cannot afford.
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _config(root: Path, port: int, ssl_port: int, internal: str, login: str, uid: int, gid: int,
            maildir: Path) -> str:
    """Dovecot 2.3 syntax (Debian bookworm); 2.4 renamed many settings."""
    mailboxes = "\n".join(f"  mailbox {name} {{\n    special_use = {use}\n    auto = subscribe\n  }}"
                          for name, use in FOLDERS.items())
    return f"""\
# Written by tests/mailservers.py for one test; nothing here reads /etc/dovecot.
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = os1-test-{port}
log_path = {root}/dovecot.log
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
# Dovecot's default (500) would refuse nobody's or a system user's mail.
first_valid_uid = {uid}

ssl = yes
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
# Loopback test server: allow LOGIN/AUTH without TLS too, so clients may try either way.
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password fails at once instead of after Dovecot's 2 s anti-guessing delay.
auth_failure_delay = 0

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home
}}
mail_location = maildir:{maildir}
namespace inbox {{
  inbox = yes
{mailboxes}
}}

service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {ssl_port}
    ssl = yes
  }}
  # No chroot: it needs root, and this server is a test's, on loopback.
  chroot =
}}
# Anvil's auth penalty slows down repeated wrong passwords, which tests make on purpose; and as
# root, the auth process (internal user) may not even open its socket. Off.
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


@pytest.fixture
def smtp_server(mail_tls: TlsFiles) -> Iterator[SmtpServer]:
    Controller = pytest.importorskip("aiosmtpd.controller").Controller  # in the test extra
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list[ReceivedMail] = []

    class Recorder:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            content = bytes(envelope.content)  # bytes as sent: the server does not decode them
            # Parsed with \n line ends, as the email package expects (CRLF would stay in the text).
            message = cast(EmailMessage, email.message_from_bytes(content.replace(b"\r\n", b"\n"),
                                                                  policy=email.policy.default))
            login = session.auth_data.login.decode() if session.authenticated else None
            received.append(ReceivedMail(mail_from=envelope.mail_from, rcpt_tos=tuple(envelope.rcpt_tos),
                                         content=content, message=message, login=login))
            return "250 Message accepted for delivery"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (mechanism in ("LOGIN", "PLAIN") and isinstance(auth_data, LoginPassword)
              and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode())
        # handled=False: aiosmtpd then answers a failure itself (535); by default it stays silent.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(mail_tls.certfile, mail_tls.keyfile)
    (port,) = _free_ports(1)
    # server_hostname: the default, socket.getfqdn(), can stall on a machine without DNS.
    controller = Controller(Recorder(), hostname="127.0.0.1", port=port, server_hostname="localhost",
                            authenticator=authenticator, auth_require_tls=False, auth_required=False,
                            tls_context=tls, require_starttls=False)
    controller.start()  # returns once the server answers
    try:
        yield SmtpServer(host="127.0.0.1", port=port, user=USER, password=PASSWORD,
                         cafile=mail_tls.cafile, received=received)
    finally:
        controller.stop()
