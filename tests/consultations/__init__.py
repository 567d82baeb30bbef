"""Tests of the application core (consultations/)."""
