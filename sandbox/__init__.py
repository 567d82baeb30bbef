"""Sandbox: a local Telegram Bot API emulator and web chat page for developing and testing the bot."""

from sandbox.app import EMULATOR_KEY, create_sandbox_app
from sandbox.emulator import (
    ApiError,
    CallbackAnswer,
    Emulator,
    SandboxError,
    SandboxMessage,
    SandboxUser,
)

__all__ = [
    "EMULATOR_KEY",
    "ApiError",
    "CallbackAnswer",
    "Emulator",
    "SandboxError",
    "SandboxMessage",
    "SandboxUser",
    "create_sandbox_app",
]
