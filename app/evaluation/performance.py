"""Instrument performance: how well one instrument version's results foretold what was later learned.

For an evaluator (DESIGN §1, §8): de-identified figures about a cohort, never an identity. The
cohort is the completed screenings with one instrument version, in whole calendar months (UTC), of
one agency or (system admins) the whole deployment. Two queries read it, whatever its size, and
return counts, not rows: the cohort's screenings counted by stored level, total, agency kind,
half-year and outcome class, and its pairs with other instruments counted by the two levels. With the
default follow-up and window both count the stored roll-up (`app.evaluation.rollup`: each screening
classified and paired once, whenever its person's data changes); with other choices each screening is
classified against its person's outcomes, and paired, in the database. No answer is decrypted.

The reference standard (what "later learned" means, stated so a reader can check it):
- An outcome counts for a screening when it is about the same person, was learned on or after the day
  the screening was completed, is not withdrawn, and (agency scope) was recorded by the same agency.
- The condition is present when such an outcome is `confirmed`; otherwise absent when one is
  `not_indicated` after at least `min_follow_up_months` of follow-up; otherwise unknown (lost to
  follow-up, followed too briefly, or nothing recorded), and the screening is left out of the
  accuracy figures, counted as "outcome unknown".
- A result of "not enough information to conclude" is never read as negative: it is left out of
  the cut-off tables and the ROC curve, and its share is reported beside them.

Figures: each result level but "no concern" as a cut-off (positive = that level or a more concerning
one), with sensitivity, specificity and predictive values and their 95% Wilson intervals
(`app.evaluation.stats`); for instruments with a declared total, a ROC curve with its AUC; by agency
kind and by calendar year as well as overall; screen-positive rates by half-year beside a reference
the evaluator enters; and agreement (Cohen's kappa on the overall level) with each other instrument
taken by the same person within a window of days.

Small cells (the aggregate report's threshold, `aggregate.THRESHOLD`). Every count a group publishes is
a sum of its atoms: each decided level (clear, possible, no concern) by outcome (with, without the
condition, unknown), and the results with too little information. Within one report, no count from
1 to 10 can be worked out from the others:
1. A group's figures (outcome counts, cut-off tables, the insufficient share) are published only
   when each of its atoms is 0 or at least 11 (it is complete); differences of such sums are never a
   small count of people. Otherwise everyone's group shows only its total and the insufficient share
   where that split alone passes `aggregate.suppress_cells`.
2. A breakdown (by agency kind; over time) is a partition of everyone, so it is shown only where every
   one of its groups is complete: one thin group would otherwise be everyone minus the others.
3. Time is in half-years, merged with their neighbours until each period passes: for the rates, until
   each level's count is 0 or at least 11; for the figures over time, the rates' periods merged further
   until each is complete (so each period of one is a union of periods of the other).
4. A ROC curve is shown only for a complete group, and only at thresholds such that each band of scores
   between two shown thresholds holds, per decided level and side, 0 or at least 11 people; its AUC and
   interval summarise every score and reveal no count.
5. An agreement table (three levels, or screen-positive or not) is shown whole, with its kappa, only
   when each of its cells, and each row's remainder (that level's results in no decided pair), is 0 or
   at least 11; the number of pairs only when the cohort minus the pairs is 0 or at least 11 too.
Suppression protects what one report publishes (a page, a CSV or JSON passed on). It cannot stop
someone who runs many reports over different ranges from subtracting them; only supervisors and
admins of the agency (who may open its records) and the deployment's system admins can run them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, and_, case, cast, extract, literal_column, text, true, type_coerce
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app import levels
from app.evaluation import rollup, stats
from app.i18n import _
from app.models import Agency, Screening, ScreeningStatus, User, Youth
from app.models_evaluation import EvaluationFact, EvaluationPair, Outcome, OutcomeKind
from app.reports import aggregate
from app.reports.aggregate import THRESHOLD, Scope
from app.typed_sql import select_rows, unindexed
from instruments.loader import Registry
from instruments.model import INSUFFICIENT, NOT_SCORED

ROLES = aggregate.ROLES
LEVEL_ORDER = (levels.CLEAR, levels.POSSIBLE, levels.NONE)  # most to least concern; the cut-offs are all but the last
WITH, WITHOUT, UNKNOWN = rollup.WITH, rollup.WITHOUT, rollup.UNKNOWN
MIN_FOLLOW_UP_MONTHS = rollup.MIN_FOLLOW_UP_MONTHS
WINDOW_DAYS = rollup.WINDOW_DAYS
# The field's published figures (DESIGN §1: one California pilot of over 8,000 screenings), the default reference.
REFERENCE = {"clear": 0.19, "possible": 0.24}
REFERENCE_SOURCE = _(
    "One published county pilot of over 8,000 screenings found clear concern in 19 of every 100 and possible "
    "concern in 24 of every 100."
)
SUPPRESSED_TABLE = _("Suppressed: a count behind these figures is from 1 to 10.")
SUPPRESSED_BREAKDOWN = _(
    "Not shown by agency kind: a count in one kind's figures is from 1 to 10, and the others beside everyone's "
    "would give it back."
)
NO_PERIODS = _("Too few screenings to split over time without a count from 1 to 10.")
SUPPRESSION_RULE = _(
    "A group's figures are shown only when each count behind them (each level with, without and of unknown "
    "outcome, and the results with too little information) is 0 or at least 11; a breakdown by agency kind or "
    "over time is shown only when every one of its groups passes, and half-years are merged until they do; a ROC "
    "curve shows only steps of 0 or at least 11 people; an agreement table and its kappa are shown only when each "
    "of its cells is 0 or at least 11."
)


@dataclass(frozen=True)
class PerformanceFilter:
    """What to measure: one instrument version, a scope, whole months, and the evaluator's choices."""

    instrument_id: str
    version: str
    scope: Scope = Scope.agency
    month_from: date | None = None
    month_to: date | None = None
    window_days: int = WINDOW_DAYS
    min_follow_up_months: int = MIN_FOLLOW_UP_MONTHS
    reference: Mapping[str, float] = field(default_factory=lambda: dict(REFERENCE))

    def as_dict(self) -> dict[str, Any]:
        """The filter as the query values that ask for it again (references in percent, as typed)."""
        return {
            "instrument": f"{self.instrument_id}|{self.version}",
            "scope": self.scope.value,
            "date_from": self.month_from.strftime("%Y-%m") if self.month_from else None,
            "date_to": self.month_to.strftime("%Y-%m") if self.month_to else None,
            "window_days": self.window_days,
            "min_follow_up_months": self.min_follow_up_months,
            "reference_clear": round(self.reference["clear"] * 100, 2),
            "reference_possible": round(self.reference["possible"] * 100, 2),
        }


