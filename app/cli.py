"""The `tellonce` command."""

from __future__ import annotations

import typer

from instruments.cli import cli as instruments_cli
from scoring.cli import score_command

cli = typer.Typer(help="TellOnce: trauma-informed screening, told once.", no_args_is_help=True)
cli.add_typer(instruments_cli, name="instruments")
cli.command("score")(score_command)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="tellonce")
