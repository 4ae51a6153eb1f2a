"""Server-drawn SVG charts of the performance report, laid out here and drawn by the template.

Each chart is an inline SVG with a title and a description that states every figure it shows, and a
table beside it with the same figures and their counts (the accessible alternative). Measures are
told apart by pattern and by printed label as well as by colour; every colour passes 4.5:1 against
white text or the white background. Only published (already suppressed) figures are drawn.
"""

from __future__ import annotations

import math
from typing import Any

from babel.numbers import format_decimal, format_percent

from app import levels
from app.evaluation import stats
from app.evaluation.performance import Group, Performance, RocCurve
from app.i18n import LazyText, _, lazy_join, page_language
from app.texts import text

MEASURES = {  # measure: label, colour, pattern
    "sensitivity": (_("Sensitivity"), "#1f4e79", "solid"),
    "specificity": (_("Specificity"), "#7a4f00", "diagonal"),
    "ppv": (_("Positive predictive value"), "#5b2a86", "dots"),
    "npv": (_("Negative predictive value"), "#2d6a4f", "cross"),
}
RATES = {  # category: label, colour, pattern
    "clear": (levels.LABELS[levels.CLEAR], levels.COLOURS[levels.CLEAR], "solid"),
    "possible": (levels.LABELS[levels.POSSIBLE], levels.COLOURS[levels.POSSIBLE], "diagonal"),
}
LEFT, PLOT_W, BAR_H, GAP = 10, 320, 14, 6


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage in the page's language (`10.1%`, `10,1 %`); "–" when there is none."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return LazyText(f"{value * 100:.{digits}f}%", lambda: format_percent(value, pattern, locale=page_language()))


def num(value: float | None, digits: int = 2) -> str:
    """A number (an AUC, a kappa) in the page's language (`0.74`, `0,74`)."""
    if value is None:
        return "–"
    pattern = "0." + "0" * digits
    return LazyText(f"{value:.{digits}f}", lambda: format_decimal(value, pattern, locale=page_language()))


def interval(estimate: stats.Estimate) -> str:
    """`80.0% (49.0%–94.3%), 8/10`: a figure, its 95% interval and its counts, as the charts' descriptions say it."""
    e = estimate
    if e.value is None:
        return _("no one to count (0/0)")

    def render() -> str:
        return f"{pct(e.value)} ({pct(e.low)}–{pct(e.high)}), {e.numerator}/{e.denominator}"

    english = (
        f"{e.value * 100:.1f}% ({(e.low or 0) * 100:.1f}%–{(e.high or 0) * 100:.1f}%), {e.numerator}/{e.denominator}"
    )
    return LazyText(english, render)


def accuracy_chart(group: Group, level_label: Any) -> dict[str, Any] | None:
    """Bars of the four figures per cut-off with their 95% intervals as whiskers; each bar's label and figure
    above it, so the chart reads at a phone's width."""
    if not group.accuracy:
        return None
    blocks, y, parts = [], 8, []
    for row in group.accuracy:
        bars = []
        heading = _("Cut-off: %(level)s or more concerning") % {"level": level_label(row.cutoff)}
        heading_y = y + 12
        y += 22
        for measure, (label, colour, pattern) in MEASURES.items():
            e: stats.Estimate = getattr(row, measure)
            figure = pct(e.value, 0)
            bar: dict[str, Any] = {
                "measure": measure,
                "label": label,
                "colour": colour,
                "pattern": pattern,
                "text": interval(e),
            }
            bar |= {"label_y": y + 12, "y": y + 16, "figure": figure}
            if e.value is not None and e.low is not None and e.high is not None:
                bar |= {"width": e.value * PLOT_W, "low": LEFT + e.low * PLOT_W, "high": LEFT + e.high * PLOT_W}
            bars.append(bar)
            parts.append(lazy_join(" ", [heading + ",", label, bar["text"]]))
            y += 16 + BAR_H + GAP
        blocks.append({"heading": heading, "heading_y": heading_y, "bars": bars})
        y += 10
    return {
        "blocks": blocks,
        "width": LEFT + PLOT_W + 20,
        "height": y + 64,
        "ticks": [(LEFT + PLOT_W * t / 4, f"{t * 25}%") for t in range(5)],
        "axis_y": y,
        "legend_y": y + 22,
        "desc": lazy_join("; ", parts),
    }


