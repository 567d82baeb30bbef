"""A seeded consultation for summary tests: deterministic answers to the shipped survivor flow."""

from __future__ import annotations

import random

from flows.describe import describe
from flows.loader import shipped_library
from storage import repository as repo
from storage.database import Database
from storage.models import ConversationSession
from storage.privacy import KeyRing, answer_context
from summaries.questionnaire import FlowLike

RING = KeyRing([("k1", bytes(range(32)))])
IDEAS = [
    "More shelters and safe houses for people who escape",
    "Train the police and labour inspectors to listen to survivors",
    "Schools must keep children away from work in the fields",
    "Give fair wages and check the recruitment agencies",
    "Shelters in every district, and legal help",
]


def flows(flow_id: str, version: int) -> FlowLike:
    return describe(shipped_library().get(flow_id, version))


async def seed(
    database: Database,
    code: str = "SEEDED1",
    *,
    people: int = 60,
    seed: int = 87,
    flow_id: str = "roadmap_feedback",
    min_cell: int = 10,
    start: int = 0,
    create: bool = True,
) -> None:
    """`people` respondents (numbered from `start`) answering the flow with a fixed random pattern."""
    flow = shipped_library().latest(flow_id)
    rng = random.Random(seed + start)
    async with database.transaction() as session:
        if create:
            consultation = await repo.create_consultation(
                session,
                code=code,
                title="Kenya roadmap consultation",
                country="KE",
                flow_id=flow.id,
                flow_version=flow.version,
                languages=list(flow.languages),
                default_language="en",
                organisation="Example CSO",
            )
            consultation.min_cell = min_cell
            consultation.cycle_year = 2026
            session.add(consultation)
            await session.flush()
        else:
            found = await repo.consultation_by_code(session, code)
            if found is None:
                raise LookupError(code)
            consultation = found
        cid = consultation.id
        if cid is None:
            raise LookupError(code)
        for index in range(start, start + people):
            pseudonym = f"{code}{index:0{min(58, 64 - len(code))}d}"  # at most 64 characters, as stored
            participant = await repo.get_or_create_participant(session, pseudonym, "en")
            if participant.id is None:
                raise LookupError(index)
            row = await repo.save_session(
                session,
                ConversationSession(
                    participant_id=participant.id,
                    consultation_id=cid,
                    flow_id=flow.id,
                    flow_version=flow.version,
                    state="thanks",
                    status="completed",
                    language="en",
                    started_at=repo.now(),
                    updated_at=repo.now(),
                ),
            )
            await repo.record_consent(session, participant.id, cid, "consent-v1")
            stop_after = rng.choice([99, 99, 99, 99, 3, 5])
            for position, step in enumerate(flow.steps):
                if position > stop_after:
                    break
                context = answer_context(cid, participant.id, row.id or 0, step.id)
                value = _answer(rng, step.type, [o.code for o in step.options], step.id, context)
                if value is not None:
                    await repo.upsert_answer(session, row, value)


def _answer(rng: random.Random, kind: str, options: list[str], question: str, context: str) -> repo.AnswerValue | None:
    if kind in ("consent", "end", "note", "section", "calculate", "acknowledge"):
        return None
    if rng.random() < 0.08:
        return repo.AnswerValue(question, skipped=True)
    if kind == "age_gate":
        return repo.AnswerValue(question, codes=(rng.choice(["18_24", "25_34", "25_34", "35_49", "50_plus"]),))
    if kind in ("single_choice",):
        weights = [len(options) - i for i in range(len(options))]
        return repo.AnswerValue(question, codes=(rng.choices(options, weights)[0],))
    if kind == "multiple_choice":
        chosen = [o for o in options if rng.random() < 0.4] or [options[0]]
        return repo.AnswerValue(question, codes=tuple(chosen))
    if kind == "free_text":
        cipher, key_id = RING.encrypt(rng.choice(IDEAS), context)
        return repo.AnswerValue(question, text_cipher=cipher, key_id=key_id)
    return None
