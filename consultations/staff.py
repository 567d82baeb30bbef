"""Staff accounts for the dashboard and the CLI: argon2 passwords, one-time passwords, lockout with backoff,
optional TOTP for admins, disabling; every sign-in recorded in the audit log. No HTTP and no SQL here."""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from config.errors import VoicesError
from config.i18n import N_
from consultations.refusal import Refusal
from storage import accounts, audit
from storage.database import Database, DbSession
from storage.models import AuditEntry, Organisation, StaffUser
from storage.privacy import KeyRing
from storage.repository import now


class AccountError(Refusal):
    """A staff account cannot be created or changed as asked (the message says why, for the person asking)."""


class Role(StrEnum):
    ADMIN = "admin"  # organisations and users, the audit log
    FACILITATOR = "facilitator"  # their organisation's consultations
    REVIEWER = "reviewer"  # the publications of consultations granted to them


USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
FREE_ATTEMPTS = 5
"""Failed sign-ins allowed before the account is paused."""
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
FIRST_ADMIN = "admin"
TOTP_ISSUER = "Voices 8.7"
TOTP_KEY_PURPOSE = "voices87 staff TOTP secrets"
_OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to read off a terminal

HASHER = PasswordHasher()
"""argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile); tests swap in a cheaper one."""
_DUMMY_HASH: dict[str, str] = {}


def one_time_password() -> str:
    """About 100 bits in five groups of four: `k7qm-2xdr-...`; the person sets their own at first sign-in."""
    groups = ["".join(secrets.choice(_OTP_ALPHABET) for _ in range(4)) for _ in range(5)]
    return "-".join(groups)


def pause_after(failures: int) -> timedelta | None:
    """How long an account is paused after this many failed sign-ins in a row: none for the first few, then one
    minute, doubling with each further failure, at most an hour."""
    if failures < FREE_ATTEMPTS:
        return None
    doubling: int = 2 ** min(failures - FREE_ATTEMPTS, 12)
    return min(FIRST_PAUSE * doubling, LONGEST_PAUSE)


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AccountError(
            N_(
                "A username has 2 to 64 characters: lower-case letters, digits, '.', '_', '-' or '@', "
                "starting with a letter or digit."
            ),
            field="username",
        )
    return name


def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("A password has at least %(n)s characters."), field="new", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(N_("A password has at most %(n)s characters."), field="new", n=MAX_PASSWORD_LENGTH)
    if username and username.lower() in password.lower():
        raise AccountError(N_("A password must not contain the username."), field="new")


