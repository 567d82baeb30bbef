"""bench/imports.py works: one round prints a row per set of libraries, each read off a fresh interpreter.
Not a timed or sized assertion: the figures are the benchmark's business (bench/README.md)."""

from __future__ import annotations

import re

import pytest

from bench import imports


def test_one_round_prints_a_row_for_each_set_of_libraries(capsys: pytest.CaptureFixture[str]) -> None:
    imports.main(["--rounds", "1", "--no-readme"])
    printed = capsys.readouterr().out
    rows = re.findall(r"^\| (.+?) \| ([\d.]+) \| ([+-][\d.]+) \|$", printed, re.MULTILINE)
    assert [label for label, _, _ in rows] == [label for label, _ in imports.STAGES]
    peaks = [float(peak) for _, peak, _ in rows]
    assert all(peak > 0 for peak in peaks)
    assert peaks[-1] > peaks[0]  # the whole run's libraries weigh more than the bare interpreter
    assert "results written" not in printed
