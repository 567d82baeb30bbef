"""The web dashboard (aiohttp): staff sign in, run consultations and invites; reviewers read publications."""
