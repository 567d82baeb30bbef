"""Aggregation of answers into consultation summaries, with disclosure control on every figure shown."""
