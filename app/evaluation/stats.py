"""The statistics of instrument performance: proportions with intervals, cut-off tables, ROC and kappa.

Pure functions on counts and scores: no database, no web, no identifiers. The report that reads
screenings and outcomes (`app.evaluation`) turns them into these counts; everything here can be
checked by hand on a small table (tests/app/test_evaluation_stats.py).

- A proportion carries its 95% interval (Wilson by default, Clopper–Pearson "exact" on request,
  both from scipy) and the counts behind it; with nothing to count, the figures are None, never 0.
- Each result level but the least concerning is a cut-off: positive means "that level or a more
  concerning one". Levels outside the given order (insufficient information) are not counted
  here; the caller reports them separately so they can never be read as negatives.
- For sum-type instruments, the ROC curve has one point per distinct observed score and an AUC
  equal to the Mann–Whitney probability, with the Hanley & McNeil (1982) interval.
- Agreement between two instruments taken for the same youth is Cohen's kappa on the overall level,
  with statsmodels' asymptotic standard error.

scipy and statsmodels are imported inside the functions that use them: together they take over
half a second to import, and the web app should not pay that at start-up for a page few open.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

CONFIDENCE = 0.95
# The two-sided 95% normal quantile (1.959963984540054), as scipy uses it.
Z95 = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)

Method = Literal["wilson", "exact"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A proportion with its 95% interval and counts; value, low and high are None when the denominator is 0."""

    value: float | None
    low: float | None
    high: float | None
    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True)
class Accuracy:
    """The 2×2 table of one cut-off against the outcome, and the four figures read from it."""

    cutoff: str
    tp: int
    fp: int
    fn: int
    tn: int
    sensitivity: Estimate
    specificity: Estimate
    ppv: Estimate
    npv: Estimate


@dataclass(frozen=True, slots=True)
class RocPoint:
    """One point of a ROC curve: a score counts as positive when it is at least `threshold`.

    The first point of a curve has threshold +inf (nobody positive: the point (0, 0)); the last
    observed score as threshold makes everybody positive (the point (1, 1)).
    """

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int
    sensitivity: float
    false_positive_rate: float


@dataclass(frozen=True, slots=True)
class Roc:
    """A ROC curve, ordered by false-positive rate, with its AUC and the AUC's 95% interval."""

    points: tuple[RocPoint, ...]
    auc: float
    low: float
    high: float
    positives: int
    negatives: int


