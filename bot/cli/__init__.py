"""The command line (`python -m bot --help`): one module per command group, each adding its commands here."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot import logs
from bot.cli import consultation, flows, notify, privacy, quotes, run, summary, users
from config.errors import VoicesError
from config.settings import Settings, get_settings
from storage.database import explain as explain_database_error

log = logging.getLogger(__name__)

GROUPS = (run, consultation, summary, quotes, flows, privacy, notify, users)


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
    """Run one command. Whatever fails, the operator gets one line saying what to do, never a traceback
    (`VOICES_LOG_LEVEL=DEBUG` logs the details, without personal data)."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        for problem in exc.errors():
            name = str(problem.get("loc", ("?",))[0])
            print(f"error: setting {name}: {problem.get('msg', 'invalid')} (see README, 'Settings')", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, [settings.token])
    try:
        result: int = args.handler(args, settings)
    except VoicesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()  # `python -m bot summary CODE | head`: the reader has all it wanted
        return 0
    except Exception as exc:
        print(f"error: {_explain(exc, settings)}", file=sys.stderr)
        log.debug("command failed", exc_info=exc)
        return 1
    sys.stdout.flush()
    return result


def _explain(error: Exception, settings: Settings) -> str:
    """One line for an unexpected failure: what went wrong and what to do."""
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return (
            f"a port is already in use ({error.strerror or error}): is another `make run` or bot running? Stop it, "
            "or choose other ports with VOICES_SANDBOX_PORT / VOICES_WEBHOOK_PORT"
        )
    described = explain_database_error(error, settings.sqlalchemy_url)
    if described:
        return described
    return (
        f"unexpected {type(error).__name__}; nothing was lost. Run again with VOICES_LOG_LEVEL=DEBUG for details, "
        "or report it"
    )


def _quiet_broken_pipe() -> None:
    """Point stdout at /dev/null so Python's shutdown flush does not fail again on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
