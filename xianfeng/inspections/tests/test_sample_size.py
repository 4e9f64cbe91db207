"""The sample sizes the rates page and the report print, against statsmodels' power functions."""

import pytest

statsmodels_power = pytest.importorskip("statsmodels.stats.power")
from statsmodels.stats.proportion import (  # noqa: E402
    power_proportions_2indep,
    proportion_effectsize,
    samplesize_proportions_2indep_onetail,
)

from xianfeng.inspections import analysis, stats  # noqa: E402

PAIRS = [(0.995, 0.99), (0.93, 0.995), (0.6, 0.5), (0.2, 0.25), (0.999, 0.98)]


@pytest.mark.parametrize(("p1", "p2"), PAIRS)
def test_two_proportion_n_is_statsmodels_normal_pooled_formula(p1, p2):
    expected = samplesize_proportions_2indep_onetail(p1 - p2, p2, 0.8, alpha=0.05, alternative="two-sided")
    n = stats.n_two_proportions(p1, p2)
    assert n == pytest.approx(expected, abs=1)
    assert power_proportions_2indep(p1 - p2, p2, n, alpha=0.05, alternative="two-sided").power >= 0.8
    assert power_proportions_2indep(p1 - p2, p2, n - 2, alpha=0.05, alternative="two-sided").power < 0.8


def test_the_report_pair_needs_about_4673_per_group_and_not_the_arcsine_value():
    n = stats.n_two_proportions(0.995, 0.99)
    assert n == 4673
    arcsine = statsmodels_power.NormalIndPower().solve_power(
        effect_size=proportion_effectsize(0.995, 0.99), alpha=0.05, power=0.8, alternative="two-sided")
    assert round(arcsine) == 4541  # a different formula: the sentence names the one it uses


def test_difference_interval_leaves_zero_at_the_computed_n_and_not_before():
    n = stats.n_difference_excludes_zero(0.995, 0.99)
    assert n == 2358
    assert stats.newcombe_difference(0.995 * n, n, 0.99 * n, n)[1] > 0
    assert stats.newcombe_difference(0.995 * (n - 1), n - 1, 0.99 * (n - 1), n - 1)[1] <= 0
    # the old sentence's 1,144 (the half-width formula) still leaves 0 inside the interval
    assert stats.newcombe_difference(0.995 * 1144, 1144, 0.99 * 1144, 1144)[1] < 0


def test_equal_rates_need_no_sample_size():
    assert stats.n_two_proportions(0.9, 0.9) is None
    assert stats.n_difference_excludes_zero(0.9, 0.9) is None
    assert analysis.sample_size_text(0.9, 0.9) == ""


def test_sentence_prints_both_values_and_says_which_is_which():
    text = analysis.sample_size_text(0.995, 0.99)
    assert "每项约需2,358份，差值的95%区间（Newcombe）才不含0" in text
    assert "80%的把握" in text and "两样本比例检验" in text and "每项约需4,673份" in text
    assert "1,144" not in text