@dataclass(frozen=True, slots=True)
class Kappa:
    """Cohen's kappa between two instruments with its 95% interval; None where it is undefined."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    observed_agreement: float | None
    expected_agreement: float | None


def proportion(k: int, n: int, method: Method = "wilson") -> Estimate:
    """The proportion k/n with its 95% interval (Wilson, or Clopper–Pearson for method="exact")."""
    if k < 0 or n < 0 or k > n:
        raise ValueError(f"a proportion needs 0 <= k <= n, got k={k}, n={n}")
    if method not in ("wilson", "exact"):
        raise ValueError(f"unknown interval method {method!r}: use 'wilson' or 'exact'")
    if n == 0:
        return Estimate(value=None, low=None, high=None, numerator=k, denominator=n)
    # Lazy: scipy.stats takes about half a second to import (see the module docstring).
    from scipy.stats import binomtest

    interval = binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method=method)
    return Estimate(value=k / n, low=float(interval.low), high=float(interval.high), numerator=k, denominator=n)


def accuracy(cutoff: str, tp: int, fp: int, fn: int, tn: int, method: Method = "wilson") -> Accuracy:
    """Sensitivity tp/(tp+fn), specificity tn/(tn+fp), PPV tp/(tp+fp) and NPV tn/(tn+fn) of one cut-off."""
    cells = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    negative = {name: count for name, count in cells.items() if count < 0}
    if negative:
        raise ValueError(f"counts of a 2×2 table cannot be negative, got {negative} for cut-off {cutoff!r}")
    return Accuracy(
        cutoff=cutoff,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        sensitivity=proportion(tp, tp + fn, method),
        specificity=proportion(tn, tn + fp, method),
        ppv=proportion(tp, tp + fp, method),
        npv=proportion(tn, tn + fn, method),
    )


def cutoff_tables(
    levels_with_outcome: Mapping[str, tuple[int, int]], order: Sequence[str], method: Method = "wilson"
) -> list[Accuracy]:
    """One Accuracy per level as a cut-off (positive = that level or a more concerning one).

    `levels_with_outcome` maps a result level to (youths with the condition, youths without it);
    `order` lists the levels from most to least concern. The least concerning level is not a
    cut-off (everyone would be positive). Levels missing from the mapping count 0; levels not in
    `order` (e.g. insufficient information) are left out, for the caller to report beside.
    """
    if len(set(order)) != len(order):
        raise ValueError(f"the order of levels repeats a level: {list(order)}")
    for level, (with_condition, without) in levels_with_outcome.items():
        if with_condition < 0 or without < 0:
            raise ValueError(f"counts cannot be negative, got {level!r}: ({with_condition}, {without})")
    counts = [levels_with_outcome.get(level, (0, 0)) for level in order]
    total_with = sum(with_condition for with_condition, _ in counts)
    total_without = sum(without for _, without in counts)
    tables: list[Accuracy] = []
    tp = fp = 0
    for level, (with_condition, without) in zip(order[:-1], counts[:-1], strict=True):
        tp += with_condition
        fp += without
        tables.append(accuracy(level, tp=tp, fp=fp, fn=total_with - tp, tn=total_without - fp, method=method))
    return tables


def roc(with_condition: Sequence[float], without: Sequence[float]) -> Roc | None:
    """The ROC curve of a score against the outcome, its AUC and the AUC's 95% interval; None if a group is empty.

    A higher score is taken to mean more concern. There is one point per distinct observed score
    t, "positive when score >= t", after the point (0, 0) at threshold +inf; the lowest score gives
    (1, 1). Points run from the highest threshold to the lowest, so both rates only grow.

    The AUC is the Mann–Whitney probability that a youth with the condition scores higher than one
    without, ties counting 1/2: U / (n1 * n0), with n1 youths with the condition and n0 without.
    It equals the trapezoid area under the points. Its standard error is Hanley & McNeil's (1982):

        Q1 = A / (2 - A)        Q2 = 2 A² / (1 + A)
        SE² = (A (1 - A) + (n1 - 1)(Q1 - A²) + (n0 - 1)(Q2 - A²)) / (n1 n0)

    and the interval A ± 1.96 SE, clipped to [0, 1].
    """
    counts: dict[float, tuple[int, int]] = {}
    for score in with_condition:
        w, wo = counts.get(score, (0, 0))
        counts[score] = (w + 1, wo)
    for score in without:
        w, wo = counts.get(score, (0, 0))
        counts[score] = (w, wo + 1)
    return roc_counts(counts)


def roc_counts(counts: Mapping[float, tuple[int, int]]) -> Roc | None:
    """`roc` from how many youths with and without the condition have each score: its cost is the number of
    distinct scores, not of youths. The same curve and AUC as `roc` on the scores listed one by one."""
    for score, (with_condition, without) in counts.items():
        if not math.isfinite(score):
            raise ValueError(f"scores must be finite numbers, got {score!r}")
        if with_condition < 0 or without < 0:
            raise ValueError(f"counts cannot be negative, got {score!r}: ({with_condition}, {without})")
    observed = sorted((s for s, (w, wo) in counts.items() if w or wo), reverse=True)
    n1 = sum(counts[s][0] for s in observed)
    n0 = sum(counts[s][1] for s in observed)
    if not n1 or not n0:
        return None

    def point(threshold: float, tp: int, fp: int) -> RocPoint:
        return RocPoint(
            threshold=threshold,
            tp=tp,
            fp=fp,
            fn=n1 - tp,
            tn=n0 - fp,
            sensitivity=tp / n1,
            false_positive_rate=fp / n0,
        )

    points = [point(math.inf, 0, 0)]
    tp = fp = 0
    twice_u = 0  # 2U, an integer: each pair ranked right counts 2, each tie 1
    for score in observed:  # highest first, so fp counts the youths without the condition scoring above
        with_condition, without = counts[score]
        twice_u += with_condition * (2 * (n0 - fp - without) + without)
        tp, fp = tp + with_condition, fp + without
        points.append(point(float(score), tp, fp))
    # U is a whole or half number, exact in a float: the same U as scipy's mannwhitneyu from its ranks.
    u = twice_u / 2
    auc = u / (n1 * n0)
    q1 = auc / (2 - auc)
    q2 = 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)
    se = math.sqrt(max(variance, 0.0))  # rounding can leave -1e-17 at AUC 0 or 1
    return Roc(
        points=tuple(points),
        auc=auc,
        low=max(0.0, auc - Z95 * se),
        high=min(1.0, auc + Z95 * se),
        positives=n1,
        negatives=n0,
    )


def kappa(table: Sequence[Sequence[int]]) -> Kappa:
    """Cohen's kappa for a square table of counts (rows: instrument A's level, columns: B's, same order).

    kappa = (p_o - p_e) / (1 - p_e), with p_o the share on the diagonal and p_e the agreement the
    margins alone would give. Its standard error and 95% interval are statsmodels' asymptotic ones
    (Fleiss, Cohen & Everitt 1969); the interval is clipped to kappa's range [-1, 1]. With no
    youths everything is None; where p_e is 1 (everyone in one category on both) kappa is
    undefined: value None, the observed agreement still given.
    """
    size = len(table)
    if size == 0 or any(len(row) != size for row in table):
        raise ValueError(f"kappa needs a square table of counts, got {[len(row) for row in table]} columns per row")
    if any(count < 0 for row in table for count in row):
        raise ValueError(f"counts cannot be negative, got {[list(row) for row in table]}")
    n = sum(sum(row) for row in table)
    if n == 0:
        return Kappa(value=None, low=None, high=None, n=0, observed_agreement=None, expected_agreement=None)
    observed = sum(table[i][i] for i in range(size)) / n
    rows = [sum(row) / n for row in table]
    columns = [sum(table[i][j] for i in range(size)) / n for j in range(size)]
    expected = sum(r * c for r, c in zip(rows, columns, strict=True))
    if math.isclose(expected, 1.0):
        return Kappa(value=None, low=None, high=None, n=n, observed_agreement=observed, expected_agreement=expected)

    # Lazy: statsmodels takes over half a second to import (see the module docstring).
    import numpy as np
    from statsmodels.stats.inter_rater import cohens_kappa

    # Perfect agreement gives a variance of 0, which rounding can leave a hair below it: the
    # square root would then be nan with a warning, so compute it here from the clamped variance.
    with np.errstate(invalid="ignore"):
        result = cohens_kappa(np.asarray(table, dtype=float))
    value = float(result["kappa"])
    se = math.sqrt(max(float(result["var_kappa"]), 0.0))
    return Kappa(
        value=value,
        low=max(-1.0, value - Z95 * se),
        high=min(1.0, value + Z95 * se),
        n=n,
        observed_agreement=observed,
        expected_agreement=expected,
    )
