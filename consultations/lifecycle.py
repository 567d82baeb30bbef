"""A consultation's life: open it on a flow, list them, close one, move it to a newer flow version.

Every function checks what it is given and raises ConsultationError with what to do; the CLI (and later the
dashboard) only parses, calls and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from babel import Locale

from config.errors import ConsultationError
from flows.loader import FlowLibrary
from storage import repository as repo
from storage.database import Database
from storage.models import Consultation


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166 alpha-2 country codes (from CLDR, via babel's English locale data), read when first needed:
    about 6 MB that a worker answering participants never needs."""
    return frozenset(str(code) for code in Locale("en").territories if str(code).isalpha() and len(str(code)) == 2)


@dataclass(frozen=True)
class NewConsultation:
    """A consultation checked and ready to open (see `plan`)."""

    title: str
    country: str
    flow_id: str
    flow_version: int
    languages: tuple[str, ...]
    default_language: str
    organisation: str | None = None
    contact: str | None = None
    retention_days: int = 180
    min_cell: int = repo.DEFAULT_MIN_CELL
    kind: str = "roadmap"
    cycle_year: int | None = None


@dataclass(frozen=True)
class Opened:
    """A consultation just opened: its invite code, and what it runs."""

    code: str
    plan: NewConsultation


@dataclass(frozen=True)
class Listed:
    """One consultation in the list, with its number of respondents (people who consented)."""

    consultation: Consultation
    respondents: int


@dataclass(frozen=True)
class Upgraded:
    code: str
    flow_id: str
    previous_version: int
    version: int


def plan(
    library: FlowLibrary,
    *,
    flow_id: str,
    country: str,
    title: str,
    languages: Sequence[str] | None = None,
    organisation: str | None = None,
    contact: str | None = None,
    retention_days: int = 180,
    min_cell: int = repo.DEFAULT_MIN_CELL,
    kind: str = "roadmap",
    cycle_year: int | None = None,
) -> NewConsultation:
    """Check a new consultation on the latest version of a flow, in some (default: all) of its languages,
    before anything is stored."""
    flow = library.latest(flow_id)
    if country.strip().upper() not in country_codes():
        raise ConsultationError(f"{country!r} is not an ISO 3166 alpha-2 country code (e.g. KE, PE, NG)")
    chosen = [x.strip() for x in languages if x.strip()] if languages is not None else list(flow.languages)
    unknown = [x for x in chosen if x not in flow.languages]
    if unknown or not chosen:
        raise ConsultationError(
            f"flow {flow.id} has no text in {', '.join(unknown) or '(none)'}; it offers {', '.join(flow.languages)}"
        )
    problem = repo.consultation_problem(title, retention_days, min_cell, kind)
    if problem is not None:
        raise ConsultationError(problem)
    default = flow.default_language if flow.default_language in chosen else chosen[0]
    return NewConsultation(
        title=title.strip(),
        country=country.strip().upper(),
        flow_id=flow.id,
        flow_version=flow.version,
        languages=tuple(chosen),
        default_language=default,
        organisation=organisation,
        contact=contact,
        retention_days=retention_days,
        min_cell=min_cell,
        kind=kind,
        cycle_year=cycle_year or repo.today().year,
    )


async def open_consultation(database: Database, new: NewConsultation, *, code: str | None = None) -> Opened:
    """Store a planned consultation (with a generated invite code unless one is given)."""
    async with database.transaction() as session:
        consultation = await repo.create_consultation(
            session,
            code=code,
            title=new.title,
            country=new.country,
            flow_id=new.flow_id,
            flow_version=new.flow_version,
            languages=new.languages,
            default_language=new.default_language,
            organisation=new.organisation,
            contact=new.contact,
            retention_days=new.retention_days,
            min_cell=new.min_cell,
            kind=new.kind,
            cycle_year=new.cycle_year,
        )
    return Opened(consultation.code, new)


async def ensure_consultation(
    database: Database, library: FlowLibrary, *, code: str, flow_id: str, country: str, title: str, organisation: str
) -> str:
    """The consultation with this code, opened on the flow's latest version if it does not exist yet (the
    sandbox's demo consultation)."""
    async with database.reader() as session:
        if await repo.consultation_by_code(session, code) is not None:
            return code.upper()
    new = plan(library, flow_id=flow_id, country=country, title=title, organisation=organisation)
    return (await open_consultation(database, new, code=code)).code


async def list_consultations(database: Database) -> list[Listed]:
    """Every consultation, newest first, with its number of respondents."""
    async with database.reader() as session:
        rows = await repo.list_consultations(session)
    return [Listed(consultation, respondents) for consultation, respondents in rows]


async def close_consultation(database: Database, code: str) -> Consultation:
    """Stop taking answers: invites stop working; people answering are told it has closed (the exit still works)."""
    async with database.transaction() as session:
        consultation = await repo.consultation_by_code(session, code)
        if consultation is None:
            raise ConsultationError(f"no consultation with code {code!r}")
        await repo.close_consultation(session, consultation)
        return consultation


async def upgrade_flow(database: Database, library: FlowLibrary, code: str, version: int | None = None) -> Upgraded:
    """New participants get a newer version of the consultation's flow (the latest unless `version` is given);
    people already answering finish on the version they started."""
    async with database.transaction() as session:
        consultation = await repo.consultation_by_code(session, code)
        if consultation is None:
            raise ConsultationError(f"no consultation with code {code!r}")
        flow = library.get(consultation.flow_id, version) if version else library.latest(consultation.flow_id)
        missing = [lang for lang in consultation.language_list if lang not in flow.languages]
        if missing:
            raise ConsultationError(f"flow {flow.id} v{flow.version} has no text in {', '.join(missing)}")
        previous = consultation.flow_version
        await repo.set_flow_version(session, consultation, flow.version)
        return Upgraded(consultation.code, flow.id, previous, flow.version)
