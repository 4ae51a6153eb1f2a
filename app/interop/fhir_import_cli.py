"""`tellonce instruments import-fhir FILE`: a FHIR Questionnaire as an instrument file to review.

It lives beside the importer (which is part of the web app's FHIR code) rather than in
`instruments.cli`, so that `instruments/` stays importable without the web app; `app.cli` adds it to
the `instruments` commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.interop.fhir_import import QuestionnaireImportReport, import_fhir


def _thresholds(given: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for entry in given:
        level, _, number = entry.partition("=")
        try:
            out[level.strip()] = float(number)
        except ValueError:
            raise typer.BadParameter(
                f"{entry!r}: write LEVEL=N, e.g. possible_concern=10", param_hint="--threshold"
            ) from None
    return out


def print_report(report: QuestionnaireImportReport) -> None:
    """What was kept, changed and dropped, each by linkId, and whether the YAML loads."""
    typer.echo(f"Kept ({len(report.kept)}):")
    for kept in report.kept:
        typer.echo(f"  {kept.link_id} -> {kept.item_id} ({kept.type})")
    for title, notes in (("Changed", report.changed), ("Dropped", report.dropped)):
        typer.echo(f"{title} ({len(notes)}):")
        for note in notes:
            typer.echo(f"  {note.link_id or '(questionnaire)'}: {note.message}")
    scoring = (
        "weighted sum with your thresholds"
        if report.scored
        else "the sum of the weights is reported as its total; no level is concluded (no thresholds)"
        if report.total
        else "unscored (no level is concluded)"
    )
    typer.echo(f"Scoring: {scoring}")
    for missing in report.missing_answers:
        typer.echo(
            f"Incomplete: the answer list {missing.value_set} is not in the file, so {', '.join(missing.link_ids)} "
            "were left out; put it in a Bundle with the Questionnaire and import again"
        )


def import_fhir_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A Questionnaire, or a Bundle holding one")],
    out: Annotated[Path | None, typer.Option(help="Where to write the YAML; default: next to FILE")] = None,
    instrument_id: Annotated[str | None, typer.Option("--id", help="Instrument id; default: from the name")] = None,
    version: Annotated[str | None, typer.Option(help="Version; default: the source's, else 1.0.0")] = None,
    threshold: Annotated[
        list[str] | None, typer.Option(help="LEVEL=N (possible_concern, clear_concern): a weighted sum's threshold")
    ] = None,
) -> None:
    """Write a FHIR R4 Questionnaire as an instrument YAML to review; exit non-zero if it would not load."""
    try:
        upload = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"{file} is not a JSON file: {exc}", err=True)
        raise typer.Exit(1) from exc
    if not isinstance(upload, dict):
        typer.echo(f"{file} holds JSON, but not a FHIR resource", err=True)
        raise typer.Exit(1)
    report = import_fhir(upload, _thresholds(threshold or []), instrument_id, version)
    print_report(report)
    if report.yaml:
        target = out or file.with_name(report.file_name)
        target.write_text(report.yaml, encoding="utf-8")
        typer.echo(f"Wrote {target}")
    if not report.loads:
        typer.echo("It does not load:", err=True)
        for problem in report.problems:
            typer.echo(f"  {problem.link_id or '(questionnaire)'}: {problem.message}", err=True)
        raise typer.Exit(1)
    typer.echo("It loads. Review it, then save it into a folder on TELLONCE_INSTRUMENT_PATH.")
