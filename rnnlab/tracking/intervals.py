"""Means over seeds with Student-t 95% confidence intervals, and the interval of a difference.

With the handful of seeds a sweep affords (n = 3-10), Student's t is the honest choice: a
bootstrap interval of five values is too narrow. Metrics that span orders of magnitude
(a mean squared error) are summarised on a log scale: the mean is then geometric and the
interval is back-transformed, so it never reaches below zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """``mean`` with a ``LEVEL`` confidence interval ``[low, high]`` over ``n`` values.

    ``low`` and ``high`` are NaN when ``n < 2``: one run has no spread to show.
    """

    mean: float
    low: float
    high: float
    n: int

    def separated_from(self, other: Interval) -> bool:
        """Whether the two intervals do not overlap (False if either has no interval)."""
        return self.high < other.low or other.high < self.low

    def excludes(self, value: float) -> bool:
        """Whether ``value`` lies outside the interval (False if there is none)."""
        return value < self.low or value > self.high

    def format(self, spec: str = "#.3g") -> str:
        """``2.27 [2.25, 2.29]``, or ``2.27`` alone for a single value."""
        if math.isnan(self.low):
            return f"{self.mean:{spec}}"
        return f"{self.mean:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


def _t_quantile(df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + LEVEL / 2, df))


def mean_interval(values: Sequence[float], log_scale: bool = False) -> Interval:
    """The mean of ``values`` and its Student-t interval (geometric, if ``log_scale``)."""
    x = np.asarray(values, dtype=float)
    if log_scale:
        x = np.log10(x)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    low = high = math.nan
    if n >= 2:
        half = _t_quantile(n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
        low, high = mean - half, mean + half
    if log_scale:
        return Interval(10**mean, 10**low, 10**high, n)
    return Interval(mean, low, high, n)


def difference_interval(
    a: Sequence[float], b: Sequence[float], log_scale: bool = False
) -> Interval:
    """Mean of ``a`` minus mean of ``b`` with Welch's t interval (unequal variances).

    With ``log_scale`` the difference is of log10 values: ``-1`` means ``a`` is ten times
    smaller than ``b``.
    """
    xa, xb = (np.asarray(v, dtype=float) for v in (a, b))
    if log_scale:
        xa, xb = np.log10(xa), np.log10(xb)
    na, nb = len(xa), len(xb)
    diff = float(xa.mean() - xb.mean())
    if na < 2 or nb < 2:
        return Interval(diff, math.nan, math.nan, min(na, nb))
    va, vb = float(xa.var(ddof=1)) / na, float(xb.var(ddof=1)) / nb
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(diff, diff, diff, min(na, nb))
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = _t_quantile(df) * se
    return Interval(diff, diff - half, diff + half, min(na, nb))
