"""Tests of the dashboard through aiohttp's test client (and, in tests/browser, in Chromium)."""