@dataclass(frozen=True)
class Group:
    """The figures of one group of the cohort (everyone, one agency kind, one year); None is suppressed."""

    dimension: str  # "all" | "agency_kind" | "period"
    key: str
    screenings: int | None
    insufficient: stats.Estimate | None  # the share of "not enough information" results
    outcomes: dict[str, int | None]  # among decided results: with, without, unknown outcome
    accuracy: list[stats.Accuracy] | None  # one per cut-off; None when suppressed (SUPPRESSED_TABLE)


@dataclass(frozen=True)
class RocCurve:
    """A ROC curve over the instrument's total, coarsened so that no step is a small cell."""

    points: list[stats.RocPoint]
    auc: float
    low: float
    high: float
    positives: int
    negatives: int


@dataclass(frozen=True)
class Rate:
    """One period's results: counts by level and screen-positive shares.

    Half-years rather than months or quarters, merged with their neighbours until no level's count is from 1
    to 10: a community's screenings in a quarter are often too few for that."""

    period: str  # 2026-H1, or merged: 2024-H2 to 2025-H1
    total: int
    counts: dict[str, int]  # each 0 or at least 11: periods are merged until they are
    clear: float
    possible: float


@dataclass(frozen=True)
class Agreement:
    """Agreement of the overall level with another instrument taken by the same person within the window."""

    other_instrument: str
    pairs: int | None  # pairs where neither result is "not enough information"
    table: dict[str, dict[str, int]] | None  # this instrument's level -> the other's -> count; None: suppressed
    kappa: stats.Kappa | None  # on the three levels, with the table
    positive_table: dict[str, dict[str, int]] | None  # screen-positive (possible or clear) or not, on each side
    positive_kappa: stats.Kappa | None


@dataclass(frozen=True)
class Performance:
    """Everything the performance report publishes for one filter."""

    filter: PerformanceFilter
    sum_type: bool
    groups: list[Group]
    roc: RocCurve | None
    roc_note: str | None
    rates: list[Rate]
    agreement: list[Agreement]
    notes: list[Any] = field(default_factory=list)  # why a breakdown is not shown


