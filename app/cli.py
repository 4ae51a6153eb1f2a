"""The `tellonce` command."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from app import ops_cli
from app.evaluation.cli import evaluate_command
from app.exports.cli import export_command
from app.interop.fhir_import_cli import import_fhir_command
from instruments.cli import cli as instruments_cli
from scoring.cli import score_command

cli = typer.Typer(help="TellOnce: trauma-informed screening, told once.", no_args_is_help=True)
instruments_cli.command("import-fhir")(import_fhir_command)
cli.add_typer(instruments_cli, name="instruments")
cli.command("score")(score_command)
cli.command("export")(export_command)
cli.command("evaluate")(evaluate_command)
db_cli = typer.Typer(help="Database commands.", no_args_is_help=True)
users_cli = typer.Typer(help="User accounts.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
audit_cli = typer.Typer(help="The audit log.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")
cli.add_typer(ops_cli.keys_cli, name="keys")
cli.command("backup")(ops_cli.backup_command)
cli.command("restore")(ops_cli.restore_command)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest migration."""
    from app.db import upgrade_database
    from app.settings import get_settings

    upgrade_database()
    typer.echo(f"Database is up to date: {_safe_url(get_settings().resolved_database_url)}")


@users_cli.command("create")
def users_create(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt="Display name")],
    agency: Annotated[str, typer.Option(help="Agency name; created if it does not exist")] = "Administration",
    admin: Annotated[bool, typer.Option("--admin", help="Make a system administrator")] = False,
    role: Annotated[str, typer.Option(help="Role when not --admin")] = "screener",
) -> None:
    """Add a user (the first run: `tellonce users create --admin`). The password is asked twice."""
    from sqlmodel import select

    from app.accounts import service
    from app.accounts.schemas import AgencyCreate, UserCreate
    from app.db import get_engine, upgrade_database
    from app.errors import AppError
    from app.models import Agency, Role

    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password again: "):
        typer.echo("The passwords differ; nothing was created.", err=True)
        raise typer.Exit(1)
    upgrade_database()
    with Session(get_engine()) as db:
        try:
            found = db.exec(select(Agency).where(Agency.name == agency)).first()
            agency_row = found or service.create_agency(db, AgencyCreate(name=agency, kind="other"), None)
            user = service.create_user(
                db,
                UserCreate(
                    agency_id=agency_row.id,
                    email=email,
                    display_name=name,
                    role=Role.system_admin if admin else Role(role),
                    password=password,
                ),
                None,
            )
            created = f"Created {user.role} {user.email} in {agency}."  # read before the commit expires the row
            db.commit()
        except AppError as exc:
            typer.echo(f"Not created: {exc.message}", err=True)
            raise typer.Exit(1) from None
    typer.echo(created)


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check every audit chain; name the chain and position of the first broken link of each broken chain."""
    from app import audit

    with Session(ops_cli.existing_database()) as db:
        found = audit.check(db)
    if found.breaks:
        for broken in found.breaks:
            typer.echo(f"The audit log is broken at {broken.describe()}.", err=True)
        typer.echo(f"Checked {found.events} event(s) in {found.chains} chain(s).", err=True)
        raise typer.Exit(1)
    typer.echo(f"The audit chain is intact: {found.events} event(s) in {found.chains} chain(s).")


@cli.command("reindex-search")
def reindex_search() -> None:
    """Give records from before youth search their search keys (idempotent; `serve` runs it at start-up)."""
    from app.db import upgrade_database

    upgrade_database()
    typer.echo(f"Search keys added for {_reindex_search()} youth record(s).")


def _reindex_search() -> int:
    from app.crypto import get_key_ring
    from app.records.search import reindex_missing

    return _committed(lambda db: reindex_missing(db, get_key_ring()))


def _store_report_levels() -> int:
    """Results completed before domain levels were stored get theirs (idempotent; needs the keys)."""
    from app.crypto import get_key_ring
    from app.screenings.report_levels import backfill

    return _committed(lambda db: backfill(db, get_key_ring()))


def _committed(work: Callable[[Session], int]) -> int:
    """Run one start-up backfill in a transaction of its own; returns how many rows (or people) it did."""
    from app.db import get_engine

    with Session(get_engine()) as db:
        done = work(db)
        db.commit()
    return done


@cli.command("derive-rollup")
def derive_rollup() -> None:
    """Derive the performance report's roll-up where completed screenings have none (after migration 0018, or a
    bulk load; idempotent; `serve` runs it at start-up)."""
    from app.db import upgrade_database

    upgrade_database()
    typer.echo(f"The performance report's roll-up was derived for {_derive_evaluation_rollup()} people.")


def _derive_evaluation_rollup() -> int:
    """Completed screenings without the performance report's roll-up rows get theirs (idempotent)."""
    from app.evaluation import rollup

    return _committed(rollup.backfill)


@cli.command()
def demo() -> None:
    """Add the synthetic demo data: agencies, users of every role, a few youth and their screenings, and (unless
    TELLONCE_DEMO_CHECKINS=0) two years of synthetic check-ins at Riverbend and Harbor for the aggregate report."""
    _seed_demo()


