"""What the golden tables of every bundled instrument share: answer codes, the case shape, parametrization."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

NO, POSS, CLEAR, UNK = "no_concern", "possible_concern", "clear_concern", "unknown"
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
