"""`tellonce score`: score a file of answers with a loaded instrument and print the result as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from instruments.loader import load
from scoring.answers import AnswerError
from scoring.engine import score


def score_command(
    instrument_id: Annotated[str, typer.Argument(help="Instrument id, e.g. tellonce-brief-screen")],
    answers_file: Annotated[Path, typer.Argument(help="JSON object: item id -> answer")],
    version: Annotated[str | None, typer.Option(help="Instrument version (default: the newest)")] = None,
) -> None:
    """Score ANSWERS_FILE with an instrument and print the explained result as JSON."""
    loaded_result = load()
    registry, _ = loaded_result.registry, loaded_result.problems
    instrument = registry.get(instrument_id, version)
    if instrument is None:
        known = ", ".join(f"{c.id} {c.version}" for c in registry.all())
        typer.echo(f"No instrument '{instrument_id}'{' ' + version if version else ''}. Loaded: {known}", err=True)
        raise typer.Exit(2)
    try:
        answers = json.loads(answers_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"Cannot read {answers_file}: {exc}", err=True)
        raise typer.Exit(2) from None
    except json.JSONDecodeError as exc:
        typer.echo(f"{answers_file}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(answers, dict):
        typer.echo(f"{answers_file}: must hold a JSON object mapping item ids to answers", err=True)
        raise typer.Exit(2)
    try:
        result = score(instrument, answers)
    except AnswerError as exc:
        typer.echo(f"{answers_file}: {len(exc.problems)} invalid answer(s):", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
