"""Development tool: a local Telegram Bot API emulator (only what the bot uses) and a web chat page."""

from pathlib import Path

from sandbox.app import create_sandbox_app
from sandbox.clock import Clock, FakeClock, SystemClock
from sandbox.emulator import Emulator
from sandbox.faults import NoResponse, ServerError, TooManyRequests
from sandbox.models import ApiError, CallbackAnswer, SandboxError, SandboxMessage, SandboxUser
from sandbox.page import EMULATOR_KEY

EXAMPLE_HELP_RESOURCES = Path(__file__).resolve().parent / "example_help_resources.yaml"
"""Clearly fake help contacts, so /help can be tried in the sandbox; never loaded outside it."""

__all__ = [
    "EMULATOR_KEY",
    "EXAMPLE_HELP_RESOURCES",
    "ApiError",
    "CallbackAnswer",
    "Clock",
    "Emulator",
    "FakeClock",
    "NoResponse",
    "SandboxError",
    "SandboxMessage",
    "SandboxUser",
    "ServerError",
    "SystemClock",
    "TooManyRequests",
    "create_sandbox_app",
]
