"""Run the sandbox alone: ``python -m sandbox --port 8080`` then point a bot at its /bot base URL."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aiohttp import web

from sandbox.app import RedactingAccessLogger, create_sandbox_app
from sandbox.emulator import SANDBOX_TOKEN, Emulator


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve the emulator and chat page until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (keep it local)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--token", default=SANDBOX_TOKEN, help="bot token the emulator accepts")
    parser.add_argument("--bot-username", default="voices87_sandbox_bot")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep the update and message id counters here across restarts"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    emulator = Emulator(token=args.token, bot_username=args.bot_username, state_dir=args.data_dir)
    print(f"Sandbox chat page: http://{args.host}:{args.port}/")
    print(f"Bot base_url:      http://{args.host}:{args.port}/bot")
    web.run_app(
        create_sandbox_app(emulator),
        host=args.host,
        port=args.port,
        print=None,
        access_log_class=RedactingAccessLogger,
    )


if __name__ == "__main__":
    main()
