"""Gradient checking by central finite differences, in float64.

The function under test takes no arguments and reads the arrays being checked;
each element is perturbed in place, ``f`` is re-evaluated, and the element is
restored exactly, so ``f`` can be e.g. ``lambda: loss(cell.forward(xs, s0))``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d x by central differences ``(f(x + eps) - f(x - eps)) / 2 eps``, element by element.

    ``x`` must be a float64 array that ``f`` reads; it is modified in place during
    the call and left bit-for-bit unchanged afterwards.
    """
    if x.dtype != np.float64:
        raise ValueError(f"finite differences need float64 arrays, got {x.dtype}")
    grad = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        x[idx] = original + eps
        f_plus = f()
        x[idx] = original - eps
        f_minus = f()
        x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Largest elementwise difference, relative to the largest magnitude in either array.

    Scaling by the array's own magnitude (not each element's) keeps elements
    whose true gradient is near zero from turning finite-difference noise into
    a huge "relative" error. Two all-zero arrays have error 0.
    """
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"shape mismatch: {analytic.shape} vs {numeric.shape}")
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    if scale == 0.0:
        return 0.0
    return float(np.abs(analytic - numeric).max() / scale)


def gradient_errors(
    f: Callable[[], float],
    arrays: Mapping[str, np.ndarray],
    analytic: Mapping[str, np.ndarray],
    eps: float = 1e-6,
) -> dict[str, float]:
    """``relative_error`` of ``analytic[name]`` against finite differences, for each named array."""
    return {
        name: relative_error(analytic[name], numerical_gradient(f, x, eps))
        for name, x in arrays.items()
    }


def max_gradient_error(
    f: Callable[[], float],
    arrays: Mapping[str, np.ndarray],
    analytic: Mapping[str, np.ndarray],
    eps: float = 1e-6,
) -> float:
    """The worst ``relative_error`` over all named arrays (0.0 if there are none)."""
    return max(gradient_errors(f, arrays, analytic, eps).values(), default=0.0)
