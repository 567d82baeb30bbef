"""The audit log: every sign-in and facilitator action is there for admins to read, and nobody can change it:
no route does (tests/dashboard/test_access.py walks them all), and the database refuses UPDATE and DELETE."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage import audit
from storage.database import Database
from tests.dashboard.conftest import Dash, populate


async def test_admins_read_who_did_what_and_when(any_dash: Dash) -> None:
    dash = any_dash
    places = await populate(dash)
    await dash.sign_in("facilitator-a")
    await dash.sign_in("nobody", "wrong")
    await dash.sign_in("root")
    page = await (await dash.client.get("/dashboard/admin/audit")).text()
    for expected in (
        "sign-in",
        "sign-in refused",
        "consultation created",
        "invite created",
        "reviewer granted",
        "user created",
        "organisation created",
        f"consultation:{places['A'].consultation_id}",
        "facilitator-a",
    ):
        assert expected in page, expected
    assert "nobody" not in page  # a mistyped name may be a password: never recorded


async def test_the_database_refuses_to_change_or_delete_an_entry(database: Database) -> None:
    async with database.transaction() as session:
        entry = await audit.append(session, actor_id=1, actor="someone", action="sign-in")
    for statement in (
        f"UPDATE audit_log SET actor = 'someone else' WHERE id = {entry.id}",
        f"DELETE FROM audit_log WHERE id = {entry.id}",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.engine.begin() as connection:
                await connection.execute(text(statement))
    if database.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.engine.begin() as connection:
                await connection.execute(text("TRUNCATE audit_log"))
    async with database.reader() as session:
        [kept] = await audit.entries(session)
    assert (kept.actor, kept.action) == ("someone", "sign-in")


async def test_audit_entries_hold_no_answer_text_or_passwords(dash: Dash) -> None:
    await populate(dash)
    await dash.sign_in("root")
    await dash.post(
        "/dashboard/admin/users", {"username": "newbie", "role": "admin"}, token_from="/dashboard/admin/users"
    )
    async with dash.database.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT actor, action, target, detail FROM audit_log"))).all()
    dump = repr(rows)
    assert "correct horse" not in dump and "$argon2" not in dump
    assert all(len(str(value)) <= 300 for row in rows for value in row)
