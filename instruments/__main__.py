"""`python -m instruments`: the instrument commands without the web app."""

from instruments.cli import cli

cli(prog_name="tellonce instruments")
