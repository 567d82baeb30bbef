"""What facilitators do with their organisation's consultations: create (questionnaire, country, kind and cycle,
languages, schedule, k, retention, contact, help contacts), change, open, close; invites per channel; reviewer
access. Every step is checked against the person's organisation and recorded in the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from babel import Locale
from pydantic import ValidationError

from config.help_resources import ResourceEntry, stored_entries
from config.i18n import N_
from consultations.questionnaires import Questionnaire, Questionnaires
from consultations.refusal import NotFound, Refusal, Refusals
from consultations.staff import Role, Staff
from storage import accounts, audit, invites, schedule
from storage import repository as repo
from storage.database import Database, DbSession
from storage.models import Consultation, Invite, ReviewerGrant

PATHFINDER_COUNTRIES = ("AR", "BR", "CD", "FJ", "KE", "MR", "NG", "PE", "UG")
"""Pathfinder countries our sources name (MISSION.md and the Alliance 8.7 pages it draws on), listed first in the
country choice; the Alliance's own page has the current list, and any ISO 3166 code is accepted."""
_NOT_COUNTRIES = {"EU", "EZ", "QO", "UN", "ZZ", "XA", "XB"}


@cache
def country_codes() -> frozenset[str]:
    """The codes offered (babel's English locale data, read when first needed: not at a worker's start)."""
    return (
        frozenset(str(code) for code in Locale("en").territories if str(code).isalpha() and len(str(code)) == 2)
        - _NOT_COUNTRIES
    )


KINDS = ("roadmap", "progress_report")
MIN_K = 5
DEFAULT_K = 10
MAX_HELP_ENTRIES = 3
MAX_RETENTION_DAYS = repo.MAX_RETENTION_DAYS


def countries(language: str) -> list[tuple[str, str, bool]]:
    """(code, name in `language`, is a Pathfinder country): Pathfinder countries first, then every other one,
    each group by name."""
    try:
        names = Locale.parse(language).territories
    except (ValueError, TypeError):
        names = Locale("en").territories
    rows = [(code, str(names.get(code, code)), code in PATHFINDER_COUNTRIES) for code in country_codes()]
    return sorted(rows, key=lambda row: (not row[2], row[1].casefold()))


@dataclass
class HelpEntryForm:
    name: str = ""
    phone: str = ""
    url: str = ""
    hours: str = ""
    note: str = ""

    @property
    def blank(self) -> bool:
        return not any(x.strip() for x in (self.name, self.phone, self.url, self.hours, self.note))


@dataclass
class ConsultationForm:
    """A consultation's settings as typed into the form (strings), checked by `Facilitation.create`/`change`."""

    title: str = ""
    questionnaire: str = ""  # "flow_id:version"
    country: str = ""
    kind: str = "roadmap"
    cycle_year: str = ""
    languages: list[str] = field(default_factory=list)
    default_language: str = ""
    opens_at: str = ""  # datetime-local, UTC; empty: open now
    closes_at: str = ""
    min_cell: str = str(DEFAULT_K)
    retention_days: str = "180"
    contact: str = ""
    help: list[HelpEntryForm] = field(default_factory=list)

    @classmethod
    def of(cls, consultation: Consultation) -> ConsultationForm:
        entries = [
            HelpEntryForm(
                name=next(iter(e.name.values()), ""),
                phone=e.phone or "",
                url=e.url or "",
                hours=next(iter(e.hours.values()), ""),
                note=next(iter(e.note.values()), ""),
            )
            for e in help_entries(consultation)
        ]
        return cls(
            title=consultation.title,
            questionnaire=f"{consultation.flow_id}:{consultation.flow_version}",
            country=consultation.country,
            kind=consultation.kind,
            cycle_year=str(consultation.cycle_year or ""),
            languages=consultation.language_list,
            default_language=consultation.default_language,
            opens_at=_local(consultation.opens_at),
            closes_at=_local(consultation.closes_at),
            min_cell=str(consultation.min_cell),
            retention_days=str(consultation.retention_days),
            contact=consultation.contact or "",
            help=entries,
        )


def help_entries(consultation: Consultation) -> list[ResourceEntry]:
    """The consultation's own help contacts (entered in the dashboard)."""
    return stored_entries(consultation.help_resources)


@dataclass(frozen=True)
class Checked:
    """A form that passed every check."""

    title: str
    questionnaire: Questionnaire
    country: str
    kind: str
    cycle_year: int | None
    languages: list[str]
    default_language: str
    opens_at: datetime | None
    closes_at: datetime | None
    min_cell: int
    retention_days: int
    contact: str | None
    help_json: str | None


