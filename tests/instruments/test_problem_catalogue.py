"""The catalogue of problem codes: complete, documented, and shown by `tellonce instruments validate`."""

from __future__ import annotations

import ast
from pathlib import Path

from typer.testing import CliRunner

import instruments
from app.cli import cli
from instruments.problems import CATALOGUE, markdown_table, schema_kinds_table
from tests.instruments.malformed_base import edit

ROOT = Path(__file__).resolve().parents[2]


def _literal_codes(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literal_codes(node.body) | _literal_codes(node.orelse)
    return set()


def emitted_codes() -> set[str]:
    """Every code written as the first argument of Problem(...) or add(...) in instruments/ and scoring/examples.py."""
    codes: set[str] = set()
    for file in [*(ROOT / "instruments").glob("*.py"), ROOT / "scoring" / "examples.py"]:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in ("Problem", "add"):
                codes |= _literal_codes(node.args[0])
    return codes


def test_every_code_the_loader_can_report_is_in_the_catalogue_and_no_other() -> None:
    emitted = emitted_codes()
    assert {"schema", "expression", "yaml", "unfed_indicator"} <= emitted  # the scan finds the codes
    assert emitted == set(CATALOGUE)


def test_every_code_has_a_title_and_a_hint() -> None:
    for code, kind in CATALOGUE.items():
        assert kind.title.strip() and kind.hint.strip(), code


def test_the_documented_table_is_the_catalogue() -> None:
    docs = (ROOT / "docs" / "instrument-format.md").read_text(encoding="utf-8")
    start = docs.index("<!-- problem codes:")
    body = docs[docs.index("\n", start) + 1 : docs.index("<!-- end of problem codes -->")]
    assert body == markdown_table(), "regenerate the table with instruments.problems.markdown_table()"


def test_the_documented_kinds_of_schema_problem_are_the_catalogue() -> None:
    docs = (ROOT / "docs" / "instrument-format.md").read_text(encoding="utf-8")
    start = docs.index("<!-- schema problem kinds:")
    body = docs[docs.index("\n", start) + 1 : docs.index("<!-- end of schema problem kinds -->")]
    assert body == schema_kinds_table(), "regenerate the table with instruments.problems.schema_kinds_table()"


def test_validate_prints_the_hint_under_each_problem(tmp_path: Path) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text(edit(("sum(weights) >= 1", "sum(weight) >= 1")), encoding="utf-8")
    loaded_result = instruments.load([file])
    _compiled, problems = loaded_result.instrument, loaded_result.problems
    assert [p.code for p in problems] == ["expression"]
    result = CliRunner().invoke(cli, ["instruments", "validate", str(file)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if "[expression]" in line)
    assert lines[at + 1] == f"    how to fix: {CATALOGUE['expression'].hint}"
