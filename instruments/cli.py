"""`tellonce instruments ...`: validate, list and describe instrument files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from instruments.compiled import json_schema
from instruments.loader import configured_paths, load
from instruments.problems import hint_for

cli = typer.Typer(help="Check and list instrument definitions.", no_args_is_help=True)


@cli.command()
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders; default: every loaded instrument")
    ] = None,
) -> None:
    """Check instrument files and run their examples; exit non-zero listing every problem with its file and line."""
    from scoring.examples import check_examples  # scoring builds on instruments: imported where it is used

    result = load(paths or configured_paths(), beside=configured_paths())
    problems = [*result.problems, *(p for compiled in result.checked for p in check_examples(compiled))]
    for problem in problems:
        typer.echo(str(problem), err=True)
        if hint_for(problem):
            typer.echo(f"    how to fix: {hint_for(problem)}", err=True)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
        typer.echo(f"    how to fix: {hint_for(warning)}", err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s) found.", err=True)
        raise typer.Exit(1)
    for compiled in result.checked:
        examples = len(compiled.definition.examples)
        typer.echo(
            f"ok  {compiled.id} {compiled.version}  ({compiled.file})"
            + (f"  {examples} example(s) hold" if examples else "")
        )
    if result.warnings:
        typer.echo(f"{len(result.warnings)} warning(s): they do not stop loading; read them above.", err=True)


@cli.command("list")
def list_instruments() -> None:
    """List the loaded instruments: id, version, modes, languages."""
    result = load()
    for compiled in result.registry.all():
        d = compiled.definition
        validated = "validated" if d.provenance.validated else "not validated"
        typer.echo(f"{d.id}\t{d.version}\tmodes={','.join(d.modes)}\tlanguages={','.join(d.languages)}\t{validated}")
    if result.problems:
        typer.echo(
            f"{len(result.problems)} instrument file(s) have problems; run 'tellonce instruments validate'.", err=True
        )
        raise typer.Exit(1)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of an instrument file, for editors."""
    typer.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))
