"""Operator commands: `tellonce keys ...`, `tellonce backup` and `tellonce restore` (see docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

keys_cli = typer.Typer(help="Encryption keys: create, rotate, re-encrypt, status, retire.", no_args_is_help=True)

KEYS_NOT_IN_BACKUP = (
    "The encryption keys are NOT in the backup. Keep them safe and apart from it: without its keys "
    "a backup cannot be read (that is the point)."
)


def existing_database() -> Engine:
    """The configured database, or exit 1 saying there is none or it is not migrated (nothing is created)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from app.cli import _safe_url
    from app.db import get_engine
    from app.settings import get_settings

    url = get_settings().resolved_database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database))
        if not path.is_file() or path.stat().st_size == 0:
            typer.echo(
                f"There is no TellOnce database at {path}. Run this where the app's TELLONCE_* settings are set "
                "(TELLONCE_DATABASE_URL or TELLONCE_DATA_DIR), or make a new database with `tellonce db upgrade`.",
                err=True,
            )
            raise typer.Exit(1)
    engine = get_engine()
    try:
        tables = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        typer.echo(f"Cannot open the database {_safe_url(url)}: {type(exc).__name__}.", err=True)
        raise typer.Exit(1) from None
    if "alembic_version" not in tables:
        typer.echo(
            f"{_safe_url(url)} is not a TellOnce database yet (not migrated); run `tellonce db upgrade`.", err=True
        )
        raise typer.Exit(1)
    return engine


