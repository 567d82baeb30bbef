"""Tests of the sandbox Bot API emulator and its web chat page."""