# Reading the cohort ----------------------------------------------------------------------------------
#
# The database classifies and counts: each screening of the cohort is classified against its person's
# outcomes there, and only the counts per group come back, so the figures below cost the number of groups
# (levels x totals x agency kinds x half-years x reference-standard states), not the number of screenings.


@dataclass(frozen=True)
class _Row:
    """One screening of the cohort, as the reference standard (`condition`) reads it."""

    level: str
    total: float | None
    day: date
    kind: str
    person: str


@dataclass(frozen=True, slots=True)
class Cell:
    """How many screenings of the cohort share a level, a total, an agency kind, a half-year and an outcome class."""

    level: str
    total: float | None
    kind: str
    period: str  # the half-year of completion (UTC): 2026-H1
    condition: str  # WITH, WITHOUT or UNKNOWN (`condition`)
    count: int


Cells = list[Cell]
# Agreement: another instrument -> (this instrument's level, the other's nearest level) -> screenings of the cohort.
Pairs = dict[str, Counter[tuple[str, str]]]


def authorize(user: User, scope: Scope) -> None:
    """As the aggregate report: supervisors and admins for their agency; system admins for the deployment."""
    aggregate.authorize(user, scope)


def _in_scope(agency_id: str | None) -> ColumnElement[bool]:
    return col(Screening.agency_id) == agency_id if agency_id is not None else col(Screening.id).is_not(None)


def _in_cohort(screening: Any, report: PerformanceFilter, agency_id: str | None) -> list[ColumnElement[bool]]:
    """The cohort's screenings: completed with the version, in scope, in the months (`screening` may be an alias)."""
    return [screening.status == ScreeningStatus.completed, *_in_window(screening, report, agency_id)]


def _in_window(rows: Any, report: PerformanceFilter, agency_id: str | None) -> list[ColumnElement[bool]]:
    """Rows of `rows` (screenings, or the roll-up's) with the version, in scope, completed in the months."""
    clauses = [
        rows.completed_at.is_not(None),
        rows.instrument_id == report.instrument_id,
        rows.instrument_version == report.version,
        rows.agency_id == agency_id if agency_id is not None else true(),
    ]
    if report.month_from is not None:
        clauses.append(rows.completed_at >= datetime.combine(report.month_from, datetime.min.time(), UTC))
    if report.month_to is not None:
        end = aggregate.next_month(report.month_to)
        clauses.append(rows.completed_at < datetime.combine(end, datetime.min.time(), UTC))
    return clauses


