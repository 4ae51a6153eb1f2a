"""The CSV writer writes each instrument version's fixed cells once and reuses them: its lines must be exactly
what the csv module writes for every cell of the row, worked out column by column (the reference below)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from app.exports import writers
from app.exports.plan import (
    BASE_COLUMNS,
    NOT_ASKED_IN_VERSION,
    NOT_ASSESSED,
    NOT_IN_INSTRUMENT,
    NOT_SHARED,
    UNANSWERED,
    ExportRequest,
    Plan,
    plan_for,
)
from instruments.loader import BUNDLED_DIR, Registry, load
from scoring import score

TRICKY = ('=HYPERLINK("http://x.example")', 'a "quoted", comma', "two\r\nlines", "-2", "@home", "", "plain")


@pytest.fixture(scope="module")
def registry() -> Registry:
    loaded_result = load([BUNDLED_DIR])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems
    return loaded


def _plan(registry: Registry, *, with_items: bool = True, with_notes: bool = True) -> Plan:
    request = ExportRequest("u" * 32, "a" * 32, "b" * 32, *(2 * [None]), ("result_summary",), "care_coordination")  # type: ignore[arg-type]
    ids = {c.id for c in registry.all()}
    return plan_for(
        registry,
        request,
        ids,
        agency_name="=Agency, Inc.",
        recipient_name="B",
        with_items=with_items,
        with_notes=with_notes,
    )


def reference_cells(plan: Plan, row: dict[str, Any]) -> list[str]:
    """Every cell of a row, column by column, the obvious way."""
    out = [writers.cell(row[name]) for name in BASE_COLUMNS]
    out += writers.result_cells(row["result"])
    out += [writers.cell(row["domains"].get(d, NOT_ASSESSED)) for d in plan.domains]
    if plan.with_notes:
        out.append(NOT_SHARED if row.get("notes") is None else writers.cell(row["notes"]))
    compiled = next((c for c in plan.instruments if c.key == (row["instrument_id"], row["instrument_version"])), None)
    for owner, item in plan.items:
        value: Any = None
        if owner != row["instrument_id"]:
            out.append(NOT_IN_INSTRUMENT)
        elif compiled is not None and item not in compiled.items:
            out.append(NOT_ASKED_IN_VERSION)
        elif row.get("answers") is None:
            out.append(NOT_SHARED)
        else:
            value = row["answers"].get(item, UNANSWERED)
            out.append(writers.cell(value))
        asked = compiled.items.get(item) if compiled is not None and owner == row["instrument_id"] else None
        offered = (
            {o.code for o in getattr(asked, "options", ())} if asked and asked.type == "multiple_choice" else set()
        )
        for code in plan.choices.get((owner, item), ()):  # 1 chosen, 0 offered and not chosen, else blank
            chosen = isinstance(value, list) and code in value
            out.append("1" if chosen else "0" if isinstance(value, list) and code in offered else "")
    return out


def _rows(registry: Registry) -> list[dict[str, Any]]:
    rows = []
    for n, compiled in enumerate(registry.all()):
        result = score(compiled, {}).to_dict()
        items = list(compiled.visibility_order)
        answers: dict[str, Any] = {item: TRICKY[i % len(TRICKY)] for i, item in enumerate(items)}
        answers[items[0]] = ["a", "=b"]  # choices
        for item in items:
            codes = sorted(compiled.codes.get(item) or ()) if compiled.items[item].type == "multiple_choice" else None
            if codes is not None:  # some chosen, or none
                answers[item] = codes[n % 2 :: 2] if n % 3 else []
        answers[items[-1]] = 3.5
        answers.pop(items[1], None)  # unanswered
        rows.append(
            {
                "person_key": "=cmd|' /C calc'!A0" if n % 2 else f"{n:032x}",
                "screening_id": f"{n:032x}",
                "agency": "=Agency, Inc.",
                "instrument_id": compiled.id,
                "instrument_version": compiled.version,
                "content_hash": compiled.content_hash,
                "mode": "self",
                "language": "en",
                "started_at": "2026-01-01T10:00:00+00:00",
                "completed_at": "2026-01-01T10:20:00+00:00",
                "overall_level": result["overall"],
                "domains": {d["id"]: d["level"] for d in result["domains"]},
                "result": result,
                "answers": None if n % 3 == 1 else answers,
                "notes": [None, "", 'Said "no", then yes\nlater'][n % 3],
            }
        )
    unknown = dict(rows[0], instrument_version="0.0.1", screening_id="f" * 32)  # a version no longer loaded
    return [*rows, unknown]


def _csv(lines: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(lines)
    return buffer.getvalue()


@pytest.mark.parametrize(("with_items", "with_notes"), [(True, True), (True, False), (False, True)])
def test_the_lines_are_the_csv_modules_for_every_cell(registry: Registry, with_items: bool, with_notes: bool) -> None:
    plan = _plan(registry, with_items=with_items, with_notes=with_notes)
    rows = _rows(registry)
    expected = _csv([list(plan.columns)] + [reference_cells(plan, row) for row in rows])
    written = "".join(writers.csv_lines(plan, rows))
    assert written == expected
    parsed = list(csv.reader(io.StringIO(written, newline="")))
    assert all(len(line) == len(plan.columns) for line in parsed)
    answers = [cell for line in parsed[1:] for cell in line[len(plan.columns) - len(plan.items) :]]
    assert ('\'=HYPERLINK("http://x.example")' in answers) == with_items  # formulas defused in answers too
    assert not any(cell.startswith(("=", "@")) for line in parsed[1:] for cell in line)


def test_an_instrument_with_a_single_item_column_and_an_empty_answer(registry: Registry) -> None:
    """A block of one empty cell is an empty cell within the line (the csv module writes a lone one as "")."""
    plan = _plan(registry)
    compiled = registry.all()[0]
    first = next(item for owner, item in plan.items if owner == compiled.id)
    plan.__dict__["items"] = tuple((o, i) for o, i in plan.items if o != compiled.id or i == first)
    plan.__dict__.pop("columns", None)
    row = _rows(registry)[0] | {"answers": {first: ""}}
    written = "".join(writers.csv_lines(plan, [row]))
    assert written == _csv([list(plan.columns), reference_cells(plan, row)])


def test_the_lines_with_a_0_1_column_per_option_are_the_csv_modules(tmp_path: Path) -> None:
    """Instruments with multiple choices over two versions (the second adds an option): each option's 0/1 cells."""
    from tests.app.test_exports_analyst import ANALYST_YAML, SOCIAL

    (tmp_path / "a1.yaml").write_text(ANALYST_YAML.format(version="1.0.0", extra_option=""))
    (tmp_path / "a2.yaml").write_text(ANALYST_YAML.format(version="2.0.0", extra_option=SOCIAL))
    loaded_result = load([BUNDLED_DIR, tmp_path])
    registry, problems = loaded_result.registry, loaded_result.problems
    assert not problems
    plan = _plan(registry)
    assert plan.choices[("analyst-mini", "channels")] == ("phone", "app", "social")
    rows = _rows(registry)
    newest = next(r for r in rows if r["instrument_id"] == "analyst-mini" and r["instrument_version"] == "2.0.0")
    for channels in (["social"], ["phone", "app"], [], "declined"):
        rows.append(dict(newest, answers=dict(newest["answers"] or {}, channels=channels)))
    written = "".join(writers.csv_lines(plan, rows))
    assert written == _csv([list(plan.columns)] + [reference_cells(plan, row) for row in rows])
    cells = [line[plan.columns.index("analyst-mini.channels___social")] for line in csv.reader(io.StringIO(written))]
    assert {"", "0", "1"} <= set(cells[1:])
