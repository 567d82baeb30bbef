"""Golden reports for a seeded consultation: HTML, CSV and JSON as reviewers get them, byte for byte; the PDF is
rendered and its text read back. `UPDATE_GOLDEN=1 pytest tests/summaries/test_golden.py` rewrites the files
(then read the diff before committing it)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from storage.database import Database
from summaries import publications
from summaries.audit import audit
from summaries.model import Summary
from summaries.readers import read_file
from summaries.render import render
from summaries.report import build_report
from tests.summaries.seed import RING, flows, seed

GOLDEN = Path(__file__).parent / "golden"
CASES = [("html", "en"), ("html", "ar"), ("csv", "fr"), ("json", "en"), ("md", "es")]


@pytest.fixture
async def published(sqlite_database: Database) -> Summary:
    await seed(sqlite_database, "GOLDEN1", people=70)
    made = await publications.publish(sqlite_database, "GOLDEN1", flows, keys=RING)
    made.consultation.opened_on = "2026-03-02"  # fixed dates: the files must not change with the calendar
    made.made_on = "2026-04-15"
    return made


@pytest.mark.parametrize(("fmt", "lang"), CASES, ids=[f"{f}-{lang}" for f, lang in CASES])
async def test_golden_report(published: Summary, fmt: str, lang: str, tmp_path: Path) -> None:
    data = render(build_report(published, lang), fmt)
    expected = GOLDEN / f"seeded.{lang}.{fmt}"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_bytes(data)
    assert data.decode() == expected.read_text(encoding="utf-8"), f"{expected.name} differs (UPDATE_GOLDEN=1 rewrites)"
    if fmt in ("html", "csv", "json"):
        assert audit([read_file(expected).tables], exact=True).safe
    if fmt == "json":  # the questions asked in order, as the auditor of a published file reads them
        assert published.tables.ordered and read_file(expected).tables.ordered == published.tables.ordered
        assert Summary.from_json(published.to_json()).tables.ordered == published.tables.ordered


async def test_pdf_has_the_report_text(published: Summary) -> None:
    data = render(build_report(published, "fr"), "pdf")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert data.startswith(b"%PDF") and len(reader.pages) >= 3
    for words in ("Kenya roadmap consultation", "Méthodologie", "Vue du cadre de responsabilité", "Quel âge avez-vous"):
        assert words in text, words
    assert "masqué" in text  # hidden cells say so, in the reader's language
