"""`tellonce evaluate`: the performance report for an instrument version and a range of months.

It acts as a named user (`--as`), so the audit log knows who measured what, and the same role and scope
rules apply as on the page: supervisors, evaluators and agency admins measure their agency; system admins may ask for
the whole deployment. It writes the same figures as the page's CSV and JSON, or a plain summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

FORMATS = ("text", "json", "csv")


def evaluate_command(
    as_user: Annotated[str, typer.Option("--as", help="The e-mail of the supervisor or admin measuring")],
    instrument: Annotated[
        str | None, typer.Option("--instrument", help="instrument-id|version (default: the most screened)")
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM")] = None,
    scope: Annotated[str, typer.Option("--scope", help="agency or deployment (system admins)")] = "agency",
    fmt: Annotated[str, typer.Option("--format", help="text, json or csv")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="The file to write (default: standard output)")] = None,
    window_days: Annotated[int, typer.Option(help="Days between two instruments to compare them")] = 30,
    min_follow_up_months: Annotated[int, typer.Option(help="Months of follow-up before 'no indication' counts")] = 6,
    reference_clear: Annotated[float, typer.Option(help="Reference share of clear concern, percent")] = 19.0,
    reference_possible: Annotated[float, typer.Option(help="Reference share of possible concern, percent")] = 24.0,
) -> None:
    """Measure how well an instrument version's results foretold what was later learned (de-identified)."""
    from sqlmodel import Session, select

    from app.db import get_engine
    from app.errors import AppError
    from app.evaluation import report_io
    from app.models import User
    from instruments.loader import load

    if fmt not in FORMATS:
        typer.echo(f"Unknown format {fmt!r} (expected {', '.join(FORMATS)}).", err=True)
        raise typer.Exit(2)
    values = {
        "instrument": instrument or "",
        "scope": scope,
        "date_from": date_from or "",
        "date_to": date_to or "",
        "window_days": str(window_days),
        "min_follow_up_months": str(min_follow_up_months),
        "reference_clear": f"{reference_clear:g}",
        "reference_possible": f"{reference_possible:g}",
    }
    with Session(get_engine(), expire_on_commit=False) as db:
        user = db.exec(select(User).where(User.email == as_user.strip().lower())).first()
        if user is None or not user.is_active:
            typer.echo(f"No active user with the e-mail {as_user}.", err=True)
            raise typer.Exit(1)
        registry = load().or_raise()
        try:
            report_filter, errors, _versions = report_io.prepare(db, registry, user, values)
            if errors:
                for name, message in errors.items():
                    typer.echo(f"--{name.replace('_', '-')}: {message}", err=True)
                raise typer.Exit(2)
            if report_filter is None:
                typer.echo("No completed screenings to measure yet.", err=True)
                raise typer.Exit(1)
            report_io.audited(db, user, report_filter, f"cli-{fmt}")
            report = report_io.measured(db, registry, user, report_filter)
            db.commit()
        except AppError as exc:
            db.rollback()
            typer.echo(str(exc.message), err=True)
            raise typer.Exit(1) from exc
    if fmt == "json":
        text = json.dumps(report_io.as_json(report), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        text = report_io.csv_text(report)
    else:
        text = summary(report)
    if out is None:
        sys.stdout.write(text.removeprefix("\ufeff"))
    else:
        try:
            out.write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            typer.echo(f"Cannot write {out}: {exc.strerror or exc}.", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"Wrote {out}", err=True)


def _figure(estimate: Any) -> str:
    from app.evaluation.charts import interval

    return str(interval(estimate))


def summary(report: Any) -> str:
    """The figures as plain lines a person reads in a terminal."""
    f = report.filter
    lines = [
        f"Instrument {f.instrument_id} {f.version}, scope {f.scope.value}"
        + (f", {f.month_from:%Y-%m} to {f.month_to:%Y-%m}" if f.month_from and f.month_to else ""),
        "Suppressed figures read 'suppressed' (counts from 1 to 10).",
    ]
    for group in report.groups:
        head = "everyone" if group.dimension == "all" else f"{group.dimension.replace('_', ' ')} {group.key}"
        shown = group.screenings if group.screenings is not None else "suppressed"
        share = _figure(group.insufficient) if group.insufficient else "suppressed"
        lines.append(f"\n[{head}] screenings {shown}; not enough information {share}")
        if group.accuracy is None:
            lines.append("  accuracy: suppressed (a count behind it is from 1 to 10)")
            continue
        for row in group.accuracy:
            lines.append(f"  cut-off {row.cutoff} (tp {row.tp}, fp {row.fp}, fn {row.fn}, tn {row.tn})")
            for name in ("sensitivity", "specificity", "ppv", "npv"):
                lines.append(f"    {name:<12} {_figure(getattr(row, name))}")
    if report.roc is not None:
        roc = report.roc
        interval = f"95% {roc.low:.3f}-{roc.high:.3f}"
        lines.append(f"\nROC: AUC {roc.auc:.3f} ({interval}), {roc.positives} with, {roc.negatives} without")
    elif report.roc_note:
        lines.append(f"\nROC: {report.roc_note}")
    for item in report.agreement:
        pairs = item.pairs if item.pairs is not None else "suppressed"
        parts = []
        for name, kappa in (("three levels", item.kappa), ("screen-positive or not", item.positive_kappa)):
            value = (
                f"{kappa.value:.2f} (95% {kappa.low:.2f} to {kappa.high:.2f})"
                if kappa and kappa.value is not None
                else "suppressed"
            )
            parts.append(f"{name} {value}")
        lines.append(f"Agreement with {item.other_instrument} ({pairs} pairs): kappa on " + "; ".join(parts))
    return "\n".join(lines) + "\n"