def roc_chart(roc: RocCurve) -> dict[str, Any]:
    """The ROC curve in a square plot, with the diagonal of a test no better than chance."""
    size, left, top = 300, 50, 10

    def x(fpr: float) -> float:
        return left + fpr * size

    def y(tpr: float) -> float:
        return top + (1 - tpr) * size

    points: list[dict[str, Any]] = [
        {
            "x": x(p.false_positive_rate),
            "y": y(p.sensitivity),
            "label": _("score at least %(t)s") % {"t": f"{p.threshold:g}"}
            if not math.isinf(p.threshold)
            else _("above every score (nobody positive)"),
            "text": lazy_join(" / ", [pct(p.sensitivity), pct(p.false_positive_rate)]),
        }
        for p in roc.points
    ]
    desc = _(
        "ROC curve over the instrument's total: sensitivity against false-positive rate at each threshold shown; "
        "AUC %(auc)s (95%% interval %(low)s to %(high)s), %(pos)d with and %(neg)d without the condition. "
    ) % {
        "auc": num(roc.auc, 3),
        "low": num(roc.low, 3),
        "high": num(roc.high, 3),
        "pos": roc.positives,
        "neg": roc.negatives,
    }
    desc += lazy_join("; ", [lazy_join(": ", [p["label"], p["text"]]) for p in points])
    return {
        "size": size,
        "left": left,
        "top": top,
        "width": left + size + 20,
        "height": top + size + 46,
        "points": points,
        "path": " ".join(f"{p['x']:.1f},{p['y']:.1f}" for p in points),
        "ticks": [(t / 4, f"{t * 25}%") for t in range(5)],
        "desc": desc,
    }


def _words(words: Any) -> str:
    """An {"en": ..., "es": ...} label, read in the page's language when shown."""
    return LazyText(words["en"], lambda: text(words, page_language()))


def rates_chart(report: Performance) -> dict[str, Any] | None:
    """Screen-positive shares by half-year (clear; possible) beside the evaluator's reference lines."""
    if not report.rates:
        return None
    top, plot_h, left, step = 14, 200, 40, 72
    scale: float = max(
        0.5,
        *(report.filter.reference[k] for k in RATES),
        *(getattr(r, k) for r in report.rates for k in RATES),
    )
    scale = math.ceil(scale * 10) / 10

    def y(share: float) -> float:
        return top + plot_h * (1 - share / scale)

    periods, parts = [], []
    for i, rate in enumerate(report.rates):
        x0 = left + 10 + i * step
        bars = []
        for j, (key, (label, colour, pattern)) in enumerate(RATES.items()):
            share = getattr(rate, key)
            bars.append({"key": key, "x": x0 + j * 24, "y": y(share), "height": y(0) - y(share)})
            bars[-1] |= {"colour": colour, "pattern": pattern, "label": pct(share, 0)}
            parts.append(lazy_join(" ", [rate.period, lazy_join(": ", [_words(label), pct(share)])]))
        periods.append({"label": rate.period, "x": x0 + 20, "bars": bars})
    references = [
        {
            "key": key,
            "y": y(report.filter.reference[key]),
            "label": pct(report.filter.reference[key], 0),
            "colour": RATES[key][1],
        }
        for key in RATES
    ]
    width = left + 20 + len(report.rates) * step + 70
    desc = _(
        "Shares of clear and of possible concern by half-year; dashed lines are the reference: "
        "%(clear)s clear, %(possible)s possible. "
    ) % {
        "clear": pct(report.filter.reference["clear"]),
        "possible": pct(report.filter.reference["possible"]),
    }
    return {
        "periods": periods,
        "references": references,
        "width": max(width, 360),
        "plot_right": left + 20 + len(report.rates) * step,
        "height": top + plot_h + 40,
        "base": y(0),
        "top": top,
        "left": left,
        "ticks": [(y(t / 10), pct(t / 10, 0)) for t in range(round(scale * 10) + 1)],
        "desc": desc + lazy_join("; ", parts),
    }
