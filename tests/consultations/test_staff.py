"""Staff accounts: one-time passwords, argon2 hashes, lockout with backoff, TOTP, disabling, the audit trail;
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher, profiles

import consultations.staff as staff_module
from consultations.staff import AccountError, Role, StaffAccounts, pause_after
from storage import audit
from storage import repository as repo
from storage.database import Database

PASSWORD = "a long enough passphrase"


@pytest.fixture(autouse=True)
def cheap_hashing() -> Iterator[None]:
    saved = staff_module.HASHER
    staff_module.HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    staff_module.HASHER = saved


@pytest.fixture
def accounts(database: Database) -> StaffAccounts:
    return StaffAccounts.with_pepper(database, b"pepper for the staff tests")


async def actions(database: Database) -> list[tuple[str, str, str]]:
    async with database.reader() as session:
        return [(e.actor, e.action, e.detail) for e in reversed(await audit.entries(session, limit=1000))]


async def test_an_account_gets_a_one_time_password_that_must_be_replaced(
    accounts: StaffAccounts, database: Database
) -> None:
    organisation = await accounts.create_organisation("Kenya CSO Network")
    staff, once = await accounts.create("Amina.W", Role.FACILITATOR, organisation.id)
    assert staff.username == "amina.w" and staff.must_change_password and len(once) == 24
    async with database.reader() as session:
        from storage.accounts import staff_by_username

        row = await staff_by_username(session, "AMINA.W")
        assert row is not None and row.password_hash.startswith("$argon2id$") and once not in row.password_hash
    signed = await accounts.sign_in("amina.w", once)
    assert signed.staff is not None and signed.staff.must_change_password
    with pytest.raises(AccountError, match="at least 12"):
        await accounts.change_password(signed.staff, once, "short")
    with pytest.raises(AccountError, match="username"):
        await accounts.change_password(signed.staff, once, "amina.w is my password")
    changed = await accounts.change_password(signed.staff, once, PASSWORD)
    assert not changed.must_change_password and changed.session_epoch == signed.staff.session_epoch + 1
    assert (await accounts.sign_in("amina.w", once)).staff is None
    assert (await accounts.sign_in("Amina.W", PASSWORD)).staff is not None
    assert [a for _, a, _ in await actions(database)] == [
        "organisation created",
        "user created",
        "sign-in",
        "password changed",
        "sign-in refused",
        "sign-in",
    ]


async def test_roles_and_names_are_checked(accounts: StaffAccounts) -> None:
    with pytest.raises(AccountError, match="belong to an organisation"):
        await accounts.create("rev", Role.REVIEWER, None)
    with pytest.raises(AccountError, match="username"):
        await accounts.create("Bad Name!", Role.ADMIN, None)
    await accounts.create("boss", Role.ADMIN, None)
    with pytest.raises(AccountError, match="taken"):
        await accounts.create("BOSS", Role.ADMIN, None)
    with pytest.raises(AccountError, match="already exists"):
        await accounts.create_organisation("A")
        await accounts.create_organisation(" a ")


async def test_failed_sign_ins_pause_the_account_with_a_doubling_backoff(
    accounts: StaffAccounts, database: Database
) -> None:
    staff, once = await accounts.create("ops", Role.ADMIN, None)
    await accounts.change_password(staff, once, PASSWORD)
    start = repo.now()
    for attempt in range(1, 5):
        result = await accounts.sign_in("ops", "wrong password", at=start)
        assert result.staff is None and result.paused_until is None, attempt
    fifth = await accounts.sign_in("ops", "wrong password", at=start)
    assert fifth.paused_until == start + timedelta(minutes=1)
    # while paused, even the right password is refused and nothing is checked
    paused = await accounts.sign_in("ops", PASSWORD, at=start + timedelta(seconds=59))
    assert paused.staff is None and paused.paused_until == start + timedelta(minutes=1)
    later = start + timedelta(minutes=1, seconds=1)
    sixth = await accounts.sign_in("ops", "wrong again", at=later)
    assert sixth.paused_until == later + timedelta(minutes=2)
    evening = later + timedelta(minutes=3)
    assert (await accounts.sign_in("ops", PASSWORD, at=evening)).staff is not None
    # success resets the count: four more failures do not pause
    for _ in range(4):
        assert (await accounts.sign_in("ops", "nope", at=evening)).paused_until is None
    assert [pause_after(n) for n in (4, 5, 6, 7, 12, 30)] == [
        None,
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    details = [d for _, a, d in await actions(database) if a == "sign-in refused"]
    assert "paused" in details and "failure 5" in details


async def test_an_unknown_name_is_refused_like_a_wrong_password_and_not_recorded(
    accounts: StaffAccounts, database: Database
) -> None:
    result = await accounts.sign_in("my secret password", "x")
    assert result.staff is None and result.paused_until is None
    assert await actions(database) == [("-", "sign-in refused", "")]


async def test_reset_and_disable_end_sessions(accounts: StaffAccounts) -> None:
    admin, _ = await accounts.create("first", Role.ADMIN, None)
    staff, once = await accounts.create("second", Role.ADMIN, None)
    staff = await accounts.change_password(staff, once, PASSWORD)
    for _ in range(5):
        await accounts.sign_in("second", "wrong")
    new_once = await accounts.reset("second", by=admin)
    after = await accounts.current(staff.id)
    assert after is not None and after.must_change_password and after.session_epoch > staff.session_epoch
    assert (await accounts.sign_in("second", new_once)).staff is not None  # the pause was lifted
    with pytest.raises(AccountError, match="your own"):
        await accounts.disable("first", by=admin)
    disabled = await accounts.disable("second", by=admin)
    assert disabled.disabled and disabled.session_epoch > after.session_epoch
    assert (await accounts.sign_in("second", new_once)).staff is None


async def test_totp_for_admins_is_required_once_set_and_a_code_works_once(accounts: StaffAccounts) -> None:
    staff, once = await accounts.create("secure", Role.ADMIN, None)
    staff = await accounts.change_password(staff, once, PASSWORD)
    secret = accounts.new_totp_secret()
    with pytest.raises(AccountError, match="does not match"):
        await accounts.enable_totp(staff, secret, "000000")
    totp = pyotp.TOTP(secret)
    now = repo.now()
    staff = await accounts.enable_totp(staff, secret, totp.at(now))
    assert staff.has_totp
    later = now + timedelta(seconds=60)
    assert (await accounts.sign_in("secure", PASSWORD, at=later)).staff is None
    assert (await accounts.sign_in("secure", PASSWORD, totp.at(later), at=later)).staff is not None
    assert (await accounts.sign_in("secure", PASSWORD, totp.at(later), at=later)).staff is None  # replayed
    facilitator_org = await accounts.create_organisation("Org")
    facilitator, _ = await accounts.create("fac", Role.FACILITATOR, facilitator_org.id)
    with pytest.raises(AccountError, match="Only admins"):
        await accounts.enable_totp(facilitator, secret, totp.now())
    assert (await accounts.reset("secure", clear_totp=True)) and not (await accounts.by_username("secure")).has_totp  # type: ignore[union-attr]


async def test_the_first_admin_is_made_once(accounts: StaffAccounts) -> None:
    password = await accounts.ensure_first_admin()
    assert password is not None
    assert await accounts.ensure_first_admin() is None
    assert (await accounts.sign_in("admin", password)).staff is not None
