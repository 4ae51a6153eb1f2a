"""The aggregate report as a page with server-drawn SVG charts, as CSV and as JSON.

The charts are inline SVG drawn from the published (already suppressed) rows only: one chart per
instrument and agency kind, a stacked bar per month. Colours are SVG presentation attributes (the
CSP blocks inline styles), each category also has its own pattern and a printed share, and the table
beside the charts is their accessible alternative.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app import levels
from app.db import SessionDep
from app.deps import RegistryDep, WebAuthDep
from app.i18n import lazy_join
from app.reports import aggregate, service
from app.reports.aggregate import FIELDS, ReportRow
from app.texts import kind_label
from app.web import _, render, text
from instruments.loader import Registry

router = APIRouter(include_in_schema=False)
FILTERS = ("scope", "date_from", "date_to", "instrument_id")
SUPPRESSED = "suppressed"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Geometry of a chart (SVG user units).
LABEL_W, BAR_W, BAR_H, GAP, TOP, AXIS_H, LEGEND_H = 80, 500, 26, 10, 8, 22, 82
WIDTH = LABEL_W + BAR_W + 20
# Category: label, base colour (white text on each has a contrast of at least 4.5:1), pattern.
STYLE = {
    category: (text(levels.LABELS[level]), levels.COLOURS[level])  # the words read in the page's language
    for category, level in (
        ("clear", levels.CLEAR),
        ("possible", levels.POSSIBLE),
        ("insufficient", levels.INSUFFICIENT),
        ("none", levels.NONE),
    )
}
SHOWN = tuple(STYLE)  # the order of the legend, the bars and the table's columns
HATCH = "#4a4a55"  # suppressed: grey hatching on white


def instrument_titles(registry: Registry) -> dict[str, str]:
    """Instrument id to title, for every loaded instrument."""
    return {c.id: text(c.definition.title) for c in registry.latest()}


def percent(share: float | None, digits: int = 1) -> str:
    """A share as a percentage, or the suppressed marker."""
    return SUPPRESSED if share is None else f"{share * 100:.{digits}f}%"


def _filters(request: Request) -> dict[str, str]:
    """The report's filters as given in the query."""
    return {name: request.query_params.get(name, "").strip() for name in FILTERS}


def _bar(row: ReportRow, index: int) -> dict[str, Any]:
    """One month's stacked bar: segments for the shown shares, then one for whatever is suppressed."""
    segments, x = [], float(LABEL_W)
    if row.total is not None:
        for key in SHOWN:
            share = row.shares[key]
            if not share:
                continue
            width = share * BAR_W
            segments.append(
                {"key": key, "x": x, "width": width, "fill": f"url(#p-{key}-{index})", "halo": STYLE[key][1]}
                | {"label": percent(share, 0) if width >= 36 else ""}
            )
            x += width
    rest = LABEL_W + BAR_W - x
    if row.suppressed and rest > 0.5:
        label = _("suppressed") if rest >= 80 else ""
        segments.append(
            {"key": SUPPRESSED, "x": x, "width": rest, "fill": f"url(#p-suppressed-{index})", "halo": "#ffffff"}
            | {"label": label}
        )
    shares = {k: _("suppressed") if row.shares[k] is None else percent(row.shares[k], 0) for k in SHOWN}
    parts = [lazy_join(" ", [STYLE[k][0], shares[k]]) for k in SHOWN if row.total is not None]
    summary = f"{row.month}: " + (
        lazy_join(", ", parts) if parts else _("all counts suppressed (fewer than 11 screenings)")
    )
    return {"month": row.month, "segments": segments, "summary": summary}


