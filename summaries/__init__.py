"""Answers -> consultation summaries: disclosure control and its auditor, publications, reports in every format."""
