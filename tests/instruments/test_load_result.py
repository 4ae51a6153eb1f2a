"""The one loader entry point, `instruments.load`, its result, and the warnings it carries."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import instruments
from app.cli import cli
from instruments import loader
from tests.instruments.malformed_base import BASE, SHOW_IF, edit, line_with

NOT_YES = edit((SHOW_IF, "show_if: \"slept_elsewhere != 'yes'\""))


def test_a_valid_text_loads_into_a_result_holding_the_instrument() -> None:
    result = instruments.load(text=BASE, name="base.yaml")
    assert result.ok
    assert result.problems == [] and result.warnings == []
    assert result.instrument is not None and result.instrument.key == ("base-check", "1.0.0")
    assert result.registry.get("base-check") is result.instrument


def test_a_file_with_problems_gives_no_instrument_and_or_raise_lists_them(tmp_path: Path) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text(edit(("sum(weights) >= 1", "sum(weight) >= 1")), encoding="utf-8")
    result = instruments.load([file])
    assert not result.ok
    assert result.instrument is None
    assert [p.code for p in result.problems] == ["expression"]
    with pytest.raises(instruments.InstrumentError) as raised:
        result.or_raise()
    assert raised.value.problems == result.problems


def test_not_equal_on_an_item_that_may_be_unanswered_is_a_warning_that_does_not_stop_loading() -> None:
    result = instruments.load(text=NOT_YES)
    assert result.ok and result.instrument is not None
    assert [w.code for w in result.warnings] == ["unanswered_comparison"]
    warning = result.warnings[0]
    assert warning.line == line_with(NOT_YES, "slept_elsewhere != 'yes'")
    assert warning.path == "items[1](felt_safe).show_if"
    assert "is false when 'slept_elsewhere' is unanswered" in warning.message
    assert "`not slept_elsewhere == 'yes'`" in warning.message


def test_not_in_is_the_same_trap() -> None:
    text = edit((SHOW_IF, "show_if: \"slept_elsewhere not in ['yes']\""))
    (warning,) = instruments.load(text=text).warnings
    assert "`not slept_elsewhere in ['yes']`" in warning.message


@pytest.mark.parametrize(
    "condition",
    [
        "answered(slept_elsewhere) and slept_elsewhere != 'yes'",  # explicit: the author said so
        "not slept_elsewhere == 'yes'",  # the explicit form the warning suggests
        "slept_elsewhere == 'no'",
    ],
)
def test_the_explicit_forms_give_no_warning(condition: str) -> None:
    result = instruments.load(text=edit((SHOW_IF, f'show_if: "{condition}"')))
    assert result.ok and result.warnings == []


def test_the_warning_is_true_an_unanswered_item_makes_the_comparison_false() -> None:
    from instruments.expressions import Context

    compiled = instruments.load(text=NOT_YES).instrument
    assert compiled is not None
    show_if = compiled.show_if["felt_safe"]
    assert show_if.truth(Context({"slept_elsewhere": "no"}))
    assert not show_if.truth(Context({"slept_elsewhere": None}))


def test_validate_shows_warnings_with_a_hint_and_still_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "BUNDLED_DIR", tmp_path / "no-bundled")
    monkeypatch.delenv(loader.PATH_VARIABLE, raising=False)
    file = tmp_path / "not-yes.yaml"
    file.write_text(NOT_YES, encoding="utf-8")
    result = CliRunner().invoke(cli, ["instruments", "validate", str(file)])
    assert result.exit_code == 0, result.output
    assert f"warning: {file}:{line_with(NOT_YES, 'slept_elsewhere !=')}:" in result.output
    assert "how to fix: write `not x == 'a'`" in result.output
    assert "ok  base-check 1.0.0" in result.output
