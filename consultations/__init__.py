"""The application core, channel-agnostic: one participant's turn in a consultation, and a consultation's life."""
