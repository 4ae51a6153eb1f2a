"""What the golden tables of every bundled instrument share: answer codes, the case shape, parametrization,
and for the 1.1.0 tables one check of everything a case states and the versions they hold for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

import scoring
from instruments.compiled import CompiledInstrument
from tests.support.bundled import bundled_registry

NO, POSS, CLEAR, UNK = "no_concern", "possible_concern", "clear_concern", "unknown"
INS = "insufficient_information"  # a domain or overall result that cannot conclude; never an indicator level
NEI, DECL, NOT_ASKED = "not_enough_info", "declined", "not_asked"


@dataclass(frozen=True)
class Reason:
    rule: int
    indicators: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    id: str
    answers: dict[str, Any]
    overall: str
    domains: dict[str, str] = field(default_factory=dict)
    other_domains: str | None = None  # the level of every domain not named in `domains`
    indicators: dict[str, str] = field(default_factory=dict)
    other_indicators: str | None = None
    reason: Reason | None = None
    domain_reasons: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    evidence: dict[str, tuple[tuple[str, Any, str], ...]] = field(default_factory=dict)
    completeness: tuple[int, int, int, int, int, int] | None = None  # total, answered, declined, nei, not asked, none


def case_params(cases: Sequence[Case], *, having: str | None = None) -> list[Any]:
    """The cases (those that state `having`, when given) as pytest params named by their ids."""
    return [pytest.param(c, id=c.id) for c in cases if having is None or getattr(c, having)]


def expected_levels(named: dict[str, str], others: str | None, every: tuple[str, ...]) -> dict[str, str]:
    """The named levels, and `others` for every id not named (when given)."""
    if others is None:
        return dict(named)
    return {i: named.get(i, others) for i in every}


# ---- what the 1.1.0 tables state besides levels: clauses, skipped sections, the total ----

# The versions the 1.1.0 tables hold for: 1.2.0 asks the same questions with the same scoring rules
# and only adds `carry` (how long an answer may be carried forward), and 1.3.0 only adds
# `screen_again` to next steps (when to screen again), so each must give every result 1.1.0 gives.
# A newer version with other rules gets tables of its own.
RULES_OF_1_1_0 = ("1.1.0", "1.2.0", "1.3.0")
_BUNDLED = bundled_registry()


def bundled(instrument_id: str, version: str) -> CompiledInstrument:
    """A bundled instrument version, which must exist."""
    compiled = _BUNDLED.get(instrument_id, version)
    assert compiled is not None, f"{instrument_id} {version} is not bundled"
    return compiled


@dataclass(frozen=True)
class Clause:
    """A part of a fired rule's condition that was true, as a reason names it."""

    source: str
    collection: str | None = None
    members: tuple[str, ...] = ()
    value: float | None = None
    op: str | None = None
    bound: float | None = None


@dataclass(frozen=True)
class Expect:
    """A golden case of a 1.1.0 instrument: the levels and reasons of `Case`, and more."""

    case: Case
    clauses: tuple[Clause, ...] | None = None  # of the overall reason
    domain_clauses: dict[str, tuple[Clause, ...]] = field(default_factory=dict)
    skipped: tuple[str, ...] | None = None
    total: float | None = None  # stated only for an instrument that declares one


def expect_params(cases: Sequence[Expect]) -> list[Any]:
    return [pytest.param(c, id=c.case.id) for c in cases]


def check(instrument: Any, expect: Expect, domains: dict[str, tuple[str, ...]]) -> None:
    """Score the case's answers and compare every stated expectation."""
    case = expect.case
    result = scoring.score(instrument, case.answers)
    rules = instrument.definition.scoring
    assert result.overall == case.overall
    levels = expected_levels(case.domains, case.other_domains, tuple(domains))
    assert {d: result.domain(d).level for d in levels} == levels
    every = tuple(i for members in domains.values() for i in members)
    levels = expected_levels(case.indicators, case.other_indicators, every)
    assert {i: result.indicator(i).level for i in levels} == levels
    if case.reason is not None:
        got = (result.reason.rule, result.reason.indicators, result.reason.domains)
        assert got == (case.reason.rule, case.reason.indicators, case.reason.domains)
        assert result.reason.explain == dict(rules.overall[case.reason.rule - 1].explain)
    for domain_id, (rule, named) in case.domain_reasons.items():
        reason = result.domain(domain_id).reason
        assert (reason.rule, reason.indicators) == (rule, named), domain_id
        assert reason.explain == (dict(rules.domain[rule - 1].explain) if rule else {}), domain_id
    for indicator_id, evidence in case.evidence.items():
        got_evidence = tuple((e.item_id, e.answer, e.level) for e in result.indicator(indicator_id).evidence)
        assert got_evidence == evidence, indicator_id
    if case.completeness is not None:
        c = result.completeness
        assert (c.total, c.answered, c.declined, c.not_enough_info, c.not_asked, c.unanswered) == case.completeness
    if expect.clauses is not None:
        assert clauses(result.reason.clauses) == expect.clauses
    for domain_id, expected in expect.domain_clauses.items():
        assert clauses(result.domain(domain_id).reason.clauses) == expected, domain_id
    if expect.skipped is not None:
        assert result.skipped_sections == expect.skipped
    if expect.total is not None:
        assert result.total is not None and result.total.value == expect.total


def clauses(found: Sequence[Any]) -> tuple[Clause, ...]:
    """A reason's clauses in the tables' terms, members in the order the engine gives them: the
    tables state every list of members (items, indicators, domains) in the order of the definition."""
    return tuple(Clause(c.source, c.collection, tuple(c.members), c.value, c.op, c.bound) for c in found)
