"""The performance report's filter from query values, and the report as JSON and CSV.

Shared by the page, the API and `tellonce evaluate`, so each writes the same figures.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from sqlmodel import Session

from app import audit
from app.errors import InvalidInput
from app.evaluation import stats
from app.evaluation.performance import (
    LEVEL_ORDER,
    REFERENCE,
    SUPPRESSION_RULE,
    Agreement,
    Group,
    Performance,
    PerformanceFilter,
    authorize,
    measure,
    versions_screened,
)
from app.i18n import _
from app.models import User
from app.reports import aggregate
from app.reports.aggregate import THRESHOLD, Scope
from instruments.loader import Registry

BOUNDS = {"window_days": (1, 365), "min_follow_up_months": (1, 60)}
CSV_FIELDS = (
    "section",
    "group",
    "group_value",
    "measure",
    "cutoff",
    "value",
    "low",
    "high",
    "numerator",
    "denominator",
    "note",
)
SUPPRESSED = "suppressed"
WHOLE = re.compile(r"[0-9]{1,6}")
PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


UNSCORED = _(
    "This instrument has no scoring rules: its screenings conclude no level, so there is nothing to evaluate. "
    "Choose an instrument with levels."
)


def parse_filter(
    values: Mapping[str, str],
    versions: set[tuple[str, str]],
    default: tuple[str, str] | None,
    unscored: Collection[tuple[str, str]] = (),
) -> tuple[PerformanceFilter | None, dict[str, str]]:
    """A filter from query values and a message per invalid field; None when no instrument version is known.
    An `unscored` version (no scoring rules, so no levels) is refused with a message that says so."""
    errors: dict[str, str] = {}
    months, months_errors = aggregate.parse_filter(
        {
            "scope": values.get("scope", ""),
            "date_from": values.get("date_from", ""),
            "date_to": values.get("date_to", ""),
        },
        set(),
    )
    errors.update(months_errors)
    chosen = default
    raw = (values.get("instrument") or "").strip()
    if raw:
        instrument_id, _bar, version = raw.partition("|")
        if (instrument_id, version) in versions:
            chosen = (instrument_id, version)
        elif (instrument_id, version) in unscored:
            errors["instrument"] = UNSCORED
        else:
            errors["instrument"] = _("Choose one of the listed instrument versions.")
    numbers: dict[str, int] = {"window_days": 30, "min_follow_up_months": 6}
    for name, (low, high) in BOUNDS.items():
        text = (values.get(name) or "").strip()
        if not text:
            continue
        if not WHOLE.fullmatch(text) or not low <= int(text) <= high:  # ASCII digits only (not "²" or "٣")
            errors[name] = _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
            continue
        numbers[name] = int(text)
    reference = dict(REFERENCE)
    for key in ("clear", "possible"):
        text = (values.get(f"reference_{key}") or "").strip().removesuffix("%").strip()
        if not text:
            continue
        percent = float(text) if PERCENT.fullmatch(text) else math.nan  # not "1_0", "1e2", "-0" or "NaN"
        if not 0 <= percent <= 100:  # NaN fails too
            errors[f"reference_{key}"] = _("Enter a percentage from 0 to 100.")
            continue
        reference[key] = round(percent / 100, 4)
    if chosen is None:
        return None, errors
    return (
        PerformanceFilter(
            instrument_id=chosen[0],
            version=chosen[1],
            scope=months.scope,
            month_from=months.month_from,
            month_to=months.month_to,
            window_days=numbers["window_days"],
            min_follow_up_months=numbers["min_follow_up_months"],
            reference=reference,
        ),
        errors,
    )


# JSON ------------------------------------------------------------------------------------------------


def _estimate(estimate: stats.Estimate | None) -> dict[str, Any] | None:
    if estimate is None:
        return None
    return {
        "value": estimate.value,
        "low": estimate.low,
        "high": estimate.high,
        "numerator": estimate.numerator,
        "denominator": estimate.denominator,
    }


def _accuracy(row: stats.Accuracy) -> dict[str, Any]:
    return {
        "cutoff": row.cutoff,
        "counts": {"tp": row.tp, "fp": row.fp, "fn": row.fn, "tn": row.tn},
        "sensitivity": _estimate(row.sensitivity),
        "specificity": _estimate(row.specificity),
        "ppv": _estimate(row.ppv),
        "npv": _estimate(row.npv),
    }


def _group(group: Group) -> dict[str, Any]:
    return {
        "group": group.dimension,
        "value": group.key,
        "screenings": group.screenings,
        "insufficient_share": _estimate(group.insufficient),
        "outcomes": group.outcomes,
        "accuracy": None if group.accuracy is None else [_accuracy(a) for a in group.accuracy],
    }


def _kappa(kappa: stats.Kappa | None) -> dict[str, Any] | None:
    if kappa is None:
        return None
    return {
        "value": kappa.value,
        "low": kappa.low,
        "high": kappa.high,
        "n": kappa.n,
        "observed_agreement": kappa.observed_agreement,
        "expected_agreement": kappa.expected_agreement,
    }


def _agreement(item: Agreement) -> dict[str, Any]:
    return {
        "other_instrument": item.other_instrument,
        "pairs": item.pairs,
        "table": item.table,
        "kappa": _kappa(item.kappa),
        "positive_table": item.positive_table,
        "positive_kappa": _kappa(item.positive_kappa),
    }


def as_json(report: Performance) -> dict[str, Any]:
    """The report as a JSON document: the filter, the rules, and every figure (null is suppressed)."""
    roc = report.roc
    return {
        "filter": report.filter.as_dict(),
        "threshold": THRESHOLD,
        "suppression": str(SUPPRESSION_RULE),
        "levels": list(LEVEL_ORDER),
        "groups": [_group(g) for g in report.groups],
        "roc": None
        if roc is None
        else {
            "auc": roc.auc,
            "low": roc.low,
            "high": roc.high,
            "positives": roc.positives,
            "negatives": roc.negatives,
            # The first point's threshold is above every score (nobody positive): null here, as JSON has no Infinity.
            "points": [
                {
                    "threshold": None if math.isinf(p.threshold) else p.threshold,
                    "tp": p.tp,
                    "fp": p.fp,
                    "fn": p.fn,
                    "tn": p.tn,
                    "sensitivity": p.sensitivity,
                    "false_positive_rate": p.false_positive_rate,
                }
                for p in roc.points
            ],
        },
        "roc_note": None if report.roc_note is None else str(report.roc_note),
        "sum_type": report.sum_type,
        "rates": [
            {"period": r.period, "total": r.total, "counts": r.counts, "clear": r.clear, "possible": r.possible}
            for r in report.rates
        ],
        "agreement": [_agreement(a) for a in report.agreement],
        "notes": [str(note) for note in report.notes],
    }


# CSV -------------------------------------------------------------------------------------------------


def _safe(value: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula; None is a suppressed cell."""
    cell = SUPPRESSED if value is None else str(value)
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _lines(report: Performance) -> Iterator[list[object]]:
    for group in report.groups:
        where = ("group", group.dimension, group.key)
        yield [*where, "screenings", "", group.screenings, "", "", "", "", ""]
        share = group.insufficient
        if share is None:
            yield [*where, "insufficient_share", "", None, None, None, None, None, ""]
        else:
            yield [
                *where,
                "insufficient_share",
                "",
                share.value,
                share.low,
                share.high,
                share.numerator,
                share.denominator,
                "",
            ]
        for name, count in group.outcomes.items():
            yield [*where, f"outcome_{name}", "", count, "", "", "", "", ""]
        if group.accuracy is None:
            yield [*where, "accuracy", "", None, None, None, None, None, str(_("a count behind it is from 1 to 10"))]
            continue
        for row in group.accuracy:
            for name in ("sensitivity", "specificity", "ppv", "npv"):
                e: stats.Estimate = getattr(row, name)
                yield [*where, name, row.cutoff, e.value, e.low, e.high, e.numerator, e.denominator, ""]
    if report.roc is not None:
        roc = report.roc
        yield ["roc", "all", "all", "auc", "", roc.auc, roc.low, roc.high, roc.positives, roc.negatives, ""]
        for p in report.roc.points:
            threshold = "" if math.isinf(p.threshold) else p.threshold
            yield ["roc", "all", "all", "sensitivity", threshold, p.sensitivity, "", "", p.tp, p.tp + p.fn, ""]
            yield [
                "roc",
                "all",
                "all",
                "false_positive_rate",
                threshold,
                p.false_positive_rate,
                "",
                "",
                p.fp,
                p.fp + p.tn,
                "",
            ]
    for rate in report.rates:
        where = ("rates", "period", rate.period)
        for key in ("clear", "possible", "none", "insufficient"):
            yield [*where, f"count_{key}", "", rate.counts[key], "", "", rate.counts[key], rate.total, ""]
        for key in ("clear", "possible"):
            share = getattr(rate, key)
            yield [*where, f"share_{key}", "", share, "", "", rate.counts[key], rate.total, ""]
            yield [*where, f"reference_{key}", "", report.filter.reference[key], "", "", "", "", "entered"]
    for item in report.agreement:
        where = ("agreement", "other_instrument", item.other_instrument)
        yield [*where, "pairs", "", item.pairs, "", "", "", "", ""]
        for name, table, kappa in (
            ("levels", item.table, item.kappa),
            ("positive", item.positive_table, item.positive_kappa),
        ):
            values = (kappa.value, kappa.low, kappa.high) if kappa is not None else (None, None, None)
            yield [*where, f"kappa_{name}", "", *values, "", item.pairs, "" if table else "table suppressed"]
            for mine, by_theirs in (table or {}).items():
                for theirs, count in by_theirs.items():
                    yield [*where, f"pairs_{name}", f"{mine}|{theirs}", count, "", "", "", "", ""]


