"""Student-t intervals of a mean and Welch intervals of a difference, against textbook
values (t quantiles from a printed table)."""

from __future__ import annotations

import math

import pytest

from rnnlab.tracking.intervals import difference_interval, mean_interval


def test_the_mean_of_five_values_has_the_t_interval_with_four_degrees_of_freedom():
    i = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.776 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4) = 2.776
    assert (i.mean, i.n) == (3.0, 5)
    assert i.low == pytest.approx(3 - half, abs=1e-3)
    assert i.high == pytest.approx(3 + half, abs=1e-3)


def test_one_value_has_no_interval():
    i = mean_interval([2.5])
    assert i.mean == 2.5 and math.isnan(i.low) and math.isnan(i.high)
    assert i.format() == "2.50"
    assert not i.excludes(0.0)


def test_a_log_scale_interval_is_geometric():
    i = mean_interval([1e-4, 1e-2], log_scale=True)
    assert i.mean == pytest.approx(1e-3)
    half = 12.706 * math.sqrt(2) / math.sqrt(2)  # log10 values -4, -2: sd sqrt(2); t(0.975, 1)
    assert math.log10(i.low) == pytest.approx(-3 - half, abs=1e-3)


def test_welch_difference_with_equal_samples_matches_the_pooled_t_interval():
    a, b = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    d = difference_interval(a, b)
    half = 2.776 * math.sqrt(1 / 3 + 1 / 3)  # equal variances and sizes: df = 4
    assert d.mean == -3.0
    assert (d.low, d.high) == pytest.approx((-3 - half, -3 + half), abs=1e-3)
    assert d.excludes(0.0)


def test_intervals_that_do_not_overlap_are_separated():
    a, b = mean_interval([1.0, 1.1, 1.2]), mean_interval([2.0, 2.1, 2.2])
    assert a.separated_from(b) and b.separated_from(a)
    assert not a.separated_from(mean_interval([1.1, 1.2, 1.3]))
