"""``os1 user``: the people this os1 serves, each with their own companion.

With no user, os1 serves one person on this computer (no login). Once one is
added, ``os1 serve`` asks everyone to log in, and each person's conversations,
memory, reminders and mail are theirs alone.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import Any

from os1.accounts import Accounts, accounts_where, check_name
from os1.config import Settings
from os1.errors import ConfigError


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "user", help="accounts: the people this os1 serves (login on the web page)",
        description="Add, list and remove the people this os1 serves. Once there is one, os1 serve "
        "asks everyone to log in; each person has their own companion, memory, reminders and mail. "
        "API clients use a token of their own (os1 user token NAME).",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = verbs.add_parser("add", parents=[common], help="add a person (asks for their password)")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    verbs.add_parser("list", parents=[common], help="the people and how many API tokens each has")
    remove = verbs.add_parser("remove", parents=[common], help="remove a person and everything os1 keeps of them")
    remove.add_argument("name")
    remove.add_argument("--yes", action="store_true", help="do not ask to confirm")
    reset = verbs.add_parser("reset-password", parents=[common], help="a new password (their logins end)")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    token = verbs.add_parser("token", parents=[common], help="a new API token for their OpenAI-compatible clients")
    token.add_argument("name")
    token.add_argument("--label", default="", help="what the token is for (shown in the list)")
    token.add_argument("--revoke", action="store_true", help="instead revoke every token of theirs")
    p.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    accounts = Accounts(accounts_where(settings))
    try:
        return _VERBS[args.verb](settings, accounts, args)
    finally:
        accounts.close()


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ConfigError("The two passwords differ; nothing was changed.")
    return first


def _add(settings: Settings, accounts: Accounts, args: argparse.Namespace) -> int:
    name = check_name(args.name)
    if accounts.exists(name):
        raise ConfigError(f"There is already a user {name!r}.")
    first = not accounts.any()
    accounts.add(name, _password(args))
    print(f"Added {name}.")
    if first:
        print("os1 serve now asks everyone to log in (restart it if it is running).")
    return 0


def _list(settings: Settings, accounts: Accounts, args: argparse.Namespace) -> int:
    people = accounts.people()
    if not people:
        print(f"No users: os1 serves one person ({settings.user}) without a login. `os1 user add NAME` adds one.")
        return 0
    for person in people:
        since = time.strftime("%Y-%m-%d", time.localtime(person.created_at))
        tokens = f"{person.tokens} API token{'s' if person.tokens != 1 else ''}" if person.tokens else ""
        print(f"{person.name:<20} since {since}  {tokens}".rstrip())
    return 0


def _remove(settings: Settings, accounts: Accounts, args: argparse.Namespace) -> int:
    from os1.runtime import forget_person

    name = args.name
    if not accounts.exists(name):
        raise ConfigError(f"There is no user {name!r}.")
    if not args.yes:
        answer = input(f"Remove {name} and everything os1 keeps of them (memory, reminders, mail)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was removed.")
            return 1
    accounts.remove(name)
    gone = forget_person(settings, name)
    print(f"Removed {name} and {gone} records of theirs.")
    return 0


def _reset(settings: Settings, accounts: Accounts, args: argparse.Namespace) -> int:
    if not accounts.exists(args.name):
        raise ConfigError(f"There is no user {args.name!r}.")
    accounts.reset_password(args.name, _password(args))
    print(f"{args.name}'s password is changed; their logins have ended.")
    return 0


def _token(settings: Settings, accounts: Accounts, args: argparse.Namespace) -> int:
    if args.revoke:
        print(f"Revoked {accounts.revoke_tokens(args.name)} token(s) of {args.name}.")
        return 0
    print(accounts.new_token(args.name, args.label))
    print(f"(Shown once. {args.name}'s clients send it as: Authorization: Bearer <token>)", file=sys.stderr)
    return 0


_VERBS = {"add": _add, "list": _list, "remove": _remove, "reset-password": _reset, "token": _token}
