"""Intervals against reference values, stratified weighting, funnel limits at small n."""

import math

import numpy as np
import pytest

from xianfeng.inspections import stats


@pytest.mark.parametrize(("x", "n", "low", "high"), [
    (199, 200, 0.9722, 0.9991),  # the report's awareness: 97.2–99.9 %
    (198, 200, 0.9643, 0.9972),  # the report's satisfaction: 96.4–99.7 %
    (0, 10, 0.0, 0.2775),  # Wilson at x = 0: upper z²/(n+z²)
    (10, 10, 0.7225, 1.0),  # and at x = n
    (81, 263, 0.2553, 0.3662),  # Agresti & Coull's textbook case
])
def test_wilson_matches_reference_values(x, n, low, high):
    lo, hi = stats.wilson(x, n)
    assert lo == pytest.approx(low, abs=5e-4) and hi == pytest.approx(high, abs=5e-4)


@pytest.mark.parametrize(("x", "n", "low", "high"), [
    (199, 200, 0.97245, 0.99987),
    (0, 10, 0.0, 1 - 0.025 ** (1 / 10)),  # closed forms at the ends
    (10, 10, 0.025 ** (1 / 10), 1.0),
    (5, 10, 0.18709, 0.81291),
])
def test_clopper_pearson_matches_reference_values(x, n, low, high):
    lo, hi = stats.clopper_pearson(x, n)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_intervals_stay_within_0_and_1_where_wald_does_not():
    p = 199 / 200
    wald_high = p + 1.96 * math.sqrt(p * (1 - p) / 200)
    assert wald_high > 1  # why Wald is never used
    for method in stats.METHODS:
        for x in (0, 1, 199, 200):
            lo, hi = stats.interval(x, 200, method)
            assert 0 <= lo <= x / 200 <= hi <= 1


def test_unknown_method_and_impossible_counts_are_refused():
    with pytest.raises(ValueError):
        stats.interval(1, 2, "wald")
    with pytest.raises(ValueError):
        stats.wilson(3, 2)


def test_sample_size_for_one_point_at_99_percent_is_381():
    assert stats.n_for_half_width(0.99, 0.01) == 381


def test_newcombe_difference_matches_newcombes_example():
    # Newcombe (1998), example (a): 56/70 − 48/80 = 0.2000, 95 % CI 0.0524 to 0.3339.
    d, low, high = stats.newcombe_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert low == pytest.approx(0.0524, abs=5e-4) and high == pytest.approx(0.3339, abs=5e-4)


def test_stratified_estimate_weights_strata_by_population_not_by_sample():
    # Members were oversampled: 100 members (90 % aware), 20 residents (50 %); residents are 90 % of the people.
    result = stats.stratified({"member": (90, 100), "resident": (10, 20)}, {"member": 1000, "resident": 9000})
    assert result.estimate == pytest.approx(0.1 * 0.9 + 0.9 * 0.5)  # 0.54, not the raw 100/120 = 0.83
    var = 0.1 ** 2 * 0.9 * 0.1 / 100 + 0.9 ** 2 * 0.5 * 0.5 / 20
    assert result.effective_n == pytest.approx(0.54 * 0.46 / var)
    assert result.ci_low < 0.54 < result.ci_high
    assert [s["stratum"] for s in result.strata] == ["member", "resident"]
    assert result.strata[1]["weight"] == pytest.approx(0.9)


def test_stratified_estimate_with_every_stratum_at_100_percent_keeps_an_interval():
    result = stats.stratified({"a": (50, 50), "b": (30, 30)}, {"a": 1, "b": 1})
    assert result.estimate == 1.0 and result.effective_n == 80 and result.ci_low < 1.0


def test_stratified_estimate_refuses_a_weighted_stratum_without_answers():
    with pytest.raises(ValueError, match="b"):
        stats.stratified({"a": (5, 10)}, {"a": 1, "b": 1})


def test_exact_funnel_limit_at_small_n_near_the_ceiling():
    lower, upper = stats.funnel_limits(13, 0.995, 0.998)
    assert lower[0] == pytest.approx(11 / 13)  # 0.846; the normal approximation would say 0.935
    assert upper[0] == 1.0
    lower95, _ = stats.funnel_limits([1, 2, 5], 0.9, 0.95)
    assert list(lower95) == pytest.approx([0.0, 0.5, 0.6])


def test_funnel_limits_narrow_as_n_grows_and_are_vectorised():
    ns = np.array([5, 50, 500, 5000])
    lower, upper = stats.funnel_limits(ns, 0.8, 0.998)
    assert list(lower) == sorted(lower) and list(upper) == sorted(upper, reverse=True)
    for n, lo in zip(ns, lower, strict=True):
        assert lo == pytest.approx(stats.funnel_limits(int(n), 0.8, 0.998)[0][0])


def test_funnel_flags_only_organisations_below_the_lower_limit_ordered_by_id_not_rank():
    rates = {1: (95, 100), 2: (60, 100), 3: (9, 10), 4: (0, 6), 6: (1, 4), 5: (0, 0)}
    f = stats.funnel(rates)
    assert f.n == 220 and f.x == 165  # n = 4 with 1/4 is still inside: its limit is 0
    below = [p.org_id for p in f.below("998")]
    assert below == [2, 4]
    assert 5 not in [p.org_id for p in f.points]


def test_percent_format_follows_the_report():
    assert stats.format_percent(0.995) == "99.5%" and stats.format_percent(0.99) == "99%"


def test_own_binomial_quantile_agrees_with_scipy_stats():
    from scipy.stats import binom

    ns = np.concatenate([np.arange(1, 400), np.array([1000, 5000, 20000, 123457])]).astype(float)
    for p in (0.01, 0.5, 0.9, 0.995, 0.9999):
        for q in (0.001, 0.025, 0.975, 0.999):
            assert np.array_equal(stats.binom_ppf(q, ns, p), binom.ppf(q, ns, p)), (p, q)
