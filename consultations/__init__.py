"""The application core, channel-agnostic: a participant's turn in a consultation, a consultation's life, staff."""
