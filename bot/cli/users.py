"""`python -m bot users create|reset|disable|list` and `python -m bot organisations create|list`: dashboard
accounts from the terminal (the same rules as the dashboard: consultations.staff)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.cli.common import Commands, open_database, print_table
from config.settings import Settings
from consultations.staff import AccountError, Role, StaffAccounts

T = TypeVar("T")


def add_commands(commands: Commands) -> None:
    users = commands.add_parser(
        "users",
        help="dashboard accounts: create, reset, disable, list",
        description="Dashboard accounts. Roles: admin (organisations, users, audit log), facilitator (their "
        "organisation's consultations), reviewer (publications shared with them). New and reset accounts get a "
        "one-time password, printed once; the person chooses their own at first sign-in.",
    )
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create an account",
        description="Create a dashboard account; its one-time password is printed once.",
    )
    create.add_argument("username", help="lower-case letters, digits, '.', '_', '-' or '@'")
    create.add_argument("--role", required=True, choices=[role.value for role in Role], help="what the account does")
    create.add_argument("--organisation", help="the organisation's name (required for facilitators and reviewers)")
    create.set_defaults(handler=cmd_users_create)
    reset = actions.add_parser(
        "reset",
        help="give an account a new one-time password",
        description="A new one-time password (printed once); the account's pause after failed sign-ins is lifted "
        "and its open sessions end.",
    )
    reset.add_argument("username")
    reset.add_argument("--clear-totp", action="store_true", help="also remove its authenticator app (a lost phone)")
    reset.set_defaults(handler=cmd_users_reset)
    disable = actions.add_parser(
        "disable",
        help="stop an account from signing in",
        description="The account can no longer sign in and its open sessions end; it stays in the audit log.",
    )
    disable.add_argument("username")
    disable.set_defaults(handler=cmd_users_disable)
    listing = actions.add_parser("list", help="list accounts", description="List dashboard accounts.")
    listing.set_defaults(handler=cmd_users_list)

    organisations = commands.add_parser(
        "organisations",
        help="organisations of dashboard accounts",
        description="Organisations: each facilitator and reviewer belongs to one.",
    )
    o_actions = organisations.add_subparsers(dest="organisations_command", required=True, metavar="ACTION")
    o_create = o_actions.add_parser("create", help="add an organisation", description="Add an organisation.")
    o_create.add_argument("name")
    o_create.set_defaults(handler=cmd_organisations_create)
    o_list = o_actions.add_parser("list", help="list organisations", description="List organisations.")
    o_list.set_defaults(handler=cmd_organisations_list)


def _with_accounts(settings: Settings, work: Callable[[StaffAccounts], Awaitable[T]]) -> T:
    async def go() -> T:
        database = await open_database(settings)
        try:
            accounts = StaffAccounts.with_pepper(database, settings.secrets().pepper)
            return await work(accounts)
        finally:
            await database.dispose()

    return asyncio.run(go())


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    async def work(accounts: StaffAccounts) -> str:
        organisation_id = None
        if args.organisation:
            organisation = await accounts.organisation_named(args.organisation)
            if organisation is None:
                raise AccountError(f"no organisation named {args.organisation!r} (see `organisations list`)")
            organisation_id = organisation.id
        _, password = await accounts.create(args.username, args.role, organisation_id)
        return password

    password = _with_accounts(settings, work)
    print(f"Account {args.username.strip().lower()} ({args.role}) created.")
    print(f"One-time password: {password}")
    print("Give it to the person safely; they choose their own password at first sign-in.")
    return 0


def cmd_users_reset(args: argparse.Namespace, settings: Settings) -> int:
    password = _with_accounts(settings, lambda a: a.reset(args.username, clear_totp=args.clear_totp))
    print(f"New one-time password for {args.username.strip().lower()}: {password}")
    return 0


def cmd_users_disable(args: argparse.Namespace, settings: Settings) -> int:
    staff = _with_accounts(settings, lambda a: a.disable(args.username))
    print(f"Account {staff.username} is disabled; its open sessions have ended.")
    return 0


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = _with_accounts(settings, lambda a: a.listing())
    if not rows:
        print("No accounts yet. `python -m bot run` creates the first admin, or: python -m bot users create --help")
        return 0
    print_table(
        ("username", "role", "organisation", "state"),
        [
            (
                row.staff.username,
                row.staff.role.value,
                row.organisation or "",
                "disabled" if row.staff.disabled else ("new" if row.staff.must_change_password else "active"),
            )
            for row in rows
        ],
    )
    return 0


def cmd_organisations_create(args: argparse.Namespace, settings: Settings) -> int:
    organisation = _with_accounts(settings, lambda a: a.create_organisation(args.name))
    print(f"Organisation {organisation.name} created.")
    return 0


def cmd_organisations_list(args: argparse.Namespace, settings: Settings) -> int:
    organisations = _with_accounts(settings, lambda a: a.organisations())
    for organisation in organisations:
        print(organisation.name)
    if not organisations:
        print("No organisations yet: python -m bot organisations create NAME")
    return 0
