"""``os1 mail``: add an email account, sync it, see its triage, search it."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import Any

from os1.config import Settings
from os1.errors import ConfigError
from os1.mail.store import Account, MailStore, StoredMail
from os1.runtime import mail_where

#: Messages `triage` lists without --all.
RECENT = 25
_DEFAULT_PORTS = {("imap", "ssl"): 993, ("imap", "starttls"): 143, ("imap", "none"): 143,
                  ("smtp", "ssl"): 465, ("smtp", "starttls"): 587, ("smtp", "none"): 25}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "mail", help="add an email account, sync it, see its triage, search it",
        description="os1 reads your mail (IMAP) into its own store, sorts it (urgent, needs "
        "reply, FYI, newsletter, spam) and, in conversation, answers what needs answering: "
        "every message it would send or change waits for your yes.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", parents=[common], help="add an account (asks for what it needs)",
        description="Add an IMAP/SMTP account. The password is never written by os1: it is read "
        "from --password-env VAR when given, otherwise asked for once and kept in the system "
        "keyring.")
    add.add_argument("--address", help="your email address")
    add.add_argument("--account", help="a short name for the account (default: the address)")
    add.add_argument("--username", help="login name (default: the address)")
    add.add_argument("--imap-host")
    add.add_argument("--imap-port", type=int)
    add.add_argument("--imap-security", choices=("ssl", "starttls", "none"))
    add.add_argument("--smtp-host")
    add.add_argument("--smtp-port", type=int)
    add.add_argument("--smtp-security", choices=("ssl", "starttls", "none"))
    add.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    add.add_argument("--ca-file", help="a certificate to trust (a self-hosted server)")
    add.add_argument("--no-check", action="store_true", help="do not log in to check it")
    add.set_defaults(run=_add)
    sy = actions.add_parser("sync", parents=[common], help="fetch new mail (resumes where it stopped)")
    sy.add_argument("--account", help="which account (default: all)")
    sy.set_defaults(run=_sync)
    tr = actions.add_parser("triage", parents=[common], help="the inbox, each message with its label and why")
    tr.add_argument("--all", action="store_true", help=f"every message (default: the newest {RECENT})")
    tr.add_argument("--label", help="only this label (urgent, needs reply, FYI, newsletter, spam)")
    tr.set_defaults(run=_triage)
    se = actions.add_parser("search", parents=[common], help="search your mail by its words")
    se.add_argument("query", nargs="+")
    se.add_argument("--limit", type=int, default=10)
    se.set_defaults(run=_search)


def _store(settings: Settings) -> MailStore:
    return MailStore(mail_where(settings), settings.user)


def _ask(prompt: str, default: str | None = None) -> str:
    if not sys.stdin.isatty():
        if default is None:
            raise ConfigError(f"os1 mail add needs {prompt.lower()} (give it as an option).")
        return default
    shown = f" [{default}]" if default else ""
    value = input(f"{prompt}{shown}: ").strip()
    return value or default or _ask(prompt, default)


def _add(settings: Settings, args: argparse.Namespace) -> int:
    from os1.mail import client

    address = args.address or _ask("Email address")
    domain = address.rpartition("@")[2]
    imap_security = args.imap_security or _ask("IMAP security (ssl, starttls, none)", "ssl")
    smtp_security = args.smtp_security or _ask("SMTP security (ssl, starttls, none)", "starttls")
    account = Account(
        0, args.account or address, address, args.username or address,
        args.imap_host or _ask("IMAP server", f"imap.{domain}"),
        args.imap_port or _DEFAULT_PORTS[("imap", imap_security)], imap_security,  # type: ignore[arg-type]
        args.smtp_host or _ask("SMTP server", f"smtp.{domain}"),
        args.smtp_port or _DEFAULT_PORTS[("smtp", smtp_security)], smtp_security,  # type: ignore[arg-type]
        args.password_env, args.ca_file)
    for host, security in ((account.imap_host, imap_security), (account.smtp_host, smtp_security)):
        if security == "none" and host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(f"{host} is not this computer: os1 sends passwords only over TLS "
                              "(ssl or starttls).")
    if not args.password_env:
        secret = getpass.getpass(f"Password for {account.username}: ")
        try:
            import keyring

            keyring.set_password(client.KEYRING_SERVICE, client.keyring_key(settings.user, account.name), secret)
        except Exception as exc:  # noqa: BLE001 - no usable keyring on this computer
            raise ConfigError(f"This computer has no usable keyring ({exc}); give the password in an "
                              "environment variable instead: --password-env VAR.") from exc
    store = _store(settings)
    try:
        if not args.no_check:
            with client.imap(account, settings.user):
                pass
            print(f"Logged in to {account.imap_host}.")
        saved = store.add_account(account)
    finally:
        store.close()
    print(f"Added {saved.name}. `os1 mail sync` fetches its mail; then ask os1 about it.")
    return 0


def _sync(settings: Settings, args: argparse.Namespace) -> int:
    from os1.mail import client

    store = _store(settings)
    try:
        accounts = [a for a in store.accounts() if args.account in (None, a.name, a.address)]
        if not accounts:
            print("No email account yet: `os1 mail add` adds one.")
            return 1
        for account in accounts:
            def progress(folder: str, done: int, total: int) -> None:
                print(f"\r{account.name} {folder}: {done}/{total}", end="", flush=True)

            report = client.sync(store, account, progress=progress)
            print(f"\r{account.name}: {report.new} new message(s) in {', '.join(report.folders)}.")
            for skipped in report.skipped:
                print(f"  skipped {skipped}")
        indexed = 0
        while written := store.embed_pending():  # search by sense as well as by words
            indexed += written
            print(f"\rindexed {indexed} message(s) for search", end="", flush=True)
        if indexed:
            print()
    finally:
        store.close()
    return 0


def _line(m: StoredMail) -> str:
    when = time.strftime("%Y-%m-%d", time.localtime(m.date)) if m.date else "----------"
    return f"{when}  {m.label or '-':<11} {m.sender_label[:40]:<40}  {m.subject[:60]}"


def _triage(settings: Settings, args: argparse.Namespace) -> int:
    store = _store(settings)
    try:
        mails = store.mails(folder="INBOX", labels=(args.label,) if args.label else None,
                            limit=1_000_000 if args.all else RECENT)
    finally:
        store.close()
    if not mails:
        print("No mail yet: `os1 mail add`, then `os1 mail sync`.")
    for m in mails:
        print(_line(m))
        print(f"{'':12}{m.reason}")
    return 0


def _search(settings: Settings, args: argparse.Namespace) -> int:
    store = _store(settings)
    try:
        hits = store.search(" ".join(args.query), limit=args.limit)
    finally:
        store.close()
    if not hits:
        print("Nothing matches.")
    for m in hits:
        print(_line(m))
        snippet = " ".join(m.text.split())[:160]
        print(f"{'':12}{snippet}")
    return 0
