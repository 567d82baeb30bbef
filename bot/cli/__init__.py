"""The command line (`python -m bot --help`): one module per command group, each adding its commands here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot import logs
from bot.cli import consultation, flows, notify, privacy, run, summary, users
from config.errors import VoicesError
from config.settings import get_settings

GROUPS = (run, consultation, summary, flows, privacy, notify, users)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Voices 8.7: private consultations with survivors and CSOs on Alliance 8.7 roadmaps.",
        epilog="Settings come from the environment and .env (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    logs.configure(settings.log_level, [settings.token])
    try:
        result: int = args.handler(args, settings)
        return result
    except VoicesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
