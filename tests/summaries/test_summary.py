"""Per-question counts: small counts are hidden, percentages and numbers follow the reader's locale."""

from __future__ import annotations

import asyncio
from pathlib import Path

from summaries.counts import consultation_counts, share, shown

from storage import repository as repo
from storage.database import Database
from storage.migrate import upgrade
from storage.models import ConversationSession
from tests.bot.test_cli import cli


async def fill(url: str) -> None:
    database = Database(url)
    await upgrade(database)
    async with database.transaction() as session:
        consultation = await repo.create_consultation(
            session,
            code="SUMMARY1",
            title="Summary",
            country="KE",
            flow_id="roadmap_feedback",
            flow_version=1,
            languages=["en", "fr"],
            default_language="en",
        )
        assert consultation.id is not None
        for index, group in enumerate(["survivor"] * 6 + ["other"] * 2 + [None]):
            participant = await repo.get_or_create_participant(session, f"{index:064x}", "en")
            assert participant.id is not None
            row = await repo.save_session(
                session,
                ConversationSession(
                    participant_id=participant.id,
                    consultation_id=consultation.id,
                    flow_id="roadmap_feedback",
                    flow_version=1,
                    state="thanks",
                    status="completed",
                    language="en",
                    started_at=repo.now(),
                    updated_at=repo.now(),
                ),
            )
            await repo.record_consent(session, participant.id, consultation.id, "consent-v1")
            value = repo.AnswerValue("group", codes=(group,)) if group else repo.AnswerValue("group", skipped=True)
            await repo.upsert_answer(session, row, value)
    counts = await consultation_counts(database, "SUMMARY1")
    await database.dispose()
    assert counts is not None and counts.respondents == 9
    assert counts.questions["group"].options == {"survivor": 6, "other": 2}
    assert counts.questions["group"].skipped == 1


def test_shown_and_share_follow_the_locale() -> None:
    assert [shown(n) for n in (0, 1, 4, 5, 12345)] == ["0", "<5", "<5", "5", "12345"]
    assert shown(12345, locale="en") == "12,345" and shown(12345, locale="fr") == "12\u202f345"
    assert shown(3, locale="ar") == "<5"
    assert share(6, 8, "en") == "75%" and share(6, 8, "fr") == "75\u00a0%"
    assert share(2, 8, "en") == "" and share(6, 4, "en") == ""


def test_summary_command_hides_small_counts_in_the_readers_language(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'summary.db'}"
    asyncio.run(fill(url))
    result = cli(tmp_path, "summary", "SUMMARY1", "--language", "fr", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Respondents: 9" in result.stdout
    survivor = next(line for line in lines if "Une personne qui l’a vécu" in line)
    assert " 6 " in survivor and "75\u00a0%" in survivor
    other = next(line for line in lines if "Autre" in line)
    assert "<5" in other and "%" not in other
    group = next(line for line in lines if line.startswith("group"))
    assert "survivor_inclusion" in group and " 8 " in group and "<5" in group
