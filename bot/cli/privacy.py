"""Operator commands for privacy: `keys status|new|rotate|retire`, `purge [--dry-run]`, `help-resources`.

Registered on the main parser by `bot.cli.build_parser`; the logic lives in storage.keys, storage.retention and
config.help_resources, so these handlers only parse, call and print.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli.common import Commands, open_database, print_table
from config.help_resources import load_help_resources
from config.settings import Settings, add_dev_data_key, new_data_key, next_key_id, parse_key_ring
from storage import keys as key_ops
from storage.privacy import KeyRing
from storage.retention import PurgeReport, purge


def add_commands(commands: Commands) -> None:
    """Add the privacy commands to the `python -m bot` parser."""
    keys = commands.add_parser(
        "keys",
        help="data keys: status, new, rotate, retire",
        description="Encryption keys of free-text answers and results opt-ins (VOICES_DATA_KEYS). "
        "The first key encrypts; every key decrypts. See README, 'Privacy and safety'.",
    )
    k_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    status = k_commands.add_parser(
        "status", help="how many values each key encrypts", description="Show how many values each key encrypts."
    )
    status.set_defaults(handler=cmd_keys_status)
    new = k_commands.add_parser(
        "new",
        help="print a fresh key line kN:<base64>",
        description="Print a fresh 256-bit key as 'kN:<base64>', to put first in VOICES_DATA_KEYS.",
    )
    new.set_defaults(handler=cmd_keys_new)
    rotate = k_commands.add_parser(
        "rotate",
        help="re-encrypt every value under the active key",
        description="Re-encrypt every value not under the active key (the first of VOICES_DATA_KEYS), in batches, "
        "each in its own transaction. Interrupting loses nothing; running it again continues.",
    )
    rotate.add_argument(
        "--new-key",
        action="store_true",
        help="development only: first put a fresh key first in data/dev-secrets.json",
    )
    rotate.add_argument("--batch-size", type=int, default=key_ops.BATCH_SIZE, help="values per transaction")
    rotate.set_defaults(handler=cmd_keys_rotate)
    retire = k_commands.add_parser(
        "retire",
        help="check that a key can be removed",
        description="Refuse while any value still uses the key; otherwise say it can be removed.",
    )
    retire.add_argument("key_id", metavar="KID", help="the key id, e.g. k1")
    retire.set_defaults(handler=cmd_keys_retire)

    purge_cmd = commands.add_parser(
        "purge",
        help="apply retention: delete raw data of consultations closed long enough",
        description="Delete the answers, sessions, consent records and results opt-ins of consultations closed "
        "longer ago than their retention period (their per-question counts are kept), message ids older than "
        "48 hours and processed update ids older than 2 days. `python -m bot run` does this daily.",
    )
    purge_cmd.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    purge_cmd.set_defaults(handler=cmd_purge)

    help_cmd = commands.add_parser(
        "help-resources",
        help="check the help resources file and show its entries",
        description="Validate VOICES_HELP_RESOURCES and list the contacts /help would show.",
    )
    help_cmd.add_argument("--country", help="ISO alpha-2 country code, e.g. KE")
    help_cmd.add_argument("--code", help="a consultation's invite code")
    help_cmd.add_argument("--language", default="en", help="language to show (default: en)")
    help_cmd.set_defaults(handler=cmd_help_resources)


# ---- keys ----


def cmd_keys_status(args: argparse.Namespace, settings: Settings) -> int:
    ring = KeyRing(settings.secrets().keys)

    async def go() -> dict[str, key_ops.KeyUsage]:
        database = await open_database(settings)
        try:
            async with database.reader() as session:
                return await key_ops.key_usage(session)
        finally:
            await database.dispose()

    rows = key_ops.describe(asyncio.run(go()), ring)
    print_table(
        ("key", "role", "answers", "opt-ins"),
        [(r["key_id"], r["role"], str(r["answers"]), str(r["opt_ins"])) for r in rows],
    )
    if any(r["role"] == "MISSING" for r in rows):
        print("\nSome values use a key that is not in VOICES_DATA_KEYS: add it back, or they cannot be read.")
    elif any(r["role"] == "decrypts" and r["answers"] + r["opt_ins"] for r in rows):
        print("\nSome values use an older key: python -m bot keys rotate")
    return 0


def cmd_keys_new(args: argparse.Namespace, settings: Settings) -> int:
    existing: list[str] = []
    if settings.data_keys is not None:
        existing = [kid for kid, _ in parse_key_ring(settings.data_keys.get_secret_value())]
    elif (settings.data_dir / "dev-secrets.json").exists():
        existing = [kid for kid, _ in settings.secrets().keys]
    print(f"{next_key_id(existing)}:{new_data_key()}")
    return 0


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    if args.new_key:
        if settings.data_keys_from_settings:
            print(
                "error: the keys come from VOICES_DATA_KEYS, which this command does not change.\n"
                "  1. make a key:   python -m bot keys new\n"
                "  2. put it FIRST in VOICES_DATA_KEYS, keeping the old keys after it, and back it up;\n"
                "  3. restart every bot process, so new answers use it;\n"
                "  4. run:          python -m bot keys rotate",
                file=sys.stderr,
            )
            return 2
        settings.secrets()  # creates the development secrets if there are none yet
        kid = add_dev_data_key(settings.data_dir)
        print(f"New key {kid} put first in {settings.data_dir / 'dev-secrets.json'} (older keys kept after it).")
    ring = KeyRing(settings.secrets().keys)

    async def go() -> key_ops.RotationReport:
        database = await open_database(settings)
        try:
            return await key_ops.rotate(database, ring, batch_size=args.batch_size)
        finally:
            await database.dispose()

    report = asyncio.run(go())
    if report.total == 0:
        print(f"Every value already uses the active key {ring.active_id}.")
    else:
        print(
            f"Re-encrypted {report.total} value(s) ({report.answers} answers, {report.opt_ins} opt-ins) "
            f"under {ring.active_id} in {report.batches} batch(es)."
        )
    older = [kid for kid in ring.key_ids if kid != ring.active_id]
    if older:
        print(
            f"Restart running bot processes if they do not have {ring.active_id} first yet, then check and retire "
            f"old keys: {', '.join(f'python -m bot keys retire {kid}' for kid in older)}"
        )
    return 0


def cmd_keys_retire(args: argparse.Namespace, settings: Settings) -> int:
    ring = KeyRing(settings.secrets().keys)
    kid = args.key_id

    async def go() -> key_ops.KeyUsage:
        database = await open_database(settings)
        try:
            async with database.reader() as session:
                return (await key_ops.key_usage(session)).get(kid, key_ops.KeyUsage(kid))
        finally:
            await database.dispose()

    usage = asyncio.run(go())
    if kid == ring.active_id:
        print(f"error: {kid} is the active key (first in the ring); put a newer key first and rotate", file=sys.stderr)
        return 2
    if usage.total:
        print(
            f"error: {usage.total} value(s) still use {kid} ({usage.answers} answers, {usage.opt_ins} opt-ins); "
            "run python -m bot keys rotate first",
            file=sys.stderr,
        )
        return 2
    where = "VOICES_DATA_KEYS" if settings.data_keys_from_settings else str(settings.data_dir / "dev-secrets.json")
    if kid not in ring.key_ids:
        print(f"No value uses {kid}, and it is not in {where}: nothing to do.")
        return 0
    print(
        f"No value uses {kid}: it can be removed from {where}.\n"
        "Keep it in your secrets store until every database backup made before the rotation has expired: "
        "those backups still need it."
    )
    return 0


# ---- retention ----


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> PurgeReport:
        database = await open_database(settings)
        try:
            return await purge(database, dry_run=args.dry_run)
        finally:
            await database.dispose()

    report = asyncio.run(go())
    verb = "Would purge" if report.dry_run else "Purged"
    for c in report.consultations:
        closed = c.closed_at.date().isoformat() if c.closed_at else "?"
        print(
            f"{verb} consultation {c.code} (closed {closed}): {c.answers} answers, {c.sessions} sessions, "
            f"{c.consent_records} consent records, {c.results_opt_ins} results opt-ins; its counts are kept."
        )
    if not report.consultations:
        print("No consultation is past its retention period.")
    print(
        f"{'Would delete' if report.dry_run else 'Deleted'}: {report.message_ids} message ids older than 48 hours, "
        f"{report.processed_updates} processed update ids older than 2 days, "
        f"{report.participants} participants with nothing left."
    )
    if report.dry_run:
        print("Dry run: nothing was deleted.")
    return 0


# ---- help resources ----


def cmd_help_resources(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.help_resources_path
    directory = load_help_resources(path)  # ConfigError -> "error: ..." and exit 2
    if directory.empty:
        print(
            f"{path}: valid, and empty. With no entry, /help tells people to ask the organisation that shared "
            "the link. Add the contacts you have checked (see the example in the file)."
        )
        return 0
    countries = directory.data.countries
    consultations = directory.data.consultations
    print(f"{path}: valid; {len(countries)} countries, {len(consultations)} consultations.")
    if not (args.country or args.code):
        for key, entries in [*countries.items(), *consultations.items()]:
            print(f"  {key}: {len(entries)} contact(s)")
        return 0
    shown = directory.resources_for(args.country, args.code, args.language)
    if not shown:
        print("No contacts there: /help will tell people to ask the organisation that shared the link.")
    for resource in shown:
        parts = [resource.name, resource.phone, resource.url, resource.hours, resource.note]
        print("- " + " | ".join(p for p in parts if p))
    return 0
