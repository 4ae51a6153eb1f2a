"""The statistics of instrument performance against values worked by hand on small fixed tables.

Every expected figure below is written out with its arithmetic, or computed in this file from the
textbook formula, never by calling the library the module under test calls. Pure: no database.
"""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.evaluation.stats import Estimate, RocPoint, accuracy, cutoff_tables, kappa, proportion, roc

Z = 1.959963984540054  # the two-sided 95% normal quantile


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval from its formula: (k + z²/2 ± z √(k(n-k)/n + z²/4)) / (n + z²)."""
    centre = (k + Z**2 / 2) / (n + Z**2)
    half = Z * math.sqrt(k * (n - k) / n + Z**2 / 4) / (n + Z**2)
    return centre - half, centre + half


def close(estimate: Estimate, value: float, low: float, high: float) -> bool:
    """Whether an estimate has this value and interval to 4 decimals."""
    assert estimate.value is not None and estimate.low is not None and estimate.high is not None
    return all(abs(a - b) < 5e-5 for a, b in ((estimate.value, value), (estimate.low, low), (estimate.high, high)))


# --- proportions -------------------------------------------------------------------------------


def test_wilson_interval_of_8_out_of_10() -> None:
    # z² = 3.841459; centre = (8 + 1.920730) / 13.841459 = 0.716740;
    # half = 1.959964 × √(8·2/10 + 0.960365) / 13.841459 = 1.959964 × 1.600114 / 13.841459 = 0.226578
    # → (0.4902, 0.9433)
    estimate = proportion(8, 10)
    assert close(estimate, 0.8, 0.4902, 0.9433)
    assert (estimate.numerator, estimate.denominator) == (8, 10)


def test_wilson_interval_at_none_and_all() -> None:
    # 0/20: centre = half = 1.920730 / 23.841459 = 0.080563 → (0, 0.1611); 20/20 is its mirror image.
    assert close(proportion(0, 20), 0.0, 0.0, 0.1611)
    assert close(proportion(20, 20), 1.0, 0.8389, 1.0)


def test_exact_interval_at_none_and_all() -> None:
    # Clopper–Pearson at k = 0 has the closed form high = 1 - 0.025^(1/n):
    # 0.025^(1/20) = exp(ln 0.025 / 20) = exp(-0.184444) = 0.831566 → high 0.1684; 20/20 mirrors it.
    assert close(proportion(0, 20, method="exact"), 0.0, 0.0, 0.1684)
    assert close(proportion(20, 20, method="exact"), 1.0, 0.8316, 1.0)


def test_nothing_to_count_gives_no_figure_rather_than_zero() -> None:
    assert proportion(0, 0) == Estimate(value=None, low=None, high=None, numerator=0, denominator=0)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (3, -1), (6, 5)])
def test_impossible_counts_are_refused_naming_them(k: int, n: int) -> None:
    with pytest.raises(ValueError, match=f"k={k}, n={n}"):
        proportion(k, n)


def test_an_unknown_interval_method_is_refused() -> None:
    with pytest.raises(ValueError, match="wald"):
        proportion(1, 2, method="wald")  # type: ignore[arg-type]


# --- a 2×2 table and the cut-off tables ---------------------------------------------------------


def test_two_by_two_table() -> None:
    # tp 45, fn 5, fp 30, tn 120:
    #   sensitivity 45/50 = 0.9    Wilson (0.7864, 0.9565)
    #   specificity 120/150 = 0.8  Wilson (0.7289, 0.8562)
    #   PPV 45/75 = 0.6            Wilson (0.4869, 0.7034)
    #   NPV 120/125 = 0.96         Wilson (0.9098, 0.9828)
    table = accuracy("possible_concern", tp=45, fp=30, fn=5, tn=120)
    assert (table.cutoff, table.tp, table.fp, table.fn, table.tn) == ("possible_concern", 45, 30, 5, 120)
    for estimate, (k, n), written_out in (
        (table.sensitivity, (45, 50), (0.7864, 0.9565)),
        (table.specificity, (120, 150), (0.7289, 0.8562)),
        (table.ppv, (45, 75), (0.4869, 0.7034)),
        (table.npv, (120, 125), (0.9098, 0.9828)),
    ):
        assert (estimate.numerator, estimate.denominator) == (k, n)
        assert close(estimate, k / n, *wilson(k, n))
        assert close(estimate, k / n, *written_out)


def test_a_negative_cell_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="'fn': -1"):
        accuracy("clear_concern", tp=1, fp=1, fn=-1, tn=1)


ORDER = ("clear_concern", "possible_concern", "no_concern")


def test_each_level_but_the_last_is_a_cut_off_with_its_own_two_by_two() -> None:
    # (with the condition, without):  clear 30, 10 · possible 15, 20 · none 5, 120 · insufficient 3, 3
    # Insufficient information is outside the order: not counted, so 50 with and 150 without in all.
    #   cut-off clear:    positive = clear            → tp 30, fp 10, fn 15+5 = 20, tn 20+120 = 140
    #   cut-off possible: positive = clear + possible → tp 45, fp 30, fn 5,         tn 120
    counts = {"clear_concern": (30, 10), "possible_concern": (15, 20), "no_concern": (5, 120), "insufficient": (3, 3)}
    clear, possible = cutoff_tables(counts, ORDER)
    assert (clear.cutoff, clear.tp, clear.fp, clear.fn, clear.tn) == ("clear_concern", 30, 10, 20, 140)
    assert (possible.cutoff, possible.tp, possible.fp, possible.fn, possible.tn) == ("possible_concern", 45, 30, 5, 120)
    assert close(clear.sensitivity, 0.6, *wilson(30, 50))
    assert close(possible.specificity, 0.8, 0.7289, 0.8562)


def test_a_level_nobody_reached_counts_zero_and_a_one_level_order_has_no_cut_off() -> None:
    # possible concern is missing: the possible cut-off has the same counts as the clear one.
    clear, possible = cutoff_tables({"clear_concern": (4, 1), "no_concern": (1, 9)}, ORDER)
    assert (clear.tp, clear.fp, clear.fn, clear.tn) == (4, 1, 1, 9)
    assert (possible.tp, possible.fp, possible.fn, possible.tn) == (4, 1, 1, 9)
    assert cutoff_tables({"no_concern": (1, 9)}, ("no_concern",)) == []


def test_cut_off_tables_refuse_a_repeated_level_or_negative_counts() -> None:
    with pytest.raises(ValueError, match="repeats"):
        cutoff_tables({}, ("clear_concern", "clear_concern", "no_concern"))
    with pytest.raises(ValueError, match="'no_concern': \\(-2, 1\\)"):
        cutoff_tables({"no_concern": (-2, 1)}, ORDER)


# --- ROC ----------------------------------------------------------------------------------------


def trapezoid(points: tuple[RocPoint, ...]) -> float:
    """The area under the points by the trapezoid rule."""
    return sum(
        (b.false_positive_rate - a.false_positive_rate) * (a.sensitivity + b.sensitivity) / 2
        for a, b in pairwise(points)
    )


def test_roc_on_a_tiny_set_with_ties() -> None:
    # With the condition [3, 2, 2, 1], without [0, 1, 1, 2] (4 and 4).
    # Points, positive when score >= t:
    #   t = +inf: tp 0 fp 0 → (0, 0)
    #   t = 3:    tp 1 fp 0 → sensitivity 0.25, false-positive rate 0
    #   t = 2:    tp 3 fp 1 → 0.75, 0.25
    #   t = 1:    tp 4 fp 3 → 1, 0.75
    #   t = 0:    tp 4 fp 4 → 1, 1
    # Mann–Whitney, pair by pair (ties ½): 3 beats all 4 → 4; each 2 beats 0, 1, 1 and ties 2 → 3.5, twice → 7;
    # 1 beats 0 and ties 1, 1 → 2. U = 13, AUC = 13/16 = 0.8125.
    # Trapezoids: 0 + 0.25 × (0.25 + 0.75)/2 + 0.5 × (0.75 + 1)/2 + 0.25 × 1 = 0.125 + 0.4375 + 0.25 = 0.8125.
    curve = roc([3, 2, 2, 1], [0, 1, 1, 2])
    assert curve is not None
    assert [(p.threshold, p.tp, p.fp, p.fn, p.tn) for p in curve.points] == [
        (math.inf, 0, 0, 4, 4),
        (3, 1, 0, 3, 4),
        (2, 3, 1, 1, 3),
        (1, 4, 3, 0, 1),
        (0, 4, 4, 0, 0),
    ]
    assert [(p.false_positive_rate, p.sensitivity) for p in curve.points] == [
        (0, 0),
        (0, 0.25),
        (0.25, 0.75),
        (0.75, 1),
        (1, 1),
    ]
    assert (curve.positives, curve.negatives) == (4, 4)
    assert curve.auc == pytest.approx(0.8125)
    assert trapezoid(curve.points) == pytest.approx(0.8125)
    # Hanley & McNeil: A = 0.8125, A² = 0.66015625, Q1 = A/(2-A) = 0.684211, Q2 = 2A²/(1+A) = 0.728448;
    # SE² = (0.152344 + 3 × 0.024054 + 3 × 0.068292) / 16 = 0.429383 / 16 = 0.026836, SE = 0.163818;
    # 0.8125 ± 1.959964 × 0.163818 = 0.8125 ± 0.321078 → (0.4914, 1.1336), the high end clipped to 1.
    assert curve.low == pytest.approx(0.4914, abs=5e-5)
    assert curve.high == 1.0


def test_hanley_mcneil_interval_with_groups_of_different_sizes() -> None:
    # With the condition [3, 3, 2, 2, 2, 1, 1, 0] (n1 = 8), without [3, 2, 1, 1, 1, 0, 0, 0, 0, 0] (n0 = 10).
    # U: each 3 beats 9 and ties 1 → 9.5, × 2 = 19; each 2 beats 8 and ties 1 → 8.5, × 3 = 25.5;
    #    each 1 beats 5 and ties 3 → 6.5, × 2 = 13; the 0 ties 5 → 2.5.  U = 60, AUC = 60/80 = 0.75.
    # Q1 = 0.75/1.25 = 0.6, Q2 = 2 × 0.5625/1.75 = 0.642857;
    # SE² = (0.75 × 0.25 + (8 - 1)(0.6 - 0.5625) + (10 - 1)(0.642857 - 0.5625)) / 80
    #     = (0.1875 + 0.2625 + 0.723214) / 80 = 0.014665, SE = 0.121100;
    # 0.75 ± 1.959964 × 0.121100 = 0.75 ± 0.237351 → (0.5126, 0.9874).
    # (Swapping n1 and n0 in the formula would give SE 0.116592, a narrower interval.)
    curve = roc([3, 3, 2, 2, 2, 1, 1, 0], [3, 2, 1, 1, 1, 0, 0, 0, 0, 0])
    assert curve is not None
    assert (curve.positives, curve.negatives) == (8, 10)
    assert curve.auc == pytest.approx(0.75)
    assert curve.low == pytest.approx(0.5126, abs=5e-5)
    assert curve.high == pytest.approx(0.9874, abs=5e-5)


def test_roc_needs_both_groups_and_finite_scores() -> None:
    assert roc([], [1, 2]) is None
    assert roc([1, 2], []) is None
    with pytest.raises(ValueError, match="nan"):
        roc([1, math.nan], [0])


def test_a_score_that_separates_perfectly_has_auc_one_and_no_spread() -> None:
    curve = roc([5, 6], [1, 2, 3])
    assert curve is not None
    assert (curve.auc, curve.low, curve.high) == (1.0, 1.0, 1.0)


scores = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=25)


@given(with_condition=scores, without=scores)
def test_auc_is_the_trapezoid_area_and_the_share_of_pairs_ranked_right(
    with_condition: list[int], without: list[int]
) -> None:
    curve = roc(with_condition, without)
    assert curve is not None
    pairs = sum((x > y) + (x == y) / 2 for x in with_condition for y in without)
    assert curve.auc == pytest.approx(pairs / (len(with_condition) * len(without)), abs=1e-12)
    assert curve.auc == pytest.approx(trapezoid(curve.points), abs=1e-12)
    assert 0.0 <= curve.low <= curve.auc <= curve.high <= 1.0
    first, last = curve.points[0], curve.points[-1]
    assert (first.false_positive_rate, first.sensitivity, last.false_positive_rate, last.sensitivity) == (0, 0, 1, 1)
    assert all(
        a.false_positive_rate <= b.false_positive_rate and a.sensitivity <= b.sensitivity
        for a, b in pairwise(curve.points)
    )


# --- kappa --------------------------------------------------------------------------------------


def fleiss_cohen_everitt_se(table: list[list[int]]) -> float:
    """The asymptotic standard error of kappa (Fleiss, Cohen & Everitt 1969), written out from the formula.

    SE² = [Σ p_ii (1 - (p_i. + p_.i)(1 - κ))² + (1 - κ)² Σ_{i≠j} p_ij (p_.i + p_j.)² - (κ - p_e (1 - κ))²]
          / (n (1 - p_e)²)
    """
    n = sum(map(sum, table))
    p = [[count / n for count in row] for row in table]
    size = len(table)
    rows = [sum(row) for row in p]
    cols = [sum(p[i][j] for i in range(size)) for j in range(size)]
    p_o = sum(p[i][i] for i in range(size))
    p_e = sum(r * c for r, c in zip(rows, cols, strict=True))
    k = (p_o - p_e) / (1 - p_e)
    a = sum(p[i][i] * (1 - (rows[i] + cols[i]) * (1 - k)) ** 2 for i in range(size))
    b = (1 - k) ** 2 * sum(p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(size) for j in range(size) if i != j)
    c = (k - p_e * (1 - k)) ** 2
    return math.sqrt((a + b - c) / (n * (1 - p_e) ** 2))


def test_kappa_on_the_published_two_by_two_example() -> None:
    # Rows A yes/no, columns B yes/no: 20 5 / 10 15 (n = 50; Wikipedia's worked example).
    # p_o = 35/50 = 0.7; A says yes 25/50 = 0.5, B says yes 30/50 = 0.6;
    # p_e = 0.5 × 0.6 + 0.5 × 0.4 = 0.5; κ = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    # SE: p = .4 .1 / .2 .3, rows .5 .5, columns .6 .4;
    #   Σ p_ii(1 - (p_i. + p_.i)(1 - κ))² = .4 × (1 - 1.1 × .6)² + .3 × (1 - .9 × .6)² = .04624 + .06348 = .10972
    #   (1 - κ)² Σ_{i≠j} p_ij (p_.i + p_j.)² = .36 × (.1 × 1.1² + .2 × .9²) = .36 × .283 = .10188
    #   (κ - p_e(1 - κ))² = (.4 - .3)² = .01
    #   SE² = (.10972 + .10188 - .01) / (50 × .25) = .016128, SE = .126996
    # 95%: 0.4 ± 1.959964 × .126996 = 0.4 ± 0.248908 → (0.1511, 0.6489)
    result = kappa([[20, 5], [10, 15]])
    assert result.n == 50
    assert result.observed_agreement == pytest.approx(0.7)
    assert result.expected_agreement == pytest.approx(0.5)
    assert result.value == pytest.approx(0.4)
    assert result.low == pytest.approx(0.1511, abs=5e-5)
    assert result.high == pytest.approx(0.6489, abs=5e-5)


def test_kappa_on_a_three_by_three_table() -> None:
    # Rows A, columns B, levels clear/possible/none:
    #   10  2  0   | 12
    #    3  8  2   | 13
    #    1  2 12   | 15
    #   14 12 14   n = 40
    # p_o = (10 + 8 + 12)/40 = 0.75; p_e = (12×14 + 13×12 + 15×14)/1600 = 534/1600 = 0.33375;
    # κ = (0.75 - 0.33375) / (1 - 0.33375) = 0.41625 / 0.66625 = 0.624765
    table = [[10, 2, 0], [3, 8, 2], [1, 2, 12]]
    result = kappa(table)
    assert result.n == 40
    assert result.observed_agreement == pytest.approx(0.75)
    assert result.expected_agreement == pytest.approx(0.33375)
    assert result.value == pytest.approx(0.624765, abs=1e-6)
    se = fleiss_cohen_everitt_se(table)  # 0.101928
    assert se == pytest.approx(0.101928, abs=1e-6)
    assert result.low == pytest.approx(0.624765 - Z * se, abs=1e-6)  # 0.4250
    assert result.high == pytest.approx(0.624765 + Z * se, abs=1e-6)  # 0.8245


def test_kappa_with_nobody_or_where_it_is_undefined() -> None:
    empty = kappa([[0, 0], [0, 0]])
    assert (empty.value, empty.low, empty.high, empty.n, empty.observed_agreement, empty.expected_agreement) == (
        None,
        None,
        None,
        0,
        None,
        None,
    )
    # Everyone in one category on both instruments: p_e = 1, κ = 0/0; the agreement is still reported.
    undefined = kappa([[7, 0], [0, 0]])
    assert (undefined.value, undefined.low, undefined.high) == (None, None, None)
    assert (undefined.n, undefined.observed_agreement, undefined.expected_agreement) == (7, 1.0, 1.0)


def test_perfect_agreement_and_perfect_disagreement() -> None:
    agree, disagree = kappa([[5, 0], [0, 5]]), kappa([[0, 5], [5, 0]])
    assert (agree.value, agree.low, agree.high) == pytest.approx((1.0, 1.0, 1.0))
    assert (disagree.value, disagree.low, disagree.high) == pytest.approx((-1.0, -1.0, -1.0))


def test_kappa_refuses_a_table_that_is_not_square() -> None:
    with pytest.raises(ValueError, match="square"):
        kappa([[1, 2, 3], [4, 5, 6]])
