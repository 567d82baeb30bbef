"""The application core, channel-agnostic: consultations, participants' turns, staff accounts (no Telegram or SQL)."""