class Facilitation:
    """The facilitator's side of consultations; every method checks that the consultation is the person's."""

    def __init__(self, database: Database, questionnaires: Questionnaires) -> None:
        self.database = database
        self.questionnaires = questionnaires

    # ---- reading ----

    async def consultations(self, staff: Staff) -> list[Consultation]:
        organisation_id = _organisation(staff)
        async with self.database.reader() as session:
            return await schedule.consultations_of_organisation(session, organisation_id)

    async def consultation(self, staff: Staff, consultation_id: int) -> Consultation:
        async with self.database.reader() as session:
            return await self._mine(session, staff, consultation_id)

    async def invites(self, staff: Staff, consultation_id: int) -> list[Invite]:
        async with self.database.reader() as session:
            consultation = await self._mine(session, staff, consultation_id)
            return await invites.invites_of(session, _id(consultation))

    async def invite(self, staff: Staff, consultation_id: int, invite_id: int) -> tuple[Consultation, Invite]:
        async with self.database.reader() as session:
            consultation = await self._mine(session, staff, consultation_id)
            for invite in await invites.invites_of(session, _id(consultation)):
                if invite.id == invite_id:
                    return consultation, invite
        raise NotFound(f"invite {invite_id}")

    async def reviewers(self, staff: Staff, consultation_id: int) -> list[tuple[ReviewerGrant, str]]:
        async with self.database.reader() as session:
            consultation = await self._mine(session, staff, consultation_id)
            rows = await accounts.grants_of_consultation(session, _id(consultation))
        return [(grant, user.username) for grant, user in rows]

    # ---- creating and changing ----

    async def check(self, staff: Staff, form: ConsultationForm, *, existing: Consultation | None = None) -> Checked:
        """Every problem of the form at once (Refusals), or the checked values."""
        problems: list[Refusal] = []
        title = " ".join(form.title.split())
        if not title or len(title) > 200:
            problems.append(Refusal(N_("Give a title of 1 to 200 characters."), field="title"))
        questionnaire = await self.questionnaires.find(form.questionnaire, staff.organisation_id)
        if questionnaire is None:
            problems.append(Refusal(N_("Choose a questionnaire."), field="questionnaire"))
        country = form.country.strip().upper()
        if country not in country_codes():
            problems.append(Refusal(N_("Choose a country."), field="country"))
        if form.kind not in KINDS:
            problems.append(Refusal(N_("Choose what the consultation is about."), field="kind"))
        cycle_year: int | None = None
        if form.cycle_year.strip():
            cycle_year = _int(form.cycle_year)
            if cycle_year is None or not 2015 <= cycle_year <= 2100:
                problems.append(Refusal(N_("The cycle year is a year such as 2026."), field="cycle_year"))
        languages = [x for x in dict.fromkeys(form.languages) if x]
        default_language = form.default_language
        if questionnaire is not None:
            offered = questionnaire.flow.languages
            if not languages or any(x not in offered for x in languages):
                problems.append(
                    Refusal(
                        N_("Choose one or more of the questionnaire's languages: %(languages)s."),
                        field="languages",
                        languages=", ".join(offered),
                    )
                )
            if default_language not in languages:
                default_language = (
                    questionnaire.flow.default_language
                    if questionnaire.flow.default_language in languages
                    else (languages[0] if languages else "")
                )
        at = repo.now()
        opens_at = _datetime(form.opens_at)
        closes_at = _datetime(form.closes_at)
        if form.opens_at.strip() and opens_at is None:
            problems.append(Refusal(N_("Give a date and time, or leave it empty."), field="opens_at"))
        if form.closes_at.strip() and closes_at is None:
            problems.append(Refusal(N_("Give a date and time, or leave it empty."), field="closes_at"))
        if closes_at is not None and closes_at <= max(opens_at or at, at):
            problems.append(
                Refusal(N_("The closing time must come after the opening and after now."), field="closes_at")
            )
        min_cell = _int(form.min_cell)
        if existing is not None:
            min_cell = existing.min_cell  # k never changes once set: publications rely on it
        elif min_cell is None or min_cell < MIN_K or min_cell > 1000:
            problems.append(Refusal(N_("k is a whole number, at least %(k)s."), field="min_cell", k=MIN_K))
        retention = _int(form.retention_days)
        if retention is None or not repo.MIN_RETENTION_DAYS <= retention <= MAX_RETENTION_DAYS:
            problems.append(
                Refusal(
                    N_("Keep answers from 1 to %(days)s days after closing."),
                    field="retention_days",
                    days=MAX_RETENTION_DAYS,
                )
            )
        contact = " ".join(form.contact.split()) or None
        if contact is not None and len(contact) > 300:
            problems.append(Refusal(N_("The contact has at most 300 characters."), field="contact"))
        help_json, help_problems = _help(
            form.help, country if country in country_codes() else None, default_language or "en"
        )
        problems += help_problems
        if problems or questionnaire is None or min_cell is None or retention is None:
            raise Refusals(problems)
        return Checked(
            title,
            questionnaire,
            country,
            form.kind,
            cycle_year,
            languages,
            default_language,
            opens_at,
            closes_at,
            min_cell,
            retention,
            contact,
            help_json,
        )

    async def create(self, staff: Staff, form: ConsultationForm) -> Consultation:
        organisation_id = _organisation(staff)
        checked = await self.check(staff, form)
        async with self.database.transaction() as session:
            organisation = await accounts.organisation_by_id(session, organisation_id)
            consultation = await repo.create_consultation(
                session,
                title=checked.title,
                country=checked.country,
                flow_id=checked.questionnaire.flow.id,
                flow_version=checked.questionnaire.flow.version,
                languages=checked.languages,
                default_language=checked.default_language,
                organisation=organisation.name if organisation else None,
                contact=checked.contact,
                retention_days=checked.retention_days,
            )
            consultation.organisation_id = organisation_id
            consultation.kind = checked.kind
            consultation.cycle_year = checked.cycle_year
            consultation.min_cell = checked.min_cell
            consultation.opens_at = checked.opens_at
            consultation.closes_at = checked.closes_at
            consultation.help_resources = checked.help_json
            if checked.opens_at is not None and checked.opens_at > repo.now():
                await schedule.mark_scheduled(session, consultation)
            else:
                await schedule.save_consultation(session, consultation)
            await self._audit(session, staff, "consultation created", consultation, consultation.code)
            return consultation

    async def change(self, staff: Staff, consultation_id: int, form: ConsultationForm) -> Consultation:
        """Change the schedule, retention, contact and help contacts. Questionnaire, country, kind, languages and
        k stay as created (people may already be answering)."""
        async with self.database.reader() as session:
            current = await self._mine(session, staff, consultation_id)
        if current.status == schedule.CLOSED:
            raise Refusals([Refusal(N_("A closed consultation cannot be changed."))])
        fixed = ConsultationForm.of(current)
        form.title, form.questionnaire, form.country = form.title or fixed.title, fixed.questionnaire, fixed.country
        form.kind, form.languages, form.default_language = fixed.kind, fixed.languages, fixed.default_language
        if current.status == schedule.OPEN:
            form.opens_at = fixed.opens_at
        checked = await self.check(staff, form, existing=current)
        async with self.database.transaction() as session:
            consultation = await self._mine(session, staff, consultation_id)
            consultation.title = checked.title
            consultation.cycle_year = checked.cycle_year
            consultation.retention_days = checked.retention_days
            consultation.contact = checked.contact
            consultation.help_resources = checked.help_json
            consultation.closes_at = checked.closes_at
            if consultation.status == schedule.SCHEDULED:
                consultation.opens_at = checked.opens_at
                if checked.opens_at is None or checked.opens_at <= repo.now():
                    await schedule.mark_open(session, consultation)
            await schedule.save_consultation(session, consultation)
            await self._audit(session, staff, "consultation changed", consultation)
            return consultation

    async def open_now(self, staff: Staff, consultation_id: int) -> Consultation:
        async with self.database.transaction() as session:
            consultation = await self._mine(session, staff, consultation_id)
            if consultation.status != schedule.SCHEDULED:
                raise Refusals([Refusal(N_("Only a scheduled consultation can be opened."))])
            await schedule.mark_open(session, consultation, repo.now())
            await self._audit(session, staff, "consultation opened", consultation)
            return consultation

    async def close(self, staff: Staff, consultation_id: int) -> Consultation:
        """No more answers; people in the middle are told it closed (their safe exit still works)."""
        async with self.database.transaction() as session:
            consultation = await self._mine(session, staff, consultation_id)
            if consultation.status == schedule.CLOSED:
                return consultation
            await repo.close_consultation(session, consultation)
            await schedule.save_consultation(session, consultation)
            await self._audit(session, staff, "consultation closed", consultation)
            return consultation

    # ---- invites ----

    async def add_invite(self, staff: Staff, consultation_id: int, label: str) -> Invite:
        label = " ".join(label.split())
        if not label or len(label) > 80:
            raise Refusals([Refusal(N_("Name the channel in 1 to 80 characters."), field="label")])
        async with self.database.transaction() as session:
            consultation = await self._mine(session, staff, consultation_id)
            if consultation.status == schedule.CLOSED:
                raise Refusals([Refusal(N_("A closed consultation gets no new invites."))])
            invite = await invites.create_invite(session, consultation, label)
            await self._audit(session, staff, "invite created", consultation, f"invite:{invite.id} {label}")
            return invite

    async def revoke_invite(self, staff: Staff, consultation_id: int, invite_id: int) -> Invite:
        async with self.database.transaction() as session:
            consultation = await self._mine(session, staff, consultation_id)
            found = [i for i in await invites.invites_of(session, _id(consultation)) if i.id == invite_id]
            if not found:
                raise NotFound(f"invite {invite_id}")
            await invites.revoke_invite(session, found[0])
            await self._audit(session, staff, "invite revoked", consultation, f"invite:{invite_id}")
            return found[0]

    # ---- reviewers ----

    async def grant(self, staff: Staff, consultation_id: int, username: str) -> ReviewerGrant:
        """Let a reviewer account read this consultation's publications."""
        async with self.database.transaction() as session:
            consultation = await self._mine(session, staff, consultation_id)
            user = await accounts.staff_by_username(session, username)
            if user is None or user.id is None or user.role != Role.REVIEWER.value or user.disabled_at is not None:
                raise Refusals([Refusal(N_("There is no reviewer account with this username."), field="username")])
            grant = await accounts.grant_reviewer(session, _id(consultation), user.id)
            await self._audit(session, staff, "reviewer granted", consultation, f"user:{user.id}")
            return grant

    async def revoke_grant(self, staff: Staff, consultation_id: int, grant_id: int) -> None:
        async with self.database.transaction() as session:
            consultation = await self._mine(session, staff, consultation_id)
            grant = await accounts.grant_by_id(session, grant_id)
            if grant is None or grant.consultation_id != consultation.id:
                raise NotFound(f"grant {grant_id}")
            await accounts.delete_grant(session, grant)
            await self._audit(session, staff, "reviewer removed", consultation, f"user:{grant.staff_user_id}")

    async def granted(self, staff: Staff) -> list[Consultation]:
        """The consultations a reviewer may read the publications of."""
        if staff.role is not Role.REVIEWER:
            return []
        async with self.database.reader() as session:
            return await accounts.consultations_granted_to(session, staff.id)

    async def granted_consultation(self, staff: Staff, consultation_id: int) -> Consultation:
        async with self.database.reader() as session:
            consultation = await repo.consultation_by_id(session, consultation_id)
            if (
                staff.role is not Role.REVIEWER
                or consultation is None
                or not await accounts.is_granted(session, consultation_id, staff.id)
            ):
                raise NotFound(f"consultation {consultation_id}")
            return consultation

    # ---- helpers ----

    async def _mine(self, session: DbSession, staff: Staff, consultation_id: int) -> Consultation:
        consultation = await repo.consultation_by_id(session, consultation_id)
        if (
            consultation is None
            or staff.role is not Role.FACILITATOR
            or staff.organisation_id is None
            or consultation.organisation_id != staff.organisation_id
        ):
            raise NotFound(f"consultation {consultation_id}")
        return consultation

    async def _audit(
        self, session: DbSession, staff: Staff, action: str, consultation: Consultation, detail: str = ""
    ) -> None:
        await audit.append(
            session,
            actor_id=staff.id,
            actor=staff.username,
            action=action,
            target=f"consultation:{consultation.id}",
            detail=detail,
        )