def _verify_now(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def _verify(hashed: str, password: str) -> bool:
    """argon2 takes tens of milliseconds on purpose: in a thread, so the bot sharing the loop is not held up."""
    return await asyncio.to_thread(_verify_now, hashed, password)


async def _hash(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def _burn_time(password: str) -> None:
    """Verify against a throw-away hash, so an unknown username takes as long as a wrong password."""
    key = repr(HASHER)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = await _hash(secrets.token_urlsafe(16))
    await _verify(_DUMMY_HASH[key], password)


@dataclass(frozen=True)
class Staff:
    """A signed-in (or named) staff member, as the adapters see them."""

    id: int
    username: str
    role: Role
    organisation_id: int | None
    must_change_password: bool
    has_totp: bool
    session_epoch: int
    disabled: bool

    @classmethod
    def of(cls, user: StaffUser) -> Staff:
        if user.id is None:
            raise AccountError(N_("No such account."))
        return cls(
            id=user.id,
            username=user.username,
            role=Role(user.role),
            organisation_id=user.organisation_id,
            must_change_password=user.must_change_password,
            has_totp=user.totp_cipher is not None,
            session_epoch=user.session_epoch,
            disabled=user.disabled_at is not None,
        )


@dataclass(frozen=True)
class StaffRow:
    """One account for the admin's list."""

    staff: Staff
    organisation: str | None
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt. `staff` is None when refused; the reason is never told apart to the
    person signing in (wrong name, wrong password, wrong code, paused and disabled all read the same)."""

    staff: Staff | None
    paused_until: datetime | None = None


class StaffAccounts:
    """Create, reset, disable, sign in. `totp_key` encrypts TOTP secrets (derived from the pepper, so it never
    needs rotating apart from it)."""

    def __init__(self, database: Database, totp_key: bytes) -> None:
        self.database = database
        self._totp = KeyRing([("staff", totp_key)])

    @classmethod
    def with_pepper(cls, database: Database, pepper: bytes) -> StaffAccounts:
        """The accounts of this deployment: TOTP secrets under a key derived from the pepper."""
        return cls(database, derived_key(pepper, TOTP_KEY_PURPOSE))

    # ---- accounts ----

    async def create(
        self, username: str, role: Role | str, organisation_id: int | None, *, by: Staff | None = None
    ) -> tuple[Staff, str]:
        """A new account with a one-time password (returned once; only its hash is stored)."""
        name = check_username(username)
        role = Role(role)
        if role is not Role.ADMIN and organisation_id is None:
            raise AccountError(N_("Facilitators and reviewers belong to an organisation."), field="organisation")
        password = one_time_password()
        hashed = await _hash(password)  # before the transaction: no write lock is held while hashing
        async with self.database.transaction() as session:
            if organisation_id is not None and await accounts.organisation_by_id(session, organisation_id) is None:
                raise AccountError(N_("No such organisation."), field="organisation")
            if await accounts.staff_by_username(session, name) is not None:
                raise AccountError(N_("The username %(name)s is taken."), field="username", name=name)
            user = await accounts.add_staff_user(
                session,
                StaffUser(
                    username=name,
                    role=role.value,
                    organisation_id=organisation_id,
                    password_hash=hashed,
                    must_change_password=True,
                    created_at=now(),
                ),
            )
            staff = Staff.of(user)
            await self._audit(session, by, "user created", staff, f"role {role.value}")
        return staff, password

    async def ensure_first_admin(self) -> str | None:
        """On first start (no account at all): create the admin `admin` and return its one-time password; None
        when any account exists."""
        async with self.database.reader() as session:
            if await accounts.staff_count(session):
                return None
        try:
            _, password = await self.create(FIRST_ADMIN, Role.ADMIN, None)
        except AccountError:  # another worker created it at the same moment
            return None
        return password

    async def reset(self, username: str, *, clear_totp: bool = False, by: Staff | None = None) -> str:
        """A new one-time password; the pause is lifted and every open session of the account ends."""
        password = one_time_password()
        hashed = await _hash(password)
        async with self.database.transaction() as session:
            user = await accounts.staff_by_username(session, username)
            if user is None:
                raise AccountError(N_("No user named %(name)s."), name=username.strip().lower())
            user.password_hash = hashed
            user.must_change_password = True
            user.failed_sign_ins = 0
            user.locked_until = None
            user.session_epoch += 1
            if clear_totp:
                user.totp_cipher = user.totp_key_id = user.totp_last_step = None
            await accounts.save_staff_user(session, user)
            await self._audit(session, by, "password reset", Staff.of(user), "TOTP removed" if clear_totp else "")
        return password

    async def disable(self, username: str, *, by: Staff | None = None) -> Staff:
        """The account can no longer sign in; its open sessions end. It stays, so the audit log can name it."""
        async with self.database.transaction() as session:
            user = await accounts.staff_by_username(session, username)
            if user is None:
                raise AccountError(N_("No user named %(name)s."), name=username.strip().lower())
            if by is not None and by.id == user.id:
                raise AccountError(N_("You cannot disable your own account."))
            if user.disabled_at is None:
                user.disabled_at = now()
                user.session_epoch += 1
                await accounts.save_staff_user(session, user)
                await self._audit(session, by, "user disabled", Staff.of(user))
            return Staff.of(user)

    async def change_password(self, staff: Staff, current: str, new: str) -> Staff:
        check_new_password(new, staff.username)
        async with self.database.reader() as session:
            user = await accounts.staff_by_id(session, staff.id)
        if user is None or user.disabled_at is not None:
            raise AccountError(N_("This account is disabled."))
        if not await _verify(user.password_hash, current):
            raise AccountError(N_("The current password is wrong."), field="current")
        if await _verify(user.password_hash, new):
            raise AccountError(N_("The new password must differ from the current one."), field="new")
        hashed = await _hash(new)
        async with self.database.transaction() as session:
            fresh = await accounts.staff_by_id(session, staff.id, for_update=True)
            if fresh is None or fresh.password_hash != user.password_hash:  # reset or changed meanwhile
                raise AccountError(N_("The current password is wrong."), field="current")
            fresh.password_hash = hashed
            fresh.must_change_password = False
            fresh.session_epoch += 1
            await accounts.save_staff_user(session, fresh)
            await self._audit(session, staff, "password changed", Staff.of(fresh))
            return Staff.of(fresh)

    async def current(self, user_id: int) -> Staff | None:
        """The account as it is now (a session checks it on every request: disabled or reset ends it)."""
        async with self.database.reader() as session:
            user = await accounts.staff_by_id(session, user_id)
        return Staff.of(user) if user is not None else None

    async def by_username(self, username: str) -> Staff | None:
        async with self.database.reader() as session:
            user = await accounts.staff_by_username(session, username)
        return Staff.of(user) if user is not None else None

    async def listing(self) -> list[StaffRow]:
        async with self.database.reader() as session:
            rows = await accounts.list_staff(session)
        return [
            StaffRow(Staff.of(user), organisation.name if organisation else None, user.locked_until, user.created_at)
            for user, organisation in rows
        ]

    async def audit_entries(self, *, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        """The audit log, newest first (admins read it; nothing changes it)."""
        async with self.database.reader() as session:
            return await audit.entries(session, limit=limit, before_id=before_id)

    # ---- organisations ----

    async def create_organisation(self, name: str, *, by: Staff | None = None) -> Organisation:
        async with self.database.transaction() as session:
            try:
                organisation = await accounts.create_organisation(session, name)
            except VoicesError as exc:
                raise AccountError(N_("An organisation with this name already exists."), field="name") from exc
            await audit.append(
                session,
                actor_id=by.id if by else None,
                actor=by.username if by else "cli",
                action="organisation created",
                target=f"organisation:{organisation.id}",
            )
            return organisation

    async def organisations(self) -> list[Organisation]:
        async with self.database.reader() as session:
            return await accounts.list_organisations(session)

    async def organisation(self, organisation_id: int) -> Organisation | None:
        async with self.database.reader() as session:
            return await accounts.organisation_by_id(session, organisation_id)

    async def organisation_named(self, name: str) -> Organisation | None:
        async with self.database.reader() as session:
            return await accounts.organisation_by_name(session, name)

    # ---- signing in ----

    async def sign_in(self, username: str, password: str, totp_code: str = "", *, at: datetime | None = None) -> SignIn:
        """Check the password (and the TOTP code when the account has one). After FREE_ATTEMPTS failures in a
        row the account is paused (1 min, doubling, at most 1 h): while paused, nothing is checked. The password
        is checked outside any transaction (argon2 is slow on purpose), then the outcome is recorded."""
        at = at or now()
        name = username.strip().lower()[:64]
        password = password[:MAX_PASSWORD_LENGTH]  # never hash an unbounded input
        async with self.database.reader() as session:
            user = await accounts.staff_by_username(session, name) if USERNAME.match(name) else None
        if user is None or user.id is None:
            await _burn_time(password)
            async with self.database.transaction() as session:
                # an unknown name is not recorded: people type passwords into the name field
                await audit.append(session, actor_id=None, actor="-", action="sign-in refused")
            return SignIn(None)
        if user.locked_until is not None and user.locked_until > at:
            async with self.database.transaction() as session:
                await self._audit(session, None, "sign-in refused", Staff.of(user), "paused", actor=user)
            return SignIn(None, user.locked_until)
        ok = await _verify(user.password_hash, password) and user.disabled_at is None
        rehashed = await _hash(password) if ok and HASHER.check_needs_rehash(user.password_hash) else None
        async with self.database.transaction() as session:
            fresh = await accounts.staff_by_id(session, user.id, for_update=True)
            if fresh is None:
                return SignIn(None)
            if fresh.password_hash != user.password_hash or (
                fresh.locked_until is not None and fresh.locked_until > at
            ):
                ok = False  # reset, or paused by another attempt, while this one was being checked
            if ok and fresh.totp_cipher is not None:
                ok = self._totp_ok(fresh, totp_code, at)
            if not ok:
                fresh.failed_sign_ins += 1
                pause = pause_after(fresh.failed_sign_ins)
                fresh.locked_until = at + pause if pause else None
                await accounts.save_staff_user(session, fresh)
                detail = "disabled" if fresh.disabled_at is not None else f"failure {fresh.failed_sign_ins}"
                await self._audit(session, None, "sign-in refused", Staff.of(fresh), detail, actor=fresh)
                return SignIn(None, fresh.locked_until)
            fresh.failed_sign_ins = 0
            fresh.locked_until = None
            if rehashed is not None:
                fresh.password_hash = rehashed
            await accounts.save_staff_user(session, fresh)
            staff = Staff.of(fresh)
            await self._audit(session, staff, "sign-in", staff)
            return SignIn(staff)

    async def record_sign_out(self, staff: Staff) -> None:
        async with self.database.transaction() as session:
            await self._audit(session, staff, "sign-out", staff)

    # ---- TOTP (admins) ----

    @staticmethod
    def new_totp_secret() -> str:
        return pyotp.random_base32()

    @staticmethod
    def totp_uri(secret: str, username: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)

    async def enable_totp(self, staff: Staff, secret: str, code: str) -> Staff:
        """Keep the secret once the person proved their authenticator has it (a current code)."""
        if staff.role is not Role.ADMIN:
            raise AccountError(N_("Only admins use an authenticator app."))
        if not pyotp.TOTP(secret).verify(code.strip().replace(" ", ""), valid_window=1):
            raise AccountError(N_("The code does not match. Check the time on your phone and try again."), field="code")
        async with self.database.transaction() as session:
            user = await accounts.staff_by_id(session, staff.id)
            if user is None or user.id is None:
                raise AccountError(N_("No such account."))
            user.totp_cipher, user.totp_key_id = self._totp.encrypt(secret, _totp_context(user.id))
            user.totp_last_step = pyotp.TOTP(secret).timecode(now())
            await accounts.save_staff_user(session, user)
            await self._audit(session, staff, "TOTP enabled", staff)
            return Staff.of(user)

    def _totp_ok(self, user: StaffUser, code: str, at: datetime) -> bool:
        if user.totp_cipher is None or user.totp_key_id is None or user.id is None:
            return True
        secret = self._totp.decrypt(user.totp_cipher, user.totp_key_id, _totp_context(user.id))
        totp = pyotp.TOTP(secret)
        code = code.strip().replace(" ", "")
        current = totp.timecode(at)
        for step in (current - 1, current, current + 1):  # one step of clock drift either way
            if user.totp_last_step is not None and step <= user.totp_last_step:
                continue  # a code is accepted once
            if hmac.compare_digest(totp.generate_otp(step), code):
                user.totp_last_step = step
                return True
        return False

    async def _audit(
        self,
        session: DbSession,
        by: Staff | None,
        action: str,
        subject: Staff,
        detail: str = "",
        *,
        actor: StaffUser | None = None,
    ) -> None:
        if actor is not None:
            actor_id, actor_name = actor.id, actor.username
        elif by is not None:
            actor_id, actor_name = by.id, by.username
        else:
            actor_id, actor_name = None, "cli"
        await audit.append(
            session, actor_id=actor_id, actor=actor_name, action=action, target=f"user:{subject.id}", detail=detail
        )


def _totp_context(user_id: int) -> str:
    return f"staff-totp:{user_id}"


def derived_key(pepper: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (dashboard cookies, TOTP secrets), derived from the pepper with HKDF, so no
    new secret has to be kept; different purposes give independent keys."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"voices87", info=purpose.encode()).derive(pepper)
