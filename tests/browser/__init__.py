"""Browser tests: the dashboard and the sandbox chat page in real headless Chromium (Debian's), via Playwright."""
