"""Running the example cases an instrument carries (`examples:`) through the real scoring engine.

An example states what a manual would: levels, the total, which rule fired for the overall result and
each domain and what its reason names, the sections skipped, the evidence of an indicator, completeness
counts. Only what it states is compared; each difference is one problem located at the stated value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from instruments.compiled import CompiledInstrument
from instruments.model import ExampleClause, ExampleExpect, ExampleReason
from instruments.source import Path_, Problem
from scoring.answers import AnswerError
from scoring.engine import score
from scoring.result import Clause, RuleReason, ScoreResult

Report = Callable[[str, Path_], None]  # a mismatch's message (after "expects ") and where it was stated


def check_examples(instrument: CompiledInstrument) -> list[Problem]:
    """Every difference between what an instrument's examples expect and what its rules conclude."""
    problems: list[Problem] = []

    for index, example in enumerate(instrument.definition.examples):
        at: Path_ = ("examples", index)
        named = f"example '{example.name}'"

        def add(code: str, message: str, path: Path_) -> None:
            line, where = instrument.source.where(path)
            problems.append(Problem(code, message, instrument.file, line, where))

        def mismatch(message: str, path: Path_, at: Path_ = at, named: str = named) -> None:
            add("example_mismatch", f"{named}: expects {message}", (*at, "expect", *path))

        try:
            result = score(instrument, example.answers)
        except AnswerError as exc:
            add("example_answers", f"{named}: its answers cannot be scored: {exc}", (*at, "answers"))
            continue
        compare(example.expect, result, mismatch)
    return problems


def compare(expect: ExampleExpect, result: ScoreResult, mismatch: Report) -> None:
    """Report each thing `expect` states that `result` does not conclude."""
    if result.overall != expect.overall:
        mismatch(f"overall {expect.overall}, and the rules conclude {result.overall}", ("overall",))
    domains = {d.id: d for d in result.domains}
    levels = {d: r.level for d, r in domains.items()}
    compare_levels("domain", expect.domains, expect.other_domains, levels, ("domains",), mismatch)
    indicators = {i.id: i for i in result.indicators}
    levels = {i: r.level for i, r in indicators.items()}
    compare_levels("indicator", expect.indicators, expect.other_indicators, levels, ("indicators",), mismatch)
    if expect.total is not None:
        got_total = result.total.value if result.total is not None else None
        if got_total != expect.total:
            found = "not declared" if got_total is None else f"{got_total:g}"
            mismatch(f"total {expect.total:g}, and the total is {found}", ("total",))
    if expect.reason is not None:
        compare_reason("the overall reason", expect.reason, result.reason, ("reason",), mismatch)
    for domain_id, reason in expect.domain_reasons.items():
        if domain_id not in domains:
            mismatch(f"a reason for domain {domain_id}, and there is no such domain", ("domain_reasons", domain_id))
            continue
        where = ("domain_reasons", domain_id)
        compare_reason(f"the reason of domain {domain_id}", reason, domains[domain_id].reason, where, mismatch)
    if expect.skipped is not None and tuple(expect.skipped) != result.skipped_sections:
        mismatch(
            f"skipped sections {listed(expect.skipped)}, and the skipped are {listed(result.skipped_sections)}",
            ("skipped",),
        )
    for indicator_id, evidence in expect.evidence.items():
        where = ("evidence", indicator_id)
        if indicator_id not in indicators:
            mismatch(f"evidence for indicator {indicator_id}, and there is no such indicator", where)
            continue
        want = [(e.item, e.answer, e.level) for e in evidence]
        got = [(e.item_id, e.answer, e.level) for e in indicators[indicator_id].evidence]
        if want != got:
            mismatch(f"indicator {indicator_id} to rest on {shown(want)}, and it rests on {shown(got)}", where)
    if expect.completeness is not None:
        for count, wanted in expect.completeness.model_dump(exclude_none=True).items():
            got_count = getattr(result.completeness, count)
            if got_count != wanted:
                mismatch(f"completeness {count} {wanted}, and it is {got_count}", ("completeness", count))


def compare_levels(
    kind: str, named: Mapping[str, str], others: str | None, got: Mapping[str, str], path: Path_, mismatch: Report
) -> None:
    """The named levels, then (when `others` is stated) the level of every id not named."""
    for some_id, level in named.items():
        found = got.get(some_id)
        if found != level:
            said = f"there is no such {kind}" if found is None else f"the rules conclude {found}"
            mismatch(f"{kind} {some_id} {level}, and {said}", (*path, some_id))
    if others is None:
        return
    for some_id, found in got.items():
        if some_id not in named and found != others:
            mismatch(f"every other {kind} {others}, and {kind} {some_id} is {found}", (f"other_{path[-1]}",))


def compare_reason(what: str, want: ExampleReason, got: RuleReason, path: Path_, mismatch: Report) -> None:
    """Which rule fired, what its reason names, and its clauses, as far as `want` states them."""
    if want.rule is not None and want.rule != got.rule:
        fired = "no rule ran" if got.rule == 0 else f"rule {got.rule} fired"
        mismatch(f"{what} to be rule {want.rule}, and {fired}", (*path, "rule"))
    for field in ("indicators", "domains"):
        wanted: tuple[str, ...] | None = getattr(want, field)
        named: tuple[str, ...] = getattr(got, field)
        if wanted is not None and tuple(wanted) != named:
            mismatch(f"{what} to name {field} {listed(wanted)}, and it names {listed(named)}", (*path, field))
    if want.clauses is None:
        return
    if len(want.clauses) != len(got.clauses):
        mismatch(
            f"{what} to have {len(want.clauses)} clause(s), and it has {len(got.clauses)}: "
            + listed([c.source for c in got.clauses]),
            (*path, "clauses"),
        )
        return
    for index, (clause, found) in enumerate(zip(want.clauses, got.clauses, strict=True)):
        for field, wanted_value, got_value in clause_differences(clause, found):
            mismatch(
                f"clause {index + 1} of {what} to have {field} {wanted_value!r}, and it has {got_value!r}",
                (*path, "clauses", index, field),
            )


def clause_differences(want: ExampleClause, got: Clause) -> list[tuple[str, Any, Any]]:
    """The stated fields of a clause that differ from the clause the engine gave."""
    differences: list[tuple[str, Any, Any]] = []
    if want.source != got.source:
        differences.append(("source", want.source, got.source))
    for field in ("collection", "members", "value", "op", "bound"):
        wanted = getattr(want, field)
        found = getattr(got, field)
        if field == "members" and wanted is not None:
            wanted, found = list(wanted), list(found)
        if wanted is not None and wanted != found:
            differences.append((field, wanted, found))
    return differences


def listed(ids: Sequence[str]) -> str:
    """Ids as a reader sees them: [a, b], or [] for none."""
    return "[" + ", ".join(ids) + "]"


def shown(evidence: Sequence[tuple[str, Any, str]]) -> str:
    """Evidence as a reader sees it: item=answer (level), ..., or nothing."""
    return ", ".join(f"{item}={answer!r} ({level})" for item, answer, level in evidence) or "nothing"
