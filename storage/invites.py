"""Invite codes: several per consultation, one per channel; matched case-insensitively; revocable."""

from __future__ import annotations

import re

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage.models import Consultation, Invite
from storage.repository import new_code, now

INVITE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
"""What a Telegram deep-link payload may carry (it allows 64 characters; ours are shorter)."""


def normalise(code: str) -> str:
    """The stored form of a code: upper-case, so `/start su63nh2g` opens SU63NH2G."""
    return code.strip().upper()


async def create_invite(
    session: AsyncSession, consultation: Consultation, label: str, code: str | None = None
) -> Invite:
    """A new invite code for a channel of `consultation` (a generated code unless one is given)."""
    if consultation.id is None:
        raise StorageError("the consultation must be saved before it gets invites")
    label = label.strip()
    if not label or len(label) > 80:
        raise StorageError("an invite's label names its channel: 1 to 80 characters")
    chosen = normalise(code) if code else new_code()
    if not INVITE_CODE.match(chosen):
        raise StorageError(f"invite code {chosen!r}: use 1 to 32 letters, digits, '_' or '-'")
    if await invite_by_code(session, chosen) is not None:
        raise StorageError(f"an invite with code {chosen!r} already exists")
    invite = Invite(consultation_id=consultation.id, code=chosen, label=label, created_at=now())
    session.add(invite)
    await session.flush()
    return invite


async def invite_by_code(session: AsyncSession, code: str) -> Invite | None:
    """The invite with this code, revoked or not (case-insensitive)."""
    result = await session.exec(select(Invite).where(Invite.code == normalise(code)))
    return result.first()


async def consultation_for_invite(session: AsyncSession, code: str) -> tuple[Consultation, Invite] | None:
    """The consultation a live (not revoked) invite code opens, with the invite; None for an unknown or revoked
    code. One query."""
    result = await session.exec(
        select(Consultation, Invite)
        .join(Invite, col(Invite.consultation_id) == col(Consultation.id))
        .where(Invite.code == normalise(code), col(Invite.revoked_at).is_(None))
    )
    row = result.first()
    return (row[0], row[1]) if row is not None else None


async def invites_of(session: AsyncSession, consultation_id: int) -> list[Invite]:
    """Every invite of a consultation, oldest first (revoked ones included, for the record)."""
    result = await session.exec(
        select(Invite).where(Invite.consultation_id == consultation_id).order_by(col(Invite.id))
    )
    return list(result.all())


async def revoke_invite(session: AsyncSession, invite: Invite) -> None:
    """The code stops opening the consultation; people already answering through it carry on."""
    if invite.revoked_at is None:
        invite.revoked_at = now()
        session.add(invite)
        await session.flush()