def charts(rows: list[ReportRow], titles: dict[str, str]) -> list[dict[str, Any]]:
    """One chart per instrument and agency kind, a bar per month, laid out for the template."""
    series: dict[tuple[str, str], list[ReportRow]] = {}
    for row in rows:
        series.setdefault((row.instrument, row.agency_kind), []).append(row)
    result = []
    for index, ((instrument, kind), members) in enumerate(series.items(), start=1):
        bars = [_bar(row, index) | {"y": TOP + i * (BAR_H + GAP)} for i, row in enumerate(members)]
        axis_y = TOP + len(bars) * (BAR_H + GAP)
        title = _("Results by month: %(instrument)s, %(kind)s") % {
            "instrument": titles.get(instrument, instrument),
            "kind": kind_label(kind),
        }
        result.append(
            {
                "index": index,
                "title": title,
                "desc": _(
                    "Stacked bars, one per month, of the shares of clear concern, possible concern, not enough "
                    "information to conclude, and no concern among completed screenings; a hatched part is "
                    "suppressed. The table below gives every figure."
                )
                + " "
                + lazy_join("; ", [b["summary"] for b in bars]),
                "bars": bars,
                "axis_y": axis_y,
                "ticks": [(LABEL_W + BAR_W * t / 4, f"{t * 25}%") for t in range(5)],
                "legend_y": axis_y + AXIS_H,
                "height": axis_y + AXIS_H + LEGEND_H,
            }
        )
    return result


def legend() -> list[dict[str, Any]]:
    """The legend's entries, two per line (the labels are long)."""
    entries = [(key, _(label)) for key, (label, _colour) in STYLE.items()] + [(SUPPRESSED, _("Suppressed"))]
    return [
        {"key": key, "label": label, "x": LABEL_W + (i % 2) * 260, "dy": (i // 2) * 24}
        for i, (key, label) in enumerate(entries)
    ]


def table_rows(rows: list[ReportRow], titles: dict[str, str]) -> list[dict[str, Any]]:
    """The table's rows: counts and shares as text, suppressed cells marked."""
    return [
        {
            "month": row.month,
            "instrument": titles.get(row.instrument, row.instrument),
            "kind": kind_label(row.agency_kind),
            "total": SUPPRESSED if row.total is None else str(row.total),
            "cells": [
                (SUPPRESSED, "") if row.counts[c] is None else (str(row.counts[c]), percent(row.shares[c]))
                for c in SHOWN
            ],
        }
        for row in rows
    ]


@router.get("/reports", response_class=HTMLResponse)
def aggregate_page(request: Request, db: SessionDep, registry: RegistryDep, auth: WebAuthDep) -> Response:
    """The aggregate report: filters, charts and the table."""
    raw = _filters(request)
    report = service.run(db, auth.user, registry, raw, "html", strict=False)  # invalid filters are shown on the page
    report_filter, rows, errors = report.filter, report.rows, report.errors
    titles = instrument_titles(registry)
    query = urlencode({k: v for k, v in report_filter.as_dict().items() if v})
    return render(
        request,
        "reports/aggregate.html",
        status_code=400 if errors else 200,
        auth=auth,
        raw=raw,
        errors=errors,
        scope=report_filter.scope.value,
        may_choose_scope=auth.user.role == "system_admin",
        instruments=sorted(titles.items(), key=lambda pair: pair[1]),
        rows=table_rows(rows, titles),
        charts=charts(rows, titles),
        legend=legend(),
        style=STYLE,
        hatch=HATCH,
        geometry={"label_w": LABEL_W, "bar_w": BAR_W, "bar_h": BAR_H, "width": WIDTH},
        query=("?" + query) if query else "",
        rule=aggregate.SUPPRESSION_RULE,
        not_counted=[titles.get(i, i) for i in report.not_counted],
        not_counted_why=aggregate.NOT_COUNTED,
    )


def _safe(value: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def csv_text(rows: Iterable[ReportRow]) -> str:
    """The rows as CSV, with a header of FIELDS; suppressed cells say so."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([_safe(SUPPRESSED if value is None else value) for value in row.as_dict().values()])
    return out.getvalue()


@router.get("/reports.csv")
def aggregate_csv(request: Request, db: SessionDep, registry: RegistryDep, auth: WebAuthDep) -> Response:
    """The aggregate report as CSV."""
    report = service.run(db, auth.user, registry, _filters(request), "csv")
    name = f"tellonce-aggregate-{report.filter.scope.value}.csv"
    return Response(
        csv_text(report.rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/reports.json")
def aggregate_json(request: Request, db: SessionDep, registry: RegistryDep, auth: WebAuthDep) -> Response:
    """The aggregate report as JSON (null is a suppressed cell)."""
    report = service.run(db, auth.user, registry, _filters(request), "json")
    document = aggregate.as_json(report.rows, report.filter, report.not_counted)
    return JSONResponse(document, headers={"Cache-Control": "no-store"})