@keys_cli.command("create")
def keys_create(
    file: Annotated[Path | None, typer.Option(help="Where to write the key file; default: the configured one")] = None,
    env: Annotated[bool, typer.Option("--env", help="Print environment values instead of writing a file")] = False,
) -> None:
    """Make new keys: a key file (0600, never overwritten), or the environment values to set."""
    from app.crypto import new_key_file
    from app.keys import environment_values
    from app.settings import get_settings

    if env:
        keys, index_key = environment_values()
        typer.echo("Set these on every app server (and keep a copy apart from the backups):")
        typer.echo(f"TELLONCE_ENCRYPTION_KEYS={keys}")
        typer.echo(f"TELLONCE_INDEX_KEY={index_key}")
        return
    path = file or get_settings().resolved_key_file
    try:
        new_key_file(path)
    except FileExistsError:
        typer.echo(f"{path} already exists; it was left as it is (keys are never overwritten).", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Wrote new keys to {path} (readable by its owner only).")
    if file is not None:
        typer.echo(f"Set TELLONCE_KEY_FILE={path.resolve()} on every app server.")
    typer.echo("Keep a copy of this file apart from the database backups.")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Add a new encryption key and make it current (old keys stay, so every value still decrypts)."""
    from app.errors import KeyCommandError
    from app.keys import rotate
    from app.settings import get_settings

    settings = get_settings()
    try:
        done = rotate(settings)
    except KeyCommandError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if done.environment_value is not None:
        typer.echo("The keys come from the environment, which this command cannot change. Set on every app server:")
        typer.echo(f"TELLONCE_ENCRYPTION_KEYS={done.environment_value}")
        typer.echo("Then restart every app server (each must have the new key), then run `tellonce keys reencrypt`.")
    else:
        typer.echo(f"Added key {done.key_id} to {settings.resolved_key_file} and made it current.")
        typer.echo(
            "App servers reading this file use the new key from their next request on; copy the file first to "
            "any server that has its own copy. Then run `tellonce keys reencrypt`."
        )


@keys_cli.command("reencrypt")
def keys_reencrypt(
    batch_size: Annotated[int, typer.Option(min=1, help="Values per transaction")] = 500,
) -> None:
    """Re-encrypt every value not under the current key, in batches; safe to stop and run again."""
    from sqlmodel import Session

    from app import audit
    from app.crypto import get_key_ring
    from app.keys import Progress, reencrypt

    engine = existing_database()
    ring = get_key_ring()

    def show(step: Progress) -> None:
        typer.echo(f"{step.column}: {step.done}/{step.total}")

    typer.echo(f"Re-encrypting under key {ring.current}.")
    outcome = reencrypt(engine, ring, batch_size, show)
    if outcome.reencrypted:
        with Session(engine) as db:
            detail = {"key_id": ring.current, "values": outcome.reencrypted}
            audit.record(db, "keys.reencrypt", object_type="key", object_id=ring.current, detail=detail)
            db.commit()
    typer.echo(f"Re-encrypted {outcome.reencrypted} value(s).")
    for column, count in sorted(outcome.failed.items()):
        typer.echo(f"{column}: {count} value(s) could not be decrypted with the configured keys.", err=True)
    typer.echo(f"Values under older keys: {outcome.remaining}")
    if outcome.remaining:
        raise typer.Exit(1)


@keys_cli.command("status")
def keys_status() -> None:
    """How many stored values each key encrypts."""
    from app.crypto import get_key_ring
    from app.keys import status

    engine = existing_database()
    ring = get_key_ring()
    found = status(engine)
    for key_id in sorted(set(ring.keys) | set(found.per_key), key=lambda k: (k != ring.current, k)):
        label = " (current)" if key_id == ring.current else "" if key_id in ring.keys else " (NOT CONFIGURED)"
        typer.echo(f"key {key_id}{label}: {found.per_key.get(key_id, 0)} value(s)")
    for column, counts in found.per_column.items():
        if counts:
            typer.echo(f"  {column}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))


@keys_cli.command("retire")
def keys_retire(
    key_id: Annotated[str, typer.Argument(help="The key id to remove")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Remove an old key once no stored value uses it (backups made before the re-encryption still need it)."""
    from app.crypto import get_key_ring
    from app.errors import KeyCommandError
    from app.keys import retire
    from app.settings import get_settings

    settings = get_settings()
    engine = existing_database()
    typer.echo(
        f"Backups made before the re-encryption still need key {key_id}: without a copy of it they cannot be "
        "read. Keep a copy of the key with those backups before retiring it."
    )
    if not yes:
        typer.confirm(f"Retire key {key_id}?", abort=True)
    try:
        done = retire(settings, engine, get_key_ring(), key_id)
    except KeyCommandError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if done.environment_value is not None:
        typer.echo(f"No value uses key {key_id}. Set on every app server:")
        typer.echo(f"TELLONCE_ENCRYPTION_KEYS={done.environment_value}")
    else:
        typer.echo(f"Removed key {key_id} from {settings.resolved_key_file}; no value used it.")
    typer.echo(f"Restoring a backup made before the re-encryption needs key {key_id} configured again.")


def backup_command(
    path: Annotated[Path, typer.Argument(help="The new backup file (never overwritten)")],
) -> None:
    """Back up the database to a new file (0600); safe while the server runs."""
    from app.backup import backup
    from app.errors import BackupError
    from app.settings import get_settings

    settings = get_settings()
    try:
        backup(settings.resolved_database_url, path, settings.pg_bin_dir)
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Backed up the database to {path} ({path.stat().st_size} bytes, readable by its owner only).")
    typer.echo(KEYS_NOT_IN_BACKUP)


def restore_command(
    path: Annotated[Path, typer.Argument(help="A backup made by `tellonce backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Replace the database with a backup (stop every app server first), only if the backup checks out.

    The backup is checked (audit chain, every value decrypts with the configured keys) before the live
    database is replaced, and the replaced database is kept as a dated copy; a failing restore leaves the
    live database as it was.
    """
    from app.backup import restore, verify
    from app.cli import _safe_url
    from app.crypto import get_key_ring
    from app.errors import BackupError
    from app.settings import get_settings

    settings = get_settings()
    url = settings.resolved_database_url
    if not yes:
        typer.confirm(f"Replace everything in {_safe_url(url)} with the backup {path}?", abort=True)
    ring = get_key_ring()
    try:
        done = restore(url, path, lambda checked: verify(checked, ring), settings.pg_bin_dir)
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    found = done.verification
    if found.problem is not None:
        typer.echo(f"The backup {path} cannot be checked: {found.problem}.", err=True)
    elif found.broken is not None:
        typer.echo(f"The audit chain of the backup is broken at {found.broken}.", err=True)
    else:
        typer.echo(f"The audit chain is intact ({found.events} events).")
    if found.unreadable:
        total = sum(found.unreadable.values())
        typer.echo(
            f"{total} encrypted value(s) of the backup cannot be read with the configured keys ("
            + ", ".join(f"{c}: {n}" for c, n in sorted(found.unreadable.items()))
            + "). Configure the keys this backup was made with (a retired key too, if the backup is older "
            "than its re-encryption).",
            err=True,
        )
    elif found.problem is None:
        typer.echo("Every encrypted value decrypts with the configured keys.")
    if not done.restored:
        typer.echo(f"Nothing was restored: {_safe_url(url)} is exactly as it was.", err=True)
        if done.rolled_back and done.safety_copy is not None:
            typer.echo(f"(It was put back from the copy taken first, kept in {done.safety_copy}.)", err=True)
        raise typer.Exit(1)
    typer.echo(f"Restored {_safe_url(url)} from {path}.")
    if done.safety_copy is not None:
        typer.echo(
            f"The database as it was before is kept in {done.safety_copy} (readable by its owner only); "
            "delete it once you no longer need it."
        )
    typer.echo("Reminder: " + KEYS_NOT_IN_BACKUP)
