"""What the numba time loops share: how they compile, ``gate_tanh`` and ``gate_sigmoid``
(vectorisable for float32, exact for float64) and a transposed copy.

numba compiles ``math.tanh`` to a scalar libm call, which keeps a loop from
vectorising; the float32 form is Eigen's ``generic_fast_tanh_float`` (a 13/6
rational approximation on [-7.9, 7.9], within a few ulp of tanh), plain
multiply-adds and a division that LLVM turns into SIMD code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

_ALPHA = (
    4.89352455891786e-03,
    6.37261928875436e-04,
    1.48572235717979e-05,
    5.12229709037114e-08,
    -8.60467152213735e-11,
    2.00018790482477e-13,
    -2.76076847742355e-16,
)
_BETA = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)
#: beyond this |x|, tanh(x) rounds to +-1 in float32
_CLAMP = 7.90531110763549805
#: numba's fastmath without "nnan" and "ninf": a NaN or an infinity (a diverged run) must come
#: out as one, for the runner to see it
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def gate_tanh(x: float) -> float:
    """tanh(x); compiled by numba through the overload below."""
    return math.tanh(x)


@overload(gate_tanh, jit_options={"fastmath": FASTMATH, "error_model": "numpy"})
def _gate_tanh(x):  # numba's typing: x is the argument's numba type
    if x == types.float32:
        f = np.float32
        a1, a3, a5, a7, a9, a11, a13 = (f(v) for v in _ALPHA)
        b0, b2, b4, b6 = (f(v) for v in _BETA)
        lo, hi = f(-_CLAMP), f(_CLAMP)

        def rational(x):
            y = lo if x < lo else (hi if x > hi else x)  # a NaN stays NaN
            y2 = y * y
            p = ((((((y2 * a13 + a11) * y2 + a9) * y2 + a7) * y2 + a5) * y2 + a3) * y2 + a1) * y
            q = ((y2 * b6 + b4) * y2 + b2) * y2 + b0
            return p / q

        return rational
    return lambda x: math.tanh(x)


# float32 constants keep float32 arithmetic float32 (and float64 float64)
HALF, ONE = np.float32(0.5), np.float32(1.0)

#: how the time loops compile: no GIL (blocks of rows run on several threads at once), no
#: ZeroDivisionError check (it keeps LLVM from vectorising a loop), cached on disk
compiled_loop = njit(nogil=True, fastmath=FASTMATH, error_model="numpy", cache=True)


@njit(fastmath=FASTMATH, error_model="numpy")
def gate_sigmoid(x: float) -> float:
    """The logistic sigmoid, as 0.5 * tanh(0.5 x) + 0.5 (no overflow, and one tanh)."""
    return HALF * gate_tanh(HALF * x) + HALF


@compiled_loop
def copy_transposed(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[...] = src.T`` for ``dst`` (m, p) and ``src`` (p, m): a block's rows between the
    batch-major arrays and the loops' feature-major step arrays."""
    m, p = dst.shape
    for i in range(m):
        for j in range(p):
            dst[i, j] = src[j, i]