@cli.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    with_demo: Annotated[bool, typer.Option("--demo", help="Add the synthetic demo data first")] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (default: TELLONCE_WORKERS, else 1); more than 1 for PostgreSQL"),
    ] = None,
) -> None:
    """Upgrade the database and run the web app.

    The one-time work (key check, migrations, instrument check, search keys, demo data) runs here, once,
    before any worker starts; each worker then only opens its own connections and serves.
    """
    import uvicorn

    from app.db import get_engine, upgrade_database
    from app.main import create_app, loaded_instruments
    from app.settings import get_settings, served_url

    workers = workers or get_settings().workers
    _refuse_unsafe_start(None)  # what needs no database first: nothing is created for a server that cannot start
    loaded_instruments()
    upgrade_database()
    _refuse_unsafe_start(get_engine())
    _reindex_search()
    _store_report_levels()
    _derive_evaluation_rollup()
    if with_demo:
        _seed_demo()
    get_engine().dispose()  # the start-up's connections are not the workers' (each worker opens its own)
    plural = f" with {workers} workers" if workers > 1 else ""
    if workers > 1 and get_engine().dialect.name == "sqlite":
        typer.echo(  # it works (the workers take turns to write), but only reads run side by side (docs/deployment.md)
            "Note: SQLite lets one process write at a time: the workers take turns to write, so more than one "
            "speeds up reading pages, not saving screenings; use PostgreSQL for that.",
            err=True,
        )
    listening = served_url(host, port)
    # Links are built from this when TELLONCE_BASE_URL is unset; the environment carries it to the workers.
    os.environ["TELLONCE_SERVED_URL"] = listening
    get_settings.cache_clear()
    public = get_settings().public_base_url()
    also = f" (listening on {listening})" if public != listening else ""
    typer.echo(f"\nTellOnce is running at {public}/{also}{plural}  (press Ctrl+C to stop)\n")
    if workers == 1:
        uvicorn.run(create_app(upgrade_database=False), host=host, port=port, log_level="warning")
    else:
        uvicorn.run("app.startup:worker_app", factory=True, workers=workers, host=host, port=port, log_level="warning")


def _refuse_unsafe_start(engine: Engine | None) -> None:
    """The start-up checks, with their message instead of a traceback: without an engine only those that need
    no database (keys, public address), with one all of them (and instrument versions)."""
    from app.errors import StartupRefused
    from app.main import loaded_instruments
    from app.startup import check, check_configuration

    try:
        if engine is None:
            check_configuration()
        else:
            check(engine, loaded_instruments())
    except StartupRefused as exc:
        typer.echo(f"TellOnce cannot start.\n{exc}", err=True)
        raise typer.Exit(1) from None


def _seed_demo() -> None:
    from app import demo as demo_data
    from app.crypto import get_key_ring
    from app.db import get_engine, upgrade_database
    from app.main import loaded_instruments
    from app.settings import get_settings

    upgrade_database()
    with Session(get_engine()) as db:
        registry = loaded_instruments()  # serve has loaded them already: parsing them again took seconds
        created = demo_data.seed(db, get_key_ring(), registry)
        db.commit()
        people = get_settings().demo_cohort_people
        if created and people:
            typer.echo(
                f"Adding {people} synthetic people for the instrument performance report (docs/evaluation.md)..."
            )
            demo_data.seed_cohort(db, get_key_ring(), registry, people)
            db.commit()
        if created and get_settings().demo_checkins:
            typer.echo(
                "Adding two years of synthetic check-ins at Riverbend and Harbor for the aggregate report's charts..."
            )
            added = demo_data.seed_screenings(db, get_key_ring(), registry, progress=_progress)
            db.commit()
            typer.echo(f"  {added} check-ins added.")
    typer.echo("Demo data " + ("added." if created else "was already there."))
    typer.echo(f"Demo logins (password for all: {demo_data.DEMO_PASSWORD}):")
    for agency, role, email in demo_data.logins():
        typer.echo(f"  {email:42} {role:13} {agency}")


def _progress(done: int, total: int) -> None:
    """One line that counts up while the demo stores its check-ins (a terminal sees it change in place)."""
    typer.echo(f"\r  {done} of {total}", nl=done == total)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Entry point of the console script: a configuration mistake is told plainly (exit 1), not as a traceback."""
    from pydantic import ValidationError

    from app.errors import KeyConfigurationError, MissingKeys

    try:
        cli(prog_name="tellonce")
    except ValidationError as exc:
        problems = "\n".join(f"  - {_plain(error['msg'])}" for error in exc.errors())
        typer.echo(f"TellOnce is not configured correctly (TELLONCE_* settings):\n{problems}", err=True)
        sys.exit(1)
    except (KeyConfigurationError, MissingKeys) as exc:
        typer.echo(f"TellOnce is not configured correctly:\n{exc}", err=True)
        sys.exit(1)


def _plain(message: str) -> str:
    return message.removeprefix("Value error, ")


if __name__ == "__main__":
    main()
