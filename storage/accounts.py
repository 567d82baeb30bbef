"""Staff accounts: organisations, dashboard users and reviewer grants (SQL only; the rules are in
consultations.staff). Staff rows share no key with participants."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage.models import Consultation, Organisation, ReviewerGrant, StaffUser
from storage.repository import now

# ---- organisations ----


async def create_organisation(session: AsyncSession, name: str) -> Organisation:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise StorageError("an organisation's name has 1 to 200 characters")
    existing = await session.exec(select(Organisation).where(func.lower(Organisation.name) == name.lower()))
    if existing.first() is not None:
        raise StorageError(f"an organisation named {name!r} already exists")
    organisation = Organisation(name=name, created_at=now())
    session.add(organisation)
    await session.flush()
    return organisation


async def organisation_by_id(session: AsyncSession, organisation_id: int) -> Organisation | None:
    return await session.get(Organisation, organisation_id)


async def organisation_by_name(session: AsyncSession, name: str) -> Organisation | None:
    result = await session.exec(
        select(Organisation).where(func.lower(Organisation.name) == " ".join(name.split()).lower())
    )
    return result.first()


async def list_organisations(session: AsyncSession) -> list[Organisation]:
    result = await session.exec(select(Organisation).order_by(func.lower(Organisation.name)))
    return list(result.all())


# ---- staff users ----


async def add_staff_user(session: AsyncSession, user: StaffUser) -> StaffUser:
    if await staff_by_username(session, user.username) is not None:
        raise StorageError(f"a user named {user.username!r} already exists")
    session.add(user)
    await session.flush()
    return user


async def staff_by_username(session: AsyncSession, username: str) -> StaffUser | None:
    result = await session.exec(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    return result.first()


async def staff_by_id(session: AsyncSession, user_id: int, *, for_update: bool = False) -> StaffUser | None:
    """An account by id; `for_update` locks its row until the transaction ends (PostgreSQL; SQLite has one writer)."""
    query = select(StaffUser).where(StaffUser.id == user_id)
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def save_staff_user(session: AsyncSession, user: StaffUser) -> None:
    session.add(user)
    await session.flush()


async def staff_count(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(StaffUser))).one())


async def list_staff(session: AsyncSession) -> list[tuple[StaffUser, Organisation | None]]:
    """Every account with its organisation, by username."""
    result = await session.exec(
        select(StaffUser, Organisation)
        .outerjoin(Organisation, col(Organisation.id) == col(StaffUser.organisation_id))
        .order_by(col(StaffUser.username))
    )
    return [(user, organisation) for user, organisation in result.all()]


# ---- reviewer grants ----


async def grant_reviewer(session: AsyncSession, consultation_id: int, user_id: int) -> ReviewerGrant:
    existing = await session.exec(
        select(ReviewerGrant).where(
            ReviewerGrant.consultation_id == consultation_id, ReviewerGrant.staff_user_id == user_id
        )
    )
    found = existing.first()
    if found is not None:
        return found
    grant = ReviewerGrant(consultation_id=consultation_id, staff_user_id=user_id, granted_at=now())
    session.add(grant)
    await session.flush()
    return grant


async def grant_by_id(session: AsyncSession, grant_id: int) -> ReviewerGrant | None:
    return await session.get(ReviewerGrant, grant_id)


async def delete_grant(session: AsyncSession, grant: ReviewerGrant) -> None:
    await session.delete(grant)
    await session.flush()


async def grants_of_consultation(session: AsyncSession, consultation_id: int) -> list[tuple[ReviewerGrant, StaffUser]]:
    result = await session.exec(
        select(ReviewerGrant, StaffUser)
        .join(StaffUser, col(StaffUser.id) == col(ReviewerGrant.staff_user_id))
        .where(ReviewerGrant.consultation_id == consultation_id)
        .order_by(col(StaffUser.username))
    )
    return [(grant, user) for grant, user in result.all()]


async def consultations_granted_to(session: AsyncSession, user_id: int) -> list[Consultation]:
    result = await session.exec(
        select(Consultation)
        .join(ReviewerGrant, col(ReviewerGrant.consultation_id) == col(Consultation.id))
        .where(ReviewerGrant.staff_user_id == user_id)
        .order_by(col(Consultation.created_at).desc(), col(Consultation.id).desc())
    )
    return list(result.all())


async def is_granted(session: AsyncSession, consultation_id: int, user_id: int) -> bool:
    result = await session.exec(
        select(func.count())
        .select_from(ReviewerGrant)
        .where(ReviewerGrant.consultation_id == consultation_id, ReviewerGrant.staff_user_id == user_id)
    )
    return bool(result.one())
