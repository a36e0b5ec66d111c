"""Central finite differences and the relative error the conformance kit relies on."""

import numpy as np
import pytest

from rnnlab.nn.gradcheck import max_gradient_error, numerical_gradient, relative_error


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    grad = numerical_gradient(lambda: float(np.sum(np.sin(x) * x)), x)
    np.testing.assert_allclose(grad, np.cos(x) * x + np.sin(x), rtol=0, atol=1e-9)


def test_numerical_gradient_leaves_the_array_bit_for_bit_unchanged():
    x = np.random.default_rng(0).standard_normal(10)
    before = x.copy()
    numerical_gradient(lambda: float(np.sum(x**3)), x, eps=1e-3)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_refuses_float32():
    x = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="float64"):
        numerical_gradient(lambda: float(x.sum()), x)


def test_relative_error_is_scaled_by_the_largest_magnitude_not_per_element():
    analytic = np.array([10.0, 1e-12])
    numeric = np.array([10.0, 2e-12])  # the tiny element is off by 100%, which is noise here
    assert relative_error(analytic, numeric) == pytest.approx(1e-13)
    assert relative_error(np.array([1.0, -1.0]), np.array([1.0, 1.0])) == 2.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_max_gradient_error_is_the_worst_array():
    a, b = np.array([1.0, 2.0]), np.array([3.0])
    f = lambda: float(np.sum(a**2) + 3 * b[0])  # noqa: E731
    assert max_gradient_error(f, {"a": a, "b": b}, {"a": 2 * a, "b": np.array([3.0])}) < 1e-8
    assert max_gradient_error(f, {"a": a, "b": b}, {"a": 2 * a, "b": np.array([3.3])}) > 0.05
