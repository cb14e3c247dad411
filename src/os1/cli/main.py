"""Entry point: ``os1 chat | talk | serve | user | memory | mail | actions | bench | setup``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from os1 import __version__
from os1.config import LOCAL_MODELS, load_settings
from os1.errors import Os1Error

EPILOG = """\
environment:
  OS1_HOME          data directory (default: ~/.local/share/os1)
  OS1_LLM           model: qwen2.5-1.5b (default), qwen2.5-0.5b, or the base URL of an
                    OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1 (Ollama)
  OS1_LLM_MODEL     model name to request from that server
  OS1_LLM_API_KEY   API key for that server, if it needs one
  OS1_NAME          the companion's name
  OS1_TTS           voice: piper (default), a Piper .onnx voice, or an OpenAI-compatible URL
  OS1_ASR           ears: whisper-base (default) or an OpenAI-compatible URL
  OS1_CONFIG        config file (default: $OS1_HOME/config.toml)
  OS1_TOKEN         access token for os1 serve (one person; with accounts: os1 user token)
  OS1_DATABASE_URL  keep memory in PostgreSQL (postgresql://...) instead of the SQLite file
"""


def build_parser() -> argparse.ArgumentParser:
    from os1.cli import actions, bench, chat, mail, memory, reach, serve, setup, talk, user

    parser = argparse.ArgumentParser(
        prog="os1",
        description="os1: a private AI companion you talk to, running on your own computer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"os1 {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("--home", metavar="DIR", help="data directory (env OS1_HOME)")
    group.add_argument("--config", metavar="FILE", help="config file (env OS1_CONFIG)")
    group.add_argument(
        "--llm", metavar="MODEL",
        help=f"{' | '.join(LOCAL_MODELS)} | URL of an OpenAI-compatible server (env OS1_LLM)",
    )
    group.add_argument("--name", metavar="NAME", help="the companion's name (env OS1_NAME)")
    group.add_argument("--user", metavar="USER", help="whose memory to use (env OS1_USER)")
    group.add_argument("--timezone", metavar="ZONE",
                       help="your time zone, e.g. Europe/Berlin (env OS1_TIMEZONE; default: this computer's)")
    group.add_argument("--quiet-hours", metavar="HH:MM-HH:MM",
                       help="hours os1 never reaches out in, e.g. 22:00-08:00 (env OS1_QUIET_HOURS)")
    group.add_argument("-v", "--verbose", action="store_true", help="log what happens inside")

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (chat, talk, serve, user, memory, mail, actions, reach, bench, setup):
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(
            {k: getattr(args, k, None) for k in ("home", "config", "llm", "name", "user",
                                                "timezone", "quiet_hours")}
        )
        return int(args.run(settings, args) or 0)
    except Os1Error as exc:
        print(f"os1: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
