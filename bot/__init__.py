"""The Telegram adapter: Update → neutral input → consultations → Bot API calls; callback-data codec, runners, CLI."""
