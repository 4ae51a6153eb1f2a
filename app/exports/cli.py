"""`tellonce export`: an export for a recipient agency, written to a file with a progress bar.

It acts as a named user (`--as`), so the ledger and the audit log know who exported; the same checks,
consent filter and ledger entries apply as in the pages and the API.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

FORMAT_HELP = (
    "csv (UTF-8, with a codebook file beside it), csv-excel (the same with a byte-order mark, so Excel shows "
    "accents; its codebook too), sav (SPSS) or dta (Stata) (with variable and value labels and a codebook beside; "
    "held in memory while written, so limited in size), json (an array), ndjson (one screening a line), "
    "fhir-bundle (one FHIR R4 Bundle) or fhir-ndjson (one FHIR resource a line)"
)
WITH_CODEBOOK = ("csv", "csv-excel", "sav", "dta")


def export_command(
    recipient: Annotated[str, typer.Option("--recipient", help="The recipient agency's name or id")],
    date_from: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First completion date, inclusive")
    ],
    date_to: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last completion date, inclusive")],
    as_user: Annotated[str, typer.Option("--as", help="The e-mail of the user running the export")],
    out: Annotated[Path, typer.Option("--out", help="The file to write", dir_okay=False)],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "csv",
    categories: Annotated[
        str, typer.Option("--categories", help="Comma-separated: result_summary (always), item_answers, notes")
    ] = "result_summary",
    purpose: Annotated[str, typer.Option("--purpose", help="care_coordination, referral or treatment")] = (
        "care_coordination"
    ),
    codebook: Annotated[bool, typer.Option("--codebook/--no-codebook", help="Also write the codebook")] = True,
) -> None:
    """Export your agency's completed screenings for a recipient agency: filtered by consent, in the ledger."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from sqlmodel import Session, or_, select

    from app.crypto import get_key_ring
    from app.db import get_engine
    from app.errors import AppError, InvalidInput
    from app.exports import codebook as codebooks
    from app.exports import stats_files, tabular
    from app.models import Agency, User
    from instruments.loader import load

    console = Console(stderr=True)
    with Session(get_engine(), expire_on_commit=False) as db:
        user = db.exec(select(User).where(User.email == as_user.strip().lower())).first()
        if user is None or not user.is_active:
            typer.echo(f"No active user with the e-mail {as_user}.", err=True)
            raise typer.Exit(1)
        agency = db.exec(select(Agency).where(or_(Agency.id == recipient, Agency.name == recipient))).first()
        if agency is None:
            typer.echo(f"No agency named {recipient!r}.", err=True)
            raise typer.Exit(1)
        registry = load().or_raise()
        try:
            if fmt not in tabular.FORMATS:
                raise InvalidInput(f"Unknown format '{fmt}' (expected {tabular.FORMAT_NAMES}).")
            planned = tabular.prepare(
                db, registry, user, agency.id, date_from.date(), date_to.date(), categories.split(","), purpose
            )
            total, done = tabular.count(db, planned.request), list[int]()
            db.commit()
            columns = (TextColumn("Exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("export", total=total)

                def advance(rows: int) -> None:
                    done.append(rows)
                    bar.advance(task, rows)

                if fmt in stats_files.FORMATS:  # its ledger entries are committed once the whole file is written
                    try:
                        tabular.write_file(
                            db, get_key_ring(), registry, planned, fmt, out, commit=False, progress=advance
                        )
                        db.commit()
                    except BaseException:
                        out.unlink(missing_ok=True)  # a file cut short is not left behind as if exported
                        raise
                else:
                    with out.open("w", encoding="utf-8", newline="") as file:
                        for line in tabular.stream(db, get_key_ring(), registry, planned, fmt, progress=advance):
                            file.write(line)
        except AppError as exc:
            db.rollback()
            typer.echo(f"Not exported: {exc.message}", err=True)
            raise typer.Exit(1) from None
        written = [str(out)]
        if fmt in WITH_CODEBOOK and codebook:
            beside = out.with_name(out.stem + ".codebook.csv")
            text = codebooks.codebook_csv(planned, excel=fmt == "csv-excel")
            beside.write_text(text, encoding="utf-8", newline="")
            written.append(str(beside))
    typer.echo(f"Exported {sum(done)} screening(s) to {agency.name}: {', '.join(written)}")
