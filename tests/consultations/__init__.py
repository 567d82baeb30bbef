"""Tests of the channel-agnostic core: consultations driven with neutral inputs, no Telegram at all."""
