"""Benchmark: the scoring engine against a plain hand-written scorer of the practitioner tool.

    python bench/scoring.py [--cases N] [--repeats R]

Generates N random valid answer sets for tellonce-practitioner-indicators (seeded), checks that
the engine and the hand-written function give equal explained results on every one (levels,
evidence, reasons, completeness) and refuse the same invalid answers, then times both (best of R
runs) and prints microseconds per scoring. The last line is the ratio engine / hand-written.

The hand-written function knows the rules of the newest version (those of 1.1.0, which 1.2.0 keeps:
insufficient information, the parts of each rule that hold); the engine interprets the same rules
from the definition, plainly and without caches (it was made obviously right before fast), so the
ratio is what that costs.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# This file is bench/scoring.py: drop its folder from the path so `import scoring` finds the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import instruments  # noqa: E402
import scoring  # noqa: E402
from instruments.compiled import CompiledInstrument  # noqa: E402
from instruments.loader import BUNDLED_DIR  # noqa: E402
from scoring.result import (  # noqa: E402
    Clause,
    Completeness,
    DomainResult,
    Evidence,
    IndicatorResult,
    RuleReason,
    ScoreResult,
)

INSTRUMENT_ID = "tellonce-practitioner-indicators"
NO, POSS, CLEAR, UNK = "no_concern", "possible_concern", "clear_concern", "unknown"
INS = "insufficient_information"
RATINGS = frozenset((NO, POSS, CLEAR))
ALLOWED = RATINGS | {"declined", "not_enough_info"}
# answer -> weight when generating: mostly "no concern", some concern, some special or missing
ANSWER_WEIGHTS = {NO: 64, POSS: 8, CLEAR: 2, "not_enough_info": 14, "declined": 4, None: 8}


class HandWritten:
    """The practitioner tool's rules, written out in plain Python, giving the same explained result.

    The tables (which item rates which indicator, the domains, the key indicators, the rules'
    explanations) are read from the definition once; the rules themselves are hard-coded below.
    """

    def __init__(self, instrument: CompiledInstrument) -> None:
        definition = instrument.definition
        self.instrument = instrument
        self.rating_item: dict[str, str] = {
            item.indicator: item.id for item in definition.items if item.type == "indicator_rating"
        }
        self.items = frozenset(self.rating_item.values())
        self.domains: dict[str, tuple[str, ...]] = {d.id: tuple(i.id for i in d.indicators) for d in definition.domains}
        self.domain_of = {i: d for d, members in self.domains.items() for i in members}
        self.key: tuple[str, ...] = tuple(i.id for d in definition.domains for i in d.indicators if i.key)
        self.key_set = frozenset(self.key)
        self.sections = {s.id: tuple(i.id for i in definition.items if i.section == s.id) for s in definition.sections}
        self.domain_explain = [rule.explain for rule in definition.scoring.domain]
        self.overall_explain = [rule.explain for rule in definition.scoring.overall]
        # the source text of each part of each rule, as reasons quote it
        self.domain_parts = [tuple(p.source for p in r.when.parts) if r.when else () for r in instrument.domain_rules]
        self.overall_parts = [tuple(p.source for p in r.when.parts) if r.when else () for r in instrument.overall_rules]

    def __call__(self, answers: Mapping[str, Any]) -> ScoreResult:
        for item_id, value in answers.items():
            if item_id not in self.items:
                raise ValueError(f"{item_id}: there is no such item")
            if value is not None and not (isinstance(value, str) and value in ALLOWED):
                raise ValueError(f"{item_id}: {value!r} is not one of its answers")

        # indicator: its rating, with that answer as evidence; unknown for not enough info, declined or none
        levels: dict[str, str] = {}
        indicators = []
        for indicator, item_id in self.rating_item.items():
            value = answers.get(item_id)
            level = value if value in RATINGS else UNK
            levels[indicator] = level
            evidence = (Evidence(item_id, value, level),) if level != UNK else ()
            indicators.append(
                IndicatorResult(indicator, self.domain_of[indicator], indicator in self.key_set, level, evidence)
            )

        # domain: insufficient if all unknown (no rule); clear if any clear (1), possible if any possible (2),
        # no concern if every line is no concern (3), else insufficient (4)
        domain_levels: dict[str, str] = {}
        domains = []
        for domain, members in self.domains.items():
            member_levels = [levels[i] for i in members]
            clauses: tuple[Clause, ...] = ()
            if all(m == UNK for m in member_levels):
                level, rule, behind = INS, 0, ()
            elif CLEAR in member_levels:
                level, rule, behind = CLEAR, 1, tuple(i for i in members if levels[i] == CLEAR)
                clauses = (self._clause(self.domain_parts[0][0], "indicators", behind, level=CLEAR),)
            elif POSS in member_levels:
                level, rule, behind = POSS, 2, tuple(i for i in members if levels[i] == POSS)
                clauses = (self._clause(self.domain_parts[1][0], "indicators", behind, level=POSS),)
            elif all(m == NO for m in member_levels):
                level, rule, behind = NO, 3, ()
                clauses = (self._clause(self.domain_parts[2][0], "indicators", members, level=NO),)
            else:
                level, rule, behind = INS, 4, tuple(i for i in members if levels[i] == UNK)
            domain_levels[domain] = level
            explain = self.domain_explain[rule - 1] if rule else {}
            domains.append(DomainResult(domain, level, RuleReason(rule, explain, behind, (), clauses)))

        # overall: the tool's four rules, with the parts of each that hold
        at = {lv: tuple(d for d, v in domain_levels.items() if v == lv) for lv in (CLEAR, POSS, INS)}
        key_at = {lv: tuple(k for k in self.key if levels[k] == lv) for lv in (CLEAR, POSS, UNK)}
        unknown = tuple(i for i in self.rating_item if levels[i] == UNK)
        parts: list[Clause] = []
        if key_at[CLEAR] or len(at[CLEAR]) >= 2:
            overall, rule = CLEAR, 1
            key_part, count_part = self.overall_parts[0]
            if key_at[CLEAR]:
                parts.append(self._clause(key_part, "indicators", key_at[CLEAR], level=CLEAR, key=True))
            if len(at[CLEAR]) >= 2:
                parts.append(self._count(count_part, at[CLEAR], ">=", 2, CLEAR))
        elif len(at[CLEAR]) == 1 or key_at[POSS] or len(at[POSS]) >= 2:
            overall, rule = POSS, 2
            one_clear, key_part, two_possible = self.overall_parts[1]
            if len(at[CLEAR]) == 1:
                parts.append(self._count(one_clear, at[CLEAR], "==", 1, CLEAR))
            if key_at[POSS]:
                parts.append(self._clause(key_part, "indicators", key_at[POSS], level=POSS, key=True))
            if len(at[POSS]) >= 2:
                parts.append(self._count(two_possible, at[POSS], ">=", 2, POSS))
        elif at[INS] or unknown:
            overall, rule = INS, 3
            domain_part, indicator_part = self.overall_parts[2]
            if at[INS]:
                parts.append(self._clause(domain_part, "domains", at[INS], level=INS))
            if unknown:
                parts.append(self._clause(indicator_part, "indicators", unknown, level=UNK))
        else:
            overall, rule = NO, 4
        overall_reason = RuleReason(
            rule,
            self.overall_explain[rule - 1],
            key_at[UNK if overall == INS else overall] if overall != NO else (),
            at[overall] if overall != NO else (),
            tuple(parts),
        )

        values = [answers.get(i) for i in self.rating_item.values()]
        declined, not_enough = values.count("declined"), values.count("not_enough_info")
        unanswered = values.count(None)
        completeness = Completeness(
            len(values), len(values) - declined - not_enough - unanswered, declined, not_enough, 0, unanswered
        )
        skipped = tuple(
            section
            for section, items in self.sections.items()
            if items and not any(answers.get(i) in RATINGS for i in items)
        )
        return ScoreResult(
            self.instrument.id,
            self.instrument.version,
            self.instrument.content_hash,
            scoring.ENGINE_VERSION,
            overall,
            overall_reason,
            tuple(domains),
            tuple(indicators),
            completeness,
            skipped,
            None,
        )

    @staticmethod
    def _clause(source: str, collection: str, members: tuple[str, ...], **filters: Any) -> Clause:
        return Clause(source, collection, members, None, None, None, filters)

    @staticmethod
    def _count(source: str, members: tuple[str, ...], op: str, bound: int, level: str) -> Clause:
        return Clause(source, "domains", members, float(len(members)), op, float(bound), {"level": level})


def random_answers(rng: random.Random, items: list[str]) -> dict[str, Any]:
    choices, weights = list(ANSWER_WEIGHTS), list(ANSWER_WEIGHTS.values())
    picked = rng.choices(choices, weights, k=len(items))
    return {item: answer for item, answer in zip(items, picked, strict=True) if answer is not None}


def best_times(functions: list[Callable[[Any], Any]], cases: list[dict[str, Any]], repeats: int) -> list[float]:
    """Best wall time, in seconds, of each function scoring every case once; runs alternate
    between the functions so that a busy machine slows them alike."""
    best = [float("inf")] * len(functions)
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            for answers in cases:
                function(answers)
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def check_same(instrument: CompiledInstrument, hand: HandWritten, cases: list[dict[str, Any]]) -> None:
    """Abort loudly unless both give the same explained result on every case and refuse the same bad answers."""
    for number, answers in enumerate(cases):
        expected, got = hand(answers), scoring.score(instrument, answers)
        if got != expected:
            sys.exit(f"MISMATCH on case {number}: {answers!r}\n  engine:       {got!r}\n  hand-written: {expected!r}")
    first = next(iter(hand.rating_item.values()))
    for bad in ({"no_such_item": NO}, {first: "yes"}, {first: ["clear_concern"]}):
        for name, function in (("engine", lambda a: scoring.score(instrument, a)), ("hand-written", hand)):
            try:
                function(bad)
            except ValueError:  # scoring.AnswerError is a ValueError
                continue
            sys.exit(f"MISMATCH: the {name} scorer accepted invalid answers {bad!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000, help="random answer sets (default 20000)")
    parser.add_argument("--repeats", type=int, default=5, help="timing runs; the best counts (default 5)")
    args = parser.parse_args(argv)

    instrument = instruments.load([BUNDLED_DIR]).or_raise().get(INSTRUMENT_ID)
    if instrument is None:
        sys.exit(f"{INSTRUMENT_ID} is not bundled")
    hand = HandWritten(instrument)
    rng = random.Random(1)
    items = list(instrument.visibility_order)
    cases = [random_answers(rng, items) for _ in range(args.cases)]

    check_same(instrument, hand, cases)
    overall = {level: sum(1 for a in cases if hand(a).overall == level) for level in (NO, INS, POSS, CLEAR)}
    print(f"{INSTRUMENT_ID} {instrument.version}: {len(items)} items, {args.cases} random answer sets")
    print("overall levels: " + ", ".join(f"{k} {v}" for k, v in overall.items()))
    print("engine and hand-written give equal results on every case (levels, evidence, reasons, completeness)")

    engine_seconds, hand_seconds = best_times([lambda a: scoring.score(instrument, a), hand], cases, args.repeats)
    per_engine = engine_seconds / len(cases) * 1e6
    per_hand = hand_seconds / len(cases) * 1e6
    print(f"engine (scoring.score):  {per_engine:8.2f} us per scoring (best of {args.repeats})")
    print(f"hand-written:            {per_hand:8.2f} us per scoring (best of {args.repeats})")
    print(f"ratio engine/hand-written: {engine_seconds / hand_seconds:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