def _postgresql(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _day(db: Session, at: Any) -> Any:
    """The UTC calendar day of a stored moment, comparable with a stored date (SQLite keeps naive UTC text)."""
    if _postgresql(db):
        return cast(func.timezone(literal_column("'UTC'"), at), Date)
    return func.date(at)


def _unindexed(db: Session, column: Any) -> Any:
    """On SQLite, the column as `typed_sql.unindexed` gives it, so that `_pairs` finds each cohort screening's other
    screenings through the person's records (`youth.person_id`, then `screening.youth_id`): SQLite chose the status
    or agency index instead, and went over every other completed screening for each one of the cohort (0.36 s for
    1,200 screenings, quadratic). PostgreSQL plans it well as it is: the column."""
    return column if _postgresql(db) else unindexed(column)


def _days_apart(db: Session, one: Any, other: Any) -> Any:
    """Whole days between two of `_day`'s days, as a number."""
    if _postgresql(db):
        return type_coerce(func.abs(one - other), Integer)
    return func.abs(func.julianday(one) - func.julianday(other))


def _half_year(db: Session, at: Any) -> Any:
    """year * 2 + (0 for January to June, 1 for July to December) of a stored moment, in UTC."""
    year: Any
    month: Any
    if _postgresql(db):
        utc = func.timezone(literal_column("'UTC'"), at)
        year, month = extract("year", utc), extract("month", utc)
    else:
        year, month = cast(func.strftime("%Y", at), Integer), cast(func.strftime("%m", at), Integer)
    return year * 2 + case((month > 6, 1), else_=0)


def _known(report: PerformanceFilter, agency_id: str | None) -> Any:
    """Per person, the last day a counting outcome of each kind was learned (through each outcome's record, as
    it is linked now): a screening's condition is present when `confirmed_on` is on or after its day, else absent
    when `cleared_on` is (`condition`, with "any such outcome after" as "the last one after")."""
    learned = col(Outcome.learned_on)
    kind = col(Outcome.kind)
    followed = func.coalesce(col(Outcome.follow_up_months), 0) >= report.min_follow_up_months
    statement: Any = (
        select(
            col(Youth.person_id).label("person"),
            func.max(case((kind == OutcomeKind.confirmed, learned))).label("confirmed_on"),
            func.max(case((and_(kind == OutcomeKind.not_indicated, followed), learned))).label("cleared_on"),
        )
        .join(Youth, col(Youth.id) == col(Outcome.youth_id))
        .where(col(Outcome.withdrawn_at).is_(None))
        .group_by(col(Youth.person_id))
    )
    if agency_id is not None:
        statement = statement.where(col(Outcome.agency_id) == agency_id)
    return statement.subquery("known")


def _cells(db: Session, report: PerformanceFilter, agency_id: str | None) -> Cells:
    """The cohort counted by level, total, agency kind, half-year and outcome class, in one query."""
    known = _known(report, agency_id)
    day = _day(db, col(Screening.completed_at))
    classified = (
        select_rows(
            col(Screening.overall_level).label("level"),
            col(Screening.total_score).label("total"),
            col(Agency.kind).label("kind"),
            _half_year(db, col(Screening.completed_at)).label("half_year"),
            case(
                (known.c.confirmed_on >= day, WITH),
                (known.c.cleared_on >= day, WITHOUT),
                else_=UNKNOWN,
            ).label("condition"),
        )
        .join(Agency, col(Agency.id) == col(Screening.agency_id))
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .outerjoin(known, known.c.person == col(Youth.person_id))
        .where(*_in_cohort(Screening, report, agency_id))
        .subquery("classified")
    )
    columns: Any = classified.c
    grouped = select_rows(
        columns.level, columns.total, columns.kind, columns.half_year, columns.condition, func.count()
    )
    grouped = grouped.group_by(columns.level, columns.total, columns.kind, columns.half_year, columns.condition)
    return _as_cells(db.exec(grouped).all())


def _as_cells(rows: Iterable[Any]) -> Cells:
    """Cells of grouped rows (level, total, agency kind, year * 2 + half, condition, count)."""
    counted: Counter[tuple[str, float | None, str, str, str]] = Counter()
    for level, total, kind, half_year, got, n in rows:
        year, half = divmod(int(half_year), 2)
        counted[level or INSUFFICIENT, total, kind, f"{year}-H{half + 1}", got] += int(n)
    return [Cell(*key, count=n) for key, n in sorted(counted.items(), key=lambda item: repr(item[0]))]


def _stored_cells(db: Session, report: PerformanceFilter, agency_id: str | None) -> Cells:
    """`_cells` with the report's default follow-up, counted from the roll-up's rows (`app.evaluation.rollup`)."""
    fact: Any = EvaluationFact
    got = fact.condition_own if agency_id is not None else fact.condition_all
    grouped = (
        select_rows(fact.level, fact.total, col(Agency.kind), fact.half_year, got, func.count())
        .join(Agency, col(Agency.id) == fact.agency_id)
        .where(*_in_window(fact, report, agency_id))
        .group_by(fact.level, fact.total, col(Agency.kind), fact.half_year, got)
    )
    return _as_cells(db.exec(grouped).all())


def _pairs(db: Session, report: PerformanceFilter, agency_id: str | None) -> Pairs:
    """Each cohort screening with the nearest screening of each other instrument by the same person within the
    window (in the same scope; the nearest by days, ties to the first level in `PAIRED_LEVELS`), counted by the
    two levels, in one query."""
    mine: Any = aliased(Screening)
    my_youth: Any = aliased(Youth)
    theirs: Any = aliased(Screening)
    their_youth: Any = aliased(Youth)
    cohort: Any = (
        select(
            mine.id.label("id"),
            mine.overall_level.label("level"),
            _day(db, mine.completed_at).label("day"),
            my_youth.person_id.label("person"),
        )
        .join(my_youth, my_youth.id == mine.youth_id)
        .where(*_in_cohort(mine, report, agency_id))
        .subquery("cohort")
    )
    rank = case(*((theirs.overall_level == level, i) for i, level in enumerate(rollup.PAIRED_LEVELS)), else_=None)
    others: Any = (
        select(
            theirs.instrument_id.label("instrument"),
            func.coalesce(rank, rollup.PAIRED_LEVELS.index(INSUFFICIENT)).label("rank"),
            _day(db, theirs.completed_at).label("day"),
            their_youth.person_id.label("person"),
        )
        .join(their_youth, their_youth.id == theirs.youth_id)
        .where(
            _unindexed(db, theirs.status) == ScreeningStatus.completed,
            _unindexed(db, theirs.completed_at).is_not(None),
            _unindexed(db, theirs.instrument_id) != report.instrument_id,
            theirs.overall_level.is_distinct_from(NOT_SCORED),  # a form without scoring rules has no level to pair
            _unindexed(db, theirs.agency_id) == agency_id if agency_id is not None else theirs.id.is_not(None),
        )
        .subquery("others")
    )
    gap = _days_apart(db, others.c.day, cohort.c.day)
    # The nearest first, then the first level: one number per pair, so the database keeps the least with MIN.
    nearest: Any = (
        select(
            cohort.c.level.label("level"),
            others.c.instrument.label("instrument"),
            func.min(gap * len(rollup.PAIRED_LEVELS) + others.c.rank).label("code"),
        )
        .join(others, and_(others.c.person == cohort.c.person, gap <= report.window_days))
        .group_by(cohort.c.id, cohort.c.level, others.c.instrument)
        .subquery("nearest")
    )
    grouped = select(nearest.c.instrument, nearest.c.level, nearest.c.code, func.count())
    grouped = grouped.group_by(nearest.c.instrument, nearest.c.level, nearest.c.code)
    return _as_pairs(db.exec(grouped).all())


def _as_pairs(rows: Iterable[Any]) -> Pairs:
    """Pairs of grouped rows (other instrument, this level, the nearest's code, count)."""
    found: Pairs = defaultdict(Counter)
    for instrument_id, level, code, n in rows:
        paired = rollup.PAIRED_LEVELS[int(code) % len(rollup.PAIRED_LEVELS)]
        found[instrument_id][level or INSUFFICIENT, paired] += int(n)
    return found


def _stored_pairs(db: Session, report: PerformanceFilter, agency_id: str | None) -> Pairs:
    """`_pairs` within the report's default window, counted from the roll-up's rows (`app.evaluation.rollup`)."""
    pair: Any = EvaluationPair
    code = pair.code_own if agency_id is not None else pair.code_all
    grouped = (
        select(pair.other_instrument, pair.level, code, func.count())
        .where(*_in_window(pair, report, agency_id), code.is_not(None))
        .group_by(pair.other_instrument, pair.level, code)
    )
    return _as_pairs(db.exec(grouped).all())


def condition(row: _Row, known: Iterable[tuple[str, date, int]], min_follow_up_months: int) -> str:
    """WITH, WITHOUT or UNKNOWN for one screening, by the reference standard of the module docstring: the rule
    (`rollup.condition`) that `_known` and `_cells` apply in the database, and the roll-up applies as it derives
    (tests/app/test_evaluation_performance.py checks that they agree)."""
    learned = (rollup.Learned("", kind, learned_on, months) for kind, learned_on, months in known)
    return rollup.condition(row.day, learned, min_follow_up_months)


# Figures ---------------------------------------------------------------------------------------------


CLASSES = (WITH, WITHOUT, UNKNOWN)
ATOMS = (*(f"{level}|{c}" for level in LEVEL_ORDER for c in CLASSES), INSUFFICIENT)


def _atoms(cells: Cells) -> dict[str, int]:
    """The counts every figure of a group is a sum of: each decided level by outcome class, and the
    insufficient results (never split by outcome: nothing published splits them)."""
    atoms = dict.fromkeys(ATOMS, 0)
    for cell in cells:
        atoms[INSUFFICIENT if cell.level == INSUFFICIENT else f"{cell.level}|{cell.condition}"] += cell.count
    return atoms


def _size(cells: Cells) -> int:
    return sum(cell.count for cell in cells)


def _complete(atoms: Mapping[str, int]) -> bool:
    """Every atom is 0 or at least THRESHOLD, so no figure, and no difference of two, is a small count."""
    return all(n == 0 or n >= THRESHOLD for n in atoms.values())


def _group(dimension: str, key: str, cells: Cells, shown: bool) -> Group:
    """A group's figures: all of them when `shown` (its atoms are complete); otherwise (everyone's group only:
    a breakdown is shown whole or not at all) just the total and the insufficient/decided split, a partition
    of the total that `aggregate.suppress_cells` judges on its own."""
    atoms, total = _atoms(cells), _size(cells)
    insufficient = atoms[INSUFFICIENT]
    if not shown:
        shown_total, parts = aggregate.suppress_cells(
            {"insufficient": insufficient, "decided": total - insufficient}, ("insufficient", "decided")
        )
        share = stats.proportion(insufficient, total) if shown_total and parts["insufficient"] is not None else None
        return Group(dimension, key, shown_total, share, dict.fromkeys(CLASSES), None)
    outcomes: dict[str, int | None] = {c: sum(atoms[f"{level}|{c}"] for level in LEVEL_ORDER) for c in CLASSES}
    table = {level: (atoms[f"{level}|{WITH}"], atoms[f"{level}|{WITHOUT}"]) for level in LEVEL_ORDER}
    accuracy = stats.cutoff_tables(table, LEVEL_ORDER)
    return Group(dimension, key, total, stats.proportion(insufficient, total), outcomes, accuracy)


def _merged(periods: list[tuple[str, Cells]], fine: Any, at_least: int = 1) -> list[tuple[str, Cells]] | None:
    """Consecutive periods merged until each passes `fine` (a test of its cells); None if fewer than `at_least`."""
    merged: list[tuple[str, Cells]] = []
    pending: tuple[str, str, Cells] | None = None
    for label, cells in periods:
        first, _last, acc = pending if pending else (label, label, [])
        pending = (first, label, acc + cells)
        if fine(pending[2]):
            merged.append((_span(pending[0], pending[1]), pending[2]))
            pending = None
    if pending is not None:  # the last periods are too thin: merge them back into the ones before
        first, last, acc = pending
        while merged and not fine(acc):
            previous, cells = merged.pop()
            first, acc = previous.split(" to ")[0], cells + acc
        merged.append((_span(first, last), acc))
    return merged if len(merged) >= at_least and all(fine(cells) for _label, cells in merged) else None


def _span(first: str, last: str) -> str:
    """`2025-H1`, or `2024-H2 to 2025-H1` for merged periods (either may itself be a span)."""
    start, end = first.split(" to ")[0], last.split(" to ")[-1]
    return start if start == end else f"{start} to {end}"


def _thresholds(scored: Mapping[tuple[float, str, str], int]) -> list[float] | None:
    """The thresholds a ROC curve may show (rule 4): each band of scores between two shown thresholds holds, for
    each decided level and each side (with, without the condition), 0 or at least THRESHOLD people. Then every
    point, every step, and every difference between a point and a level's cut-off table is a sum of such cells.
    `scored` counts people by (total, level, side). The most thresholds such bands allow (by dynamic programming
    over the distinct scores, highest first); None when none is left between the extremes."""
    scores = sorted({total for total, _level, _side in scored}, reverse=True)
    by_score: dict[float, Counter[tuple[str, str]]] = defaultdict(Counter)
    for (total, level, side), n in scored.items():
        by_score[total][level, side] += n
    groups = [+by_score[score] for score in scores]

    def fine(first: int, end: int) -> bool:
        band: Counter[tuple[str, str]] = sum(groups[first:end], Counter())
        return all(n >= THRESHOLD for n in band.values())

    most: list[tuple[int, int] | None] = [(0, -1)] + [None] * len(scores)  # bands so far, where the last began
    for end in range(1, len(scores) + 1):
        options = [(best[0] + 1, first) for first in range(end) if (best := most[first]) and fine(first, end)]
        most[end] = max(options) if options else None
    if most[len(scores)] is None:
        return None
    cuts, end = [], len(scores)
    while end > 0:
        step = most[end]
        assert step is not None  # noqa: S101 (every band end on the way back from the last was reached)
        _count, first = step
        cuts.append(end)
        end = first
    kept = [scores[end - 1] for end in sorted(cuts) if end < len(scores)]  # the last band's end is everybody
    return sorted(kept, reverse=True) or None


def _roc(cells: Cells) -> tuple[RocCurve | None, str | None]:
    """The ROC curve over the stored totals of decided results with a known outcome; only for a complete group
    (its with/without counts would otherwise give back the atoms rule 1 withholds)."""
    if not _complete(_atoms(cells)):
        return None, _("Suppressed: a count behind these figures is from 1 to 10.")
    known = [cell for cell in cells if cell.level != INSUFFICIENT and cell.condition != UNKNOWN and cell.count]
    scored: Counter[tuple[float, str, str]] = Counter()
    by_score: dict[float, tuple[int, int]] = {}
    for cell in known:
        if cell.total is None:
            continue
        scored[cell.total, cell.level, cell.condition] += cell.count
        with_condition, without = by_score.get(cell.total, (0, 0))
        by_score[cell.total] = (
            (with_condition + cell.count, without) if cell.condition == WITH else (with_condition, without + cell.count)
        )
    positives = sum(w for w, _wo in by_score.values())
    negatives = sum(wo for _w, wo in by_score.values())
    if positives < THRESHOLD or negatives < THRESHOLD or _size(known) != positives + negatives:
        # Screenings without a stored total (from before totals were kept) would make a point differ from a
        # level's cut-off table by a count nobody checked.
        return None, _("Suppressed: fewer than 11 people with, or without, the condition have a stored total.")
    curve = stats.roc_counts(by_score)
    kept = _thresholds(scored)
    if curve is None or kept is None:
        return None, _("Suppressed: no threshold splits the scores into groups of at least 11.")
    shown = set(kept)
    points = [p for p in curve.points if math.isinf(p.threshold) or p.threshold in shown or p is curve.points[-1]]
    return RocCurve(points, curve.auc, curve.low, curve.high, positives, negatives), None


def _levels(cells: Cells) -> dict[str, int]:
    category = {levels.CLEAR: "clear", levels.POSSIBLE: "possible", levels.NONE: "none"}
    counts = dict.fromkeys(aggregate.CATEGORIES, 0)
    for cell in cells:
        counts[category.get(cell.level, "insufficient")] += cell.count
    return counts


def _rates(periods: list[tuple[str, Cells]] | None) -> list[Rate]:
    """Screen-positive shares per period (half-years merged until each level's count is 0 or at least 11)."""
    rates = []
    for label, cells in periods or []:
        counts, total = _levels(cells), _size(cells)
        rates.append(
            Rate(label, total, counts, round(counts["clear"] / total, 4), round(counts["possible"] / total, 4))
        )
    return rates


def _agreement(pairs: Pairs, cells: Cells) -> list[Agreement]:
    """Agreement on the overall level with each other instrument (`_pairs`), published by rule 5."""
    results = []
    level_counts = {a: sum(cell.count for cell in cells if cell.level == a) for a in LEVEL_ORDER}
    for instrument_id in sorted(pairs):
        table = {a: dict.fromkeys(LEVEL_ORDER, 0) for a in LEVEL_ORDER}
        excluded = 0
        for (level, other_level), n in pairs[instrument_id].items():
            if INSUFFICIENT in (level, other_level):
                excluded += n
            else:
                table[level][other_level] += n
        pairs_count = sum(sum(r.values()) for r in table.values())
        if pairs_count + excluded == 0:
            continue
        binary = {a: {b: 0 for b in POSITIVE_OR_NOT} for a in POSITIVE_OR_NOT}
        for a in LEVEL_ORDER:
            for b in LEVEL_ORDER:
                binary[_positive(a)][_positive(b)] += table[a][b]
        # The rates publish each level's count in the cohort: a table row beside it gives the number of that level
        # in no decided pair, so that remainder is a cell too; and so is the cohort minus the pairs (rule 5).
        full = _whole_or_none(table, {a: level_counts[a] - sum(table[a].values()) for a in LEVEL_ORDER})
        rest = {
            "positive": level_counts[levels.CLEAR] + level_counts[levels.POSSIBLE] - sum(binary["positive"].values()),
            "negative": level_counts[levels.NONE] - sum(binary["negative"].values()),
        }
        positive = _whole_or_none(binary, rest)
        unpaired = _size(cells) - pairs_count
        shown_pairs = pairs_count if pairs_count >= THRESHOLD and (unpaired == 0 or unpaired >= THRESHOLD) else None
        results.append(
            Agreement(
                instrument_id,
                shown_pairs,  # pairs left out for too little information are never published apart
                full,
                stats.kappa([list(r.values()) for r in full.values()]) if full else None,
                positive,
                stats.kappa([list(r.values()) for r in positive.values()]) if positive else None,
            )
        )
    return results


POSITIVE_OR_NOT = ("positive", "negative")


def _positive(level: str) -> str:
    return "negative" if level == levels.NONE else "positive"


def _whole_or_none(table: dict[str, dict[str, int]], rest: Mapping[str, int]) -> dict[str, dict[str, int]] | None:
    """An agreement table is published whole or not at all (rule 5): every cell, and every row's remainder in the
    cohort (`rest`: that row's results in no decided pair), 0 or at least THRESHOLD, and at least THRESHOLD pairs.
    Its kappa, observed and expected agreement are functions of the cells, so a table with a suppressed cell could
    be worked back from them; and a 2x2 table is sums of the 3x3 one's cells."""
    counts = [n for row in table.values() for n in row.values()]
    if sum(counts) < THRESHOLD or any(1 <= n < THRESHOLD for n in [*counts, *rest.values()]):
        return None
    return table


# Both queries hash and group every screening of the cohort (about half a million at 1,000,000 screenings). With
# PostgreSQL's default 4 MB per hash or sort they spilled to disk in batches, and JIT compilation added 150-180 ms to
# each; with 32 MB and no JIT the cohort's query took about 40% less at 1M (issue 14). Each hash or sort node of each
# process may use up to 32 MB (twice that for a hash, by hash_mem_multiplier) for this transaction only; the report
# is for supervisors and admins, not a page every request opens.
_COUNTING_ROOM = text("SELECT set_config('work_mem', '32MB', true), set_config('jit', 'off', true)")


def _room_to_count(db: Session) -> None:
    """PostgreSQL: this transaction's hashes and sorts get 32 MB each, and no JIT (SQLite has neither setting)."""
    if _postgresql(db):
        db.execute(_COUNTING_ROOM)


def measure(db: Session, registry: Registry, report: PerformanceFilter, agency_id: str | None) -> Performance:
    """The figures for one filter: `agency_id` is the agency in scope, None for the whole deployment.

    Two queries, whatever the cohort's size: the cohort counted by group (`_cells`) and its pairs with other
    instruments counted by level (`_pairs`); `figures` does the rest on the counts. With the default follow-up
    and window, both count the stored roll-up's rows (`app.evaluation.rollup`) instead of classifying and
    pairing every screening of the cohort: the same counts, from one index each.
    """
    compiled = registry.get(report.instrument_id, report.version)
    sum_type = compiled is not None and compiled.total is not None
    _room_to_count(db)
    if (report.min_follow_up_months, report.window_days) == (MIN_FOLLOW_UP_MONTHS, WINDOW_DAYS):
        rollup.settle(db)  # this transaction's own writes are counted too
        return figures(report, sum_type, _stored_cells(db, report, agency_id), _stored_pairs(db, report, agency_id))
    # Other choices: every screening of the cohort is classified and paired here.
    return figures(report, sum_type, _cells(db, report, agency_id), _pairs(db, report, agency_id))


def figures(report: PerformanceFilter, sum_type: bool, cells: Cells, pairs: Pairs) -> Performance:
    """What the report publishes from the cohort's counts (`cells`) and its agreement pairs.

    Within one report, no suppressed count can be worked out from the others: every breakdown (agency kinds,
    periods) is a partition of everyone, so it is shown only where each of its groups is complete, and the
    periods are half-years merged until they are (rules 1 to 3 of the module docstring).
    """
    groups = [_group("all", "all", cells, _complete(_atoms(cells)))]
    kinds = [(kind, [c for c in cells if c.kind == kind]) for kind in sorted({c.kind for c in cells})]
    kinds_shown = len(kinds) > 1 and all(_complete(_atoms(members)) for _kind, members in kinds)
    groups += [_group("agency_kind", kind, members, True) for kind, members in kinds] if kinds_shown else []
    half_years: dict[str, Cells] = defaultdict(list)
    for cell in cells:
        half_years[cell.period].append(cell)
    by_half_year = sorted(half_years.items())
    rate_periods = _merged(by_half_year, lambda members: _complete(_levels(members)))
    # Accuracy over time merges the rates' periods further, so each of its periods is a union of theirs.
    periods = _merged(rate_periods or [], lambda members: _complete(_atoms(members)), 2) if rate_periods else None
    groups += [_group("period", label, members, True) for label, members in periods or []]
    roc, roc_note = _roc(cells) if sum_type else (None, None)
    agreement = _agreement(pairs, cells)
    notes = [SUPPRESSED_BREAKDOWN] if len(kinds) > 1 and not kinds_shown else []
    notes += [NO_PERIODS] if len(by_half_year) > 1 and not periods else []
    return Performance(report, sum_type, groups, roc, roc_note, _rates(rate_periods), agreement, notes)


def versions_screened(db: Session, agency_id: str | None) -> list[tuple[str, str, int]]:
    """(instrument id, version, completed screenings) in scope, most screened first: the default is the first."""
    count = func.count()
    statement = (
        select(col(Screening.instrument_id), col(Screening.instrument_version), count)
        .where(col(Screening.status) == ScreeningStatus.completed, _in_scope(agency_id))
        .group_by(col(Screening.instrument_id), col(Screening.instrument_version))
        .order_by(count.desc(), col(Screening.instrument_id), col(Screening.instrument_version))
    )
    return [(i, v, int(n)) for i, v, n in db.exec(statement).all()]