def csv_text(report: Performance) -> str:
    """The report as long-format CSV (one figure per line, with its interval and counts), UTF-8 with a BOM
    so spreadsheets read the accents of Spanish notes right."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for line in _lines(report):
        writer.writerow([_safe(v) if v is None or isinstance(v, str) else v for v in line])
    return out.getvalue()


# One request, as the page, the API and the command make it -----------------------------------------


def audited(db: Session, user: User, report: PerformanceFilter, fmt: str) -> None:
    """Every read of the report is audited with its filter (no figure, no identity)."""
    detail = {k: v for k, v in report.as_dict().items() if v is not None} | {"format": fmt}
    audit.record(db, "report.performance", actor_id=user.id, agency_id=user.agency_id, detail=detail)


def prepare(
    db: Session, registry: Registry, user: User, values: Mapping[str, str]
) -> tuple[PerformanceFilter | None, dict[str, str], list[tuple[str, str, int]]]:
    """Authorize, read the filter (defaulting to the most screened instrument version in scope) and list the
    versions to choose from: (filter or None when nothing was screened, errors, versions with their counts)."""
    scope_text = (values.get("scope") or "agency").strip()
    scope = Scope.deployment if scope_text == Scope.deployment.value else Scope.agency
    authorize(user, scope)
    screened = versions_screened(db, user.agency_id if scope is Scope.agency else None)
    loaded = {(c.id, c.version) for c in registry.all() if c.scored}  # a form without scoring rules has no levels
    unscored = {(c.id, c.version) for c in registry.all() if not c.scored}
    versions = [(i, v, n) for i, v, n in screened if (i, v) in loaded]
    default = (versions[0][0], versions[0][1]) if versions else None
    report_filter, errors = parse_filter(values, {(i, v) for i, v, _n in versions} | loaded, default, unscored)
    return report_filter, errors, versions


def measured(db: Session, registry: Registry, user: User, report_filter: PerformanceFilter) -> Performance:
    """The figures for a filter `prepare` accepted (and so authorized): the user's agency, or the deployment."""
    return measure(db, registry, report_filter, user.agency_id if report_filter.scope is Scope.agency else None)


def figures(db: Session, registry: Registry, user: User, values: Mapping[str, str], fmt: str) -> Performance:
    """One audited report for the downloads and the API: invalid filters, or nothing screened, raise InvalidInput."""
    report_filter, errors, _versions = prepare(db, registry, user, values)
    if errors:
        raise InvalidInput(_("Some filters are not valid."), errors)
    if report_filter is None:
        raise InvalidInput(_("No completed screenings to measure yet."), {"instrument": _("Nothing screened.")})
    audited(db, user, report_filter, fmt)
    return measured(db, registry, user, report_filter)
