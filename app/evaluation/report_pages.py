"""The instrument performance report as a page with SVG charts, as CSV and as JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from app import levels
from app.db import SessionDep
from app.deps import RegistryDep, WebAuthDep
from app.evaluation import charts, performance, report_io
from app.evaluation.performance import LEVEL_ORDER, Performance
from app.i18n import LazyText, _
from app.models import User
from app.templating import level_label
from app.texts import kind_label
from app.web import render, text
from instruments.loader import Registry

router = APIRouter(include_in_schema=False)
FILTERS = (
    "instrument",
    "scope",
    "date_from",
    "date_to",
    "window_days",
    "min_follow_up_months",
    "reference_clear",
    "reference_possible",
)
DIMENSIONS = {"all": _("Everyone screened"), "agency_kind": _("Agency kind: %s"), "period": _("Screened in %s")}


def _figures(db: Session, request: Request, user: User, registry: Registry, fmt: str) -> Performance:
    raw = {name: request.query_params.get(name, "") for name in FILTERS}
    return report_io.figures(db, registry, user, raw, fmt)


def _title(registry: Registry, instrument_id: str, version: str) -> str:
    """The instrument's title and version, read in the page's language when the page is drawn."""
    compiled = registry.get(instrument_id, version)
    if compiled is None:
        return f"{instrument_id} {version}"
    title = compiled.definition.title
    return LazyText(f"{text(title, 'en')} {version}", lambda: f"{text(title)} {version}")


def _level(code: str) -> str:
    """A level's words, read in the page's language when the page is drawn (the charts are laid out before)."""
    return LazyText(levels.label(code), lambda: level_label(code))


def _group_label(dimension: str, key: str) -> Any:
    """The group's heading, lazy: read in the page's language when the page is drawn."""
    if dimension == "all":
        return DIMENSIONS["all"]
    return DIMENSIONS[dimension] % (kind_label(key) if dimension == "agency_kind" else key)


@router.get("/reports/performance", response_class=HTMLResponse)
def performance_page(request: Request, db: SessionDep, registry: RegistryDep, auth: WebAuthDep) -> Response:
    """How well an instrument version's results foretold what was later learned: figures, charts, tables."""
    raw = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    report_filter, errors, versions = report_io.prepare(db, registry, auth.user, raw)
    report = None
    if report_filter is not None:
        report_io.audited(db, auth.user, report_filter, "html")
        report = report_io.measured(db, registry, auth.user, report_filter)
    context: dict[str, Any] = {}
    if report is not None:
        everyone = report.groups[0]
        context = {
            "accuracy_chart": charts.accuracy_chart(everyone, _level),
            "roc_chart": charts.roc_chart(report.roc) if report.roc else None,
            "rates_chart": charts.rates_chart(report),
            "groups": [(_group_label(g.dimension, g.key), g) for g in report.groups],
            "query": "?" + urlencode({k: v for k, v in report.filter.as_dict().items() if v is not None}),
            "reference_percent": {k: f"{v * 100:g}" for k, v in report.filter.reference.items()},
        }
    return render(
        request,
        "evaluation/performance.html",
        status_code=400 if errors else 200,
        auth=auth,
        raw=raw,
        errors=errors,
        report=report,
        versions=[(f"{i}|{v}", _title(registry, i, v), n) for i, v, n in versions],
        chosen=f"{report_filter.instrument_id}|{report_filter.version}" if report_filter else "",
        title=_title(registry, report_filter.instrument_id, report_filter.version) if report_filter else "",
        scope=report_filter.scope.value if report_filter else raw["scope"] or "agency",
        may_choose_scope=auth.user.role == "system_admin",
        levels=LEVEL_ORDER,
        unscored_left_out=any(not c.scored for c in registry.all()),
        measures=charts.MEASURES,
        rate_styles=charts.RATES,
        interval=charts.interval,
        pct=charts.pct,
        num=charts.num,
        kind_label=kind_label,
        rule=performance.SUPPRESSION_RULE,
        side_labels={"positive": _("Possible concern or more"), "negative": _level(levels.NONE)},
        other_titles={c.id: text(c.definition.title) for c in registry.latest()},
        suppressed_table=performance.SUPPRESSED_TABLE,
        reference_source=performance.REFERENCE_SOURCE,
        geometry={"left": charts.LEFT, "plot_w": charts.PLOT_W, "bar_h": charts.BAR_H},
        **context,
    )


@router.get("/reports/performance.csv")
def performance_csv(request: Request, db: SessionDep, registry: RegistryDep, auth: WebAuthDep) -> Response:
    """The performance report as long-format CSV."""
    report = _figures(db, request, auth.user, registry, "csv")
    name = f"tellonce-performance-{report.filter.instrument_id}-{report.filter.version}.csv"
    return Response(
        report_io.csv_text(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/reports/performance.json")
def performance_json(request: Request, db: SessionDep, registry: RegistryDep, auth: WebAuthDep) -> Response:
    """The performance report as JSON (null is a suppressed figure)."""
    report = _figures(db, request, auth.user, registry, "json")
    return JSONResponse(report_io.as_json(report), headers={"Cache-Control": "no-store"})