def _organisation(staff: Staff) -> int:
    if staff.role is not Role.FACILITATOR or staff.organisation_id is None:
        raise NotFound("no organisation")
    return staff.organisation_id


def _id(consultation: Consultation) -> int:
    if consultation.id is None:
        raise NotFound("consultation without id")
    return consultation.id


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 7 else None


def _datetime(text: str) -> datetime | None:
    """A `datetime-local` value (2026-12-01T09:00), taken as UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _help(entries: list[HelpEntryForm], country: str | None, language: str) -> tuple[str | None, list[Refusal]]:
    """The help contacts as stored JSON (checked like the help resources file: phone numbers for the country)."""
    problems: list[Refusal] = []
    kept: list[dict[str, object]] = []
    for index, entry in enumerate(e for e in entries[:MAX_HELP_ENTRIES] if not e.blank):
        raw: dict[str, object] = {"name": {language: entry.name.strip()}}
        if entry.phone.strip():
            raw["phone"] = entry.phone.strip()
            if country and not entry.phone.strip().startswith("+"):
                raw["country"] = country
        if entry.url.strip():
            raw["url"] = entry.url.strip()
        if entry.hours.strip():
            raw["hours"] = {language: entry.hours.strip()}
        if entry.note.strip():
            raw["note"] = {language: entry.note.strip()}
        if not entry.name.strip():
            problems.append(Refusal(N_("Each help contact needs a name."), field=f"help-{index}-name"))
            continue
        try:
            parsed = ResourceEntry.model_validate(raw)
        except ValidationError:
            problems.append(Refusal(N_("A link starts with https://."), field=f"help-{index}-url"))
            continue
        try:
            parsed.check_phone(parsed.country)
        except ValueError:
            problems.append(
                Refusal(
                    N_("This is not a phone number of the consultation's country, or a +international one."),
                    field=f"help-{index}-phone",
                )
            )
            continue
        kept.append(parsed.model_dump(exclude_defaults=True))
    return (json.dumps(kept, ensure_ascii=False) if kept else None), problems
