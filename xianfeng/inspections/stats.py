"""Honest figures: proportions with intervals that behave near 0 % and 100 %, stratified estimates, funnel limits.

Pure functions, no database. Never a Wald interval: at 199/200 it runs past 100 %.

    wilson(199, 200)           → (0.9724, 0.9991)   the default
    clopper_pearson(199, 200)  → (0.9725, 0.99987)  exact, on request
    funnel_limits(13, 0.995, 0.998) → (0.846…, 1.0) exact binomial quantiles / n
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special  # scipy.special only: scipy.stats takes seconds to import

Z95 = float(special.ndtri(0.975))  # 1.959963…
METHODS = ("wilson", "clopper_pearson")


def wilson(x: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for x successes in n trials (x may be fractional for weighted scores)."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= x <= n:
        raise ValueError(f"x={x} is not within 0..n={n}")
    z = float(special.ndtri(0.5 + level / 2))
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    if x == 0:
        low = 0.0
    if x == n:
        high = 1.0
    return (low, high)


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval from beta quantiles; 0 and 1 at the ends."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= x <= n:
        raise ValueError(f"x={x} is not within 0..n={n}")
    alpha = 1 - level
    low = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, alpha / 2))
    high = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - alpha / 2))
    return (low, high)


def interval(x: float, n: float, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    if method == "wilson":
        return wilson(x, n, level)
    if method == "clopper_pearson":
        if x != int(x):  # a weighted score has no exact binomial interval
            return wilson(x, n, level)
        return clopper_pearson(int(x), int(n), level)
    raise ValueError(f"unknown interval method {method!r}; use one of {', '.join(METHODS)}")


def n_for_half_width(p: float, half_width: float, z: float = Z95) -> int:
    """The sample size whose interval at p has the given half-width: n ≈ z² p(1−p) / d² (±1 point at 99 % → 381)."""
    if half_width <= 0:
        raise ValueError("half_width must be positive")
    p = min(max(p, 0.0), 1.0)
    return math.ceil(z * z * max(p * (1 - p), 1e-6) / (half_width * half_width))


def n_two_proportions(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Sample size per group for the two-sided two-proportion z test to detect p1 vs p2 (level `alpha`, `power`):
    n = (z₁₋α/₂·√(2p̄q̄) + z_power·√(p1q1 + p2q2))² / (p1 − p2)², the normal approximation with the pooled variance
    under the null and no continuity correction — statsmodels' samplesize_proportions_2indep_onetail. (The arcsine
    version, NormalIndPower with proportion_effectsize, gives a smaller n near 100 %: 4,541 instead of 4,673 for
    99.5 % vs 99 %.) None when p1 = p2."""
    if p1 == p2:
        return None
    za, zb = float(special.ndtri(1 - alpha / 2)), float(special.ndtri(power))
    pbar = (p1 + p2) / 2
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / ((p1 - p2) ** 2))


