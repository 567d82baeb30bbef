"""Telegram adapter: the python-telegram-bot Application, thin handlers, runners, the CLI and the sandbox."""
