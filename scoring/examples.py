"""Running the example cases an instrument carries (`examples:`) through the real scoring engine."""

from __future__ import annotations

from instruments.compiled import CompiledInstrument
from instruments.source import Path_, Problem
from scoring.answers import AnswerError
from scoring.engine import score


def check_examples(instrument: CompiledInstrument) -> list[Problem]:
    """Every difference between what an instrument's examples expect and what its rules conclude."""
    problems: list[Problem] = []

    def add(code: str, message: str, path: Path_) -> None:
        line, where = instrument.source.where(path)
        problems.append(Problem(code, message, instrument.file, line, where))

    for index, example in enumerate(instrument.definition.examples):
        at: Path_ = ("examples", index)
        named = f"example '{example.name}'"
        try:
            result = score(instrument, example.answers)
        except AnswerError as exc:
            add("example_answers", f"{named}: its answers cannot be scored: {exc}", (*at, "answers"))
            continue
        expect = example.expect
        if result.overall != expect.overall:
            add(
                "example_mismatch",
                f"{named}: expects overall {expect.overall}, and the rules conclude {result.overall}",
                (*at, "expect", "overall"),
            )
        domains = {d.id: d.level for d in result.domains}
        for domain_id, level in expect.domains.items():
            got = domains.get(domain_id)
            if got != level:
                found = "there is no such domain" if got is None else f"the rules conclude {got}"
                add(
                    "example_mismatch",
                    f"{named}: expects domain {domain_id} {level}, and {found}",
                    (*at, "expect", "domains", domain_id),
                )
        indicators = {i.id: i.level for i in result.indicators}
        for indicator_id, rating in expect.indicators.items():
            got = indicators.get(indicator_id)
            if got != rating:
                found = "there is no such indicator" if got is None else f"the rules conclude {got}"
                add(
                    "example_mismatch",
                    f"{named}: expects indicator {indicator_id} {rating}, and {found}",
                    (*at, "expect", "indicators", indicator_id),
                )
        if expect.total is not None:
            got_total = result.total.value if result.total is not None else None
            if got_total != expect.total:
                add(
                    "example_mismatch",
                    f"{named}: expects total {expect.total:g}, and the total is "
                    + ("not declared" if got_total is None else f"{got_total:g}"),
                    (*at, "expect", "total"),
                )
    return problems