def n_difference_excludes_zero(p1: float, p2: float, level: float = 0.95, limit: int = 10**8) -> int | None:
    """The smallest n per group at which Newcombe's interval of p1 − p2, with both samples at exactly these rates,
    no longer contains 0 (None if p1 = p2 or beyond `limit`). The interval narrows as n grows, so a bisection."""
    if p1 == p2:
        return None

    def excludes(n: int) -> bool:
        _d, low, high = newcombe_difference(p1 * n, n, p2 * n, n, level)
        return low > 0 or high < 0

    if not excludes(limit):
        return None
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if excludes(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def newcombe_difference(x1: float, n1: float, x2: float, n2: float, level: float = 0.95) -> tuple[float, float, float]:
    """p1 − p2 with Newcombe's hybrid score interval (method 10): built from the two Wilson intervals, so it stays
    inside [−1, 1] and behaves near the ceiling. Treats the samples as independent: for two questions asked of the
    same people, whose answers go together, the interval is conservative (wider than it needs to be)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, level)
    l2, u2 = wilson(x2, n2, level)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (d, max(-1.0, low), min(1.0, high))


@dataclass
class Estimate:
    """A proportion as it must be shown: the estimate with x, n and its interval."""

    x: float
    n: float
    estimate: float
    ci_low: float
    ci_high: float
    method: str

    @property
    def percent(self) -> str:
        return format_percent(self.estimate)


def estimate(x: float, n: float, method: str = "wilson", level: float = 0.95) -> Estimate:
    low, high = interval(x, n, method, level)
    return Estimate(x=x, n=n, estimate=(x / n) if n else 0.0, ci_low=low, ci_high=high, method=method)


@dataclass
class Stratified:
    """A stratified estimate: Σ W_h p_h with population weights W_h, and the per-stratum figures behind it."""

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    effective_n: float
    strata: list[dict] = field(default_factory=list)
    method: str = "wilson (stratified, effective n)"


def stratified(counts: Mapping[str, tuple[float, float]], population: Mapping[str, float],
               level: float = 0.95) -> Stratified:
    """Combine per-stratum (x_h, n_h) with population sizes N_h (or shares): p = Σ W_h p_h, W_h = N_h / ΣN.

    The interval is Wilson's at the effective sample size n_eff = p(1−p) / Var(p), Var(p) = Σ W_h² p_h(1−p_h)/n_h
    (Korn & Graubard's approach): it keeps the score interval's good behaviour near 0 and 1. When every stratum
    is at 0 % or 100 % the variance is 0 and n_eff is taken as Σ n_h. Strata without population weight are left
    out; a stratum with weight but no responses is an error (its rate is unknown, so p cannot be computed).
    """
    used = {h: c for h, c in counts.items() if population.get(h, 0) > 0}
    missing = [h for h, w in population.items() if w > 0 and (h not in counts or counts[h][1] <= 0)]
    if missing:
        raise ValueError(f"no responses in stratum {', '.join(sorted(missing))}; its rate is unknown")
    total_w = sum(population[h] for h in used)
    if not used or total_w <= 0:
        raise ValueError("no stratum with both responses and a population weight")
    p = 0.0
    var = 0.0
    rows = []
    for h, (x, n) in sorted(used.items()):
        w = population[h] / total_w
        ph = x / n
        p += w * ph
        var += w * w * ph * (1 - ph) / n
        low, high = wilson(x, n, level)
        rows.append({"stratum": h, "x": x, "n": n, "weight": w, "estimate": ph, "ci_low": low, "ci_high": high})
    n_total = int(sum(n for _, n in used.values()))
    n_eff = p * (1 - p) / var if var > 0 else float(n_total)
    n_eff = max(1.0, n_eff)
    low, high = wilson(p * n_eff, n_eff, level)
    return Stratified(estimate=p, ci_low=low, ci_high=high, n=n_total, effective_n=n_eff, strata=rows)


# ---- funnel plots -------------------------------------------------------------------------------------------------


def funnel_limits(n: int | Sequence[int] | np.ndarray, p0: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial control limits for a funnel plot around the target rate p0: the α/2 and 1 − α/2 quantiles of
    Binomial(n, p0), divided by n. Vectorised over n (100,000 organisations in a few milliseconds).

    A rate x/n lies below the lower limit when x/n < lower (the normal approximation puts the 99.8 % lower limit
    at n = 13, p0 = 0.995 at 0.935; the exact one is 0.846 — near 100 % the difference decides who is flagged).
    """
    arr = np.atleast_1d(np.asarray(n, dtype=float))
    alpha = 1 - level
    p0 = min(max(p0, 0.0), 1.0)
    # organisations share sizes: compute each distinct n once
    sizes, inverse = np.unique(arr, return_inverse=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(sizes > 0, binom_ppf(alpha / 2, sizes, p0) / sizes, 0.0)
        upper = np.where(sizes > 0, binom_ppf(1 - alpha / 2, sizes, p0) / sizes, 1.0)
    return lower[inverse].reshape(arr.shape), upper[inverse].reshape(arr.shape)


def binom_ppf(q: float, n: np.ndarray, p: float) -> np.ndarray:
    """The smallest integer k with P(X ≤ k) ≥ q for X ~ Binomial(n, p), vectorised over n (what
    scipy.stats.binom.ppf gives): a start from the continuous inverse (special.bdtrik), then exact corrections."""
    n = np.asarray(n, dtype=float)
    if p >= 1:
        return n.copy()
    if p <= 0:
        return np.zeros_like(n)
    whole = n.astype(np.int64)
    with np.errstate(invalid="ignore"):
        start = np.ceil(np.nan_to_num(special.bdtrik(q, n, p), nan=0.0))
    k = np.clip(start, 0, n).astype(np.int64)
    for _ in range(3):
        down = (k > 0) & (special.bdtr(np.maximum(k - 1, 0), whole, p) >= q)
        k = np.where(down, k - 1, k)
        up = (k < whole) & (special.bdtr(k, whole, p) < q)
        k = np.where(up, k + 1, k)
    k = k.astype(float)
    return k


@dataclass
class FunnelPoint:
    org_id: int
    x: int
    n: int
    rate: float
    lower95: float
    upper95: float
    lower998: float
    upper998: float

    @property
    def below95(self) -> bool:
        return self.rate < self.lower95

    @property
    def below998(self) -> bool:
        return self.rate < self.lower998

    @property
    def above998(self) -> bool:
        return self.rate > self.upper998


@dataclass
class Funnel:
    target: float
    x: int
    n: int
    points: list[FunnelPoint]

    def below(self, level: str = "998") -> list[FunnelPoint]:
        """Organisations below the lower limit, smallest n first is meaningless: ordered by organisation id, never
        ranked (a funnel plot is not a league table)."""
        attr = "below998" if level == "998" else "below95"
        return sorted((p for p in self.points if getattr(p, attr)), key=lambda p: p.org_id)


def funnel(rates: Mapping[int, tuple[int, int]]) -> Funnel:
    """The funnel for {org id: (x, n)}: the target is the pooled rate Σx/Σn; organisations with n = 0 are left out."""
    items = [(org, int(x), int(n)) for org, (x, n) in rates.items() if n > 0]
    if not items:
        return Funnel(target=0.0, x=0, n=0, points=[])
    ids = np.array([i[0] for i in items])
    xs = np.array([i[1] for i in items], dtype=float)
    ns = np.array([i[2] for i in items], dtype=float)
    total_x, total_n = int(xs.sum()), int(ns.sum())
    p0 = total_x / total_n
    l95, u95 = funnel_limits(ns, p0, 0.95)
    l998, u998 = funnel_limits(ns, p0, 0.998)
    rate = xs / ns
    points = [FunnelPoint(int(o), int(x), int(n), float(r), float(a), float(b), float(c), float(d))
              for o, x, n, r, a, b, c, d in zip(ids, xs, ns, rate, l95, u95, l998, u998, strict=True)]
    return Funnel(target=p0, x=total_x, n=total_n, points=points)


def format_percent(value: float, digits: int = 1) -> str:
    """99.5 % → "99.5%"; a whole number keeps no decimals (the report writes 99%)."""
    text = f"{value * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"
