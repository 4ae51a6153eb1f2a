"""The one golden-table runner: every bundled instrument version's worked cases (`examples:` in its file,
worked out by hand from its rules) run through `scoring.examples`, as `tellonce instruments validate` runs
them, plus the checks of the engine itself that no instrument file states (the reference agrees, a reason
carries its rule's explanation, bundled clauses are stated whole).

A bundled scored version without examples fails: a version with new rules needs cases of its own, and a
version that scores like an earlier one carries that one's cases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import instruments
import scoring
from instruments.compiled import CompiledInstrument
from instruments.loader import BUNDLED_DIR
from scoring.examples import check_examples
from scoring.result import RuleReason
from tests.scoring.test_differential import differences
from tests.support.bundled import bundled_registry

SCORED = [c for c in bundled_registry().all() if c.definition.scoring is not None]

# How many cases each version carries: 81 in the former golden test tables (48 for the 1.0.0 versions, 33
# for the 1.1.0 rules). 1.2.0, 1.3.0 (and brief 1.4.0) score exactly as 1.1.0 and carry its cases. A case
# may be added; none may be lost.
CASES_AT_LEAST = {
    ("tellonce-brief-screen", "1.0.0"): 12,
    ("tellonce-practitioner-indicators", "1.0.0"): 17,
    ("tellonce-youth-self-report", "1.0.0"): 19,
    **{("tellonce-brief-screen", v): 9 for v in ("1.1.0", "1.2.0", "1.3.0", "1.4.0")},
    **{("tellonce-practitioner-indicators", v): 13 for v in ("1.1.0", "1.2.0", "1.3.0")},
    **{("tellonce-youth-self-report", v): 11 for v in ("1.1.0", "1.2.0", "1.3.0")},
}
CLAUSE_FIELDS = ("collection", "members", "value", "op", "bound")


def named(instrument: CompiledInstrument) -> str:
    return f"{instrument.definition.id}-{instrument.definition.version}"


def each_example() -> list[Any]:
    return [pytest.param(c, e, id=f"{named(c)}:{e.name}") for c in SCORED for e in c.definition.examples]


def test_every_scored_bundled_version_carries_its_cases() -> None:
    counts = {(c.definition.id, c.definition.version): len(c.definition.examples) for c in SCORED}
    assert {k: n for k, n in counts.items() if n == 0} == {}, "scored bundled versions without examples"
    assert set(CASES_AT_LEAST) <= set(counts)
    assert {k: counts[k] for k in CASES_AT_LEAST if counts[k] < CASES_AT_LEAST[k]} == {}
    assert all(len({e.name for e in c.definition.examples}) == len(c.definition.examples) for c in SCORED)


@pytest.mark.parametrize("instrument", [pytest.param(c, id=named(c)) for c in SCORED])
def test_the_examples_hold(instrument: CompiledInstrument) -> None:
    mismatches = [f"{Path(p.file).name}:{p.line}: {p.message}" for p in check_examples(instrument)]
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize(("instrument", "example"), each_example())
def test_the_reference_agrees(instrument: CompiledInstrument, example: Any) -> None:
    assert differences(instrument, dict(example.answers)) == {}


@pytest.mark.parametrize(("instrument", "example"), each_example())
def test_each_reason_carries_the_explanation_of_its_rule(instrument: CompiledInstrument, example: Any) -> None:
    rules = instrument.definition.scoring
    assert rules is not None
    result = scoring.score(instrument, dict(example.answers))

    def explanation(reason: RuleReason, listed: tuple[Any, ...]) -> dict[str, str]:
        return dict(listed[reason.rule - 1].explain) if reason.rule else {}

    assert result.reason.explain == explanation(result.reason, rules.overall)
    for domain in result.domains:
        assert domain.reason.explain == explanation(domain.reason, rules.domain), domain.id


@pytest.mark.parametrize(("instrument", "example"), each_example())
def test_bundled_examples_state_their_clauses_whole(instrument: CompiledInstrument, example: Any) -> None:
    """An author may leave a clause's fields out; the bundled cases state every field the engine fills,
    so what they leave out must be empty."""
    result = scoring.score(instrument, dict(example.answers))
    stated = [(result.reason, example.expect.reason)] + [
        (result.domain(d).reason, r) for d, r in example.expect.domain_reasons.items()
    ]
    for got, want in stated:
        if want is None or want.clauses is None:
            continue
        for clause, found in zip(want.clauses, got.clauses, strict=True):
            left_out = {f: getattr(found, f) for f in CLAUSE_FIELDS if getattr(clause, f) is None}
            assert {f: v for f, v in left_out.items() if v not in (None, ())} == {}, clause.source


@pytest.mark.parametrize("file", sorted(BUNDLED_DIR.glob("*.yaml")), ids=lambda f: f.name)
def test_examples_leave_the_content_hash_of_a_bundled_file_unchanged(file: Path) -> None:
    text = file.read_text(encoding="utf-8")
    without = re.sub(r"\n(#[^\n]*\n)*examples:\n.*\Z", "\n", text, flags=re.DOTALL)
    assert "examples:" in text and "examples:" not in without
    carried = instruments.load(text=text).instrument
    plain = instruments.load(text=without).instrument
    assert carried is not None and plain is not None
    assert carried.content_hash == plain.content_hash and plain.definition.examples == ()
