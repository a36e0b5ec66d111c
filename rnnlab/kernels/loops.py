"""The time loops that numba compiles, and what they share, in one file: numba's on-disk
cache checks only the timestamp of the file that defines a compiled function, so code it
inlines from another file (the activations) would go stale in the cache when that file
changed.

The loops run a whole chunk for a block of batch rows in one call that holds no GIL, so
blocks run on several threads at once. Per step: the recurrent GEMM (scipy's BLAS, through
numba's ``np.dot``), feature-major (``weight_hh @ h^T`` (G*H, n) and ``weight_hh^T @
dpre^T`` (H, n): for n = 16-32 rows OpenBLAS runs them 1.2-1.5x faster than the
batch-major products), and short passes over the gates, batch-major, that LLVM vectorises.
The arrays are the NumPy cells' (``rnnlab.nn.lstm``, ``rnnlab.nn.gru``): time-major, gate
blocks in PyTorch's order.

``gate_tanh`` compiles to Eigen's ``generic_fast_tanh_float`` for float32 (a 13/6 rational
approximation on [-7.9, 7.9], within a few ulp of tanh: multiply-adds and a division that
LLVM turns into SIMD code, where ``math.tanh`` is a scalar libm call that keeps a loop from
vectorising) and to libm's tanh for float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from rnnlab.kernels.blas import single_threaded_kernel_blas

single_threaded_kernel_blas()  # the BLAS the loops' np.dot calls

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


# ---- the LSTM (gate blocks i, f, g, o)


@compiled_loop
def lstm_forward_rows(
    acts: np.ndarray,
    hs: np.ndarray,
    cs: np.ndarray,
    tanh_cs: np.ndarray,
    weight: np.ndarray,
    r0: int,
    r1: int,
) -> None:
    """Rows ``r0:r1`` of a chunk: ``acts`` (T, N, 4H) pre-activations in, gate activations
    out; ``hs``, ``cs`` (T+1, N, H) with the initial state in ``[0]``; ``tanh_cs`` (T, N, H);
    ``weight`` (4H, H) = ``weight_hh``."""
    T, _, G = acts.shape
    H, n = G // 4, r1 - r0
    h_t = np.empty((H, n), acts.dtype)  # h^T of the step's rows
    rec = np.empty((G, n), acts.dtype)  # weight_hh @ h^T
    copy_transposed(h_t, hs[0, r0:r1])
    for t in range(T):
        np.dot(weight, h_t, rec)
        for r in range(n):
            # loops that index from 0 and write one contiguous array each: LLVM vectorises
            # those (an offset index costs a wrap-around check, and a loop writing several
            # arrays more run-time overlap checks than it makes); strided ones stay scalar
            row = r0 + r
            a = acts[t, row]
            i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            for k in range(G):
                a[k] += rec[k, r]
            ifo = a[: 2 * H]
            for k in range(2 * H):
                ifo[k] = gate_sigmoid(ifo[k])
            for k in range(H):
                g[k] = gate_tanh(g[k])
            for k in range(H):
                o[k] = gate_sigmoid(o[k])
            c_prev, c, tanh_c, h = cs[t, row], cs[t + 1, row], tanh_cs[t, row], hs[t + 1, row]
            for k in range(H):
                c[k] = f[k] * c_prev[k] + i[k] * g[k]
            for k in range(H):
                tanh_c[k] = gate_tanh(c[k])
            for k in range(H):
                h[k] = o[k] * tanh_c[k]
            for k in range(H):
                h_t[k, r] = h[k]


@compiled_loop
def lstm_backward_rows(
    acts: np.ndarray,
    cs: np.ndarray,
    tanh_cs: np.ndarray,
    dhs: np.ndarray,
    weight_t: np.ndarray,
    dh: np.ndarray,
    dc: np.ndarray,
    squares: np.ndarray,
    r0: int,
    r1: int,
) -> None:
    """The backward sweep for rows ``r0:r1``: ``acts`` (T, N, 4H) activations in, pre-activation
    gradients out; ``dhs`` (T, N, H) from above; ``weight_t`` (H, 4H) = ``weight_hh.T``,
    contiguous; ``dh``, ``dc`` (r1-r0, H) the final state's gradients in, the initial state's
    out; ``squares`` (T,) float64 gets the squared norm of these rows' dL/dh_t."""
    T, _, G = acts.shape
    H, n = G // 4, r1 - r0
    dh_t = np.empty((H, n), acts.dtype)  # the recurrent part of dL/dh, transposed
    dpre_t = np.empty((G, n), acts.dtype)
    d = np.empty(H, acts.dtype)  # dL/dh_t of one row
    f_kept = np.empty(H, acts.dtype)  # its forget gate, for dc's step back
    copy_transposed(dh_t, dh)
    for t in range(T - 1, -1, -1):
        total = 0.0
        for r in range(n):
            row = r0 + r
            a, dc_r = acts[t, row], dc[r]
            i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            dh_above, tanh_c, c_prev = dhs[t, row], tanh_cs[t, row], cs[t, row]
            for k in range(H):
                d[k] = dh_t[k, r]
            for k in range(H):
                d[k] += dh_above[k]
            for k in range(H):
                total += d[k] * d[k]
            for k in range(H):
                dc_r[k] += d[k] * o[k] * (ONE - tanh_c[k] * tanh_c[k])
            for k in range(H):
                f_kept[k] = f[k]
            for k in range(H):
                o[k] = d[k] * tanh_c[k] * o[k] * (ONE - o[k])
            for k in range(H):
                f[k] = dc_r[k] * c_prev[k] * f[k] * (ONE - f[k])
            for k in range(H):
                d[k] = i[k]  # i, before its gradient overwrites it
            for k in range(H):
                i[k] = dc_r[k] * g[k] * i[k] * (ONE - i[k])
            for k in range(H):
                g[k] = dc_r[k] * d[k] * (ONE - g[k] * g[k])
            for k in range(H):
                dc_r[k] *= f_kept[k]
            for k in range(G):
                dpre_t[k, r] = a[k]
        squares[t] = total
        np.dot(weight_t, dpre_t, dh_t)
    copy_transposed(dh, dh_t)


# ---- the GRU (gate blocks r, z, n; hn = W_hn h + b_hn per step)


@compiled_loop
def gru_forward_rows(
    acts: np.ndarray,
    hs: np.ndarray,
    hn: np.ndarray,
    weight: np.ndarray,
    b_hn: np.ndarray,
    r0: int,
    r1: int,
) -> None:
    """Rows ``r0:r1`` of a chunk: ``acts`` (T, N, 3H) pre-activations in, [r, z, n] out;
    ``hs`` (T+1, N, H) with the initial state in ``[0]``; ``hn`` (T, N, H) gets each step's
    ``W_hn h + b_hn``; ``weight`` (3H, H) = ``weight_hh``; ``b_hn`` (H,)."""
    T, _, G = acts.shape
    H, n = G // 3, r1 - r0
    h_t = np.empty((H, n), acts.dtype)  # h^T of the step's rows
    rec = np.empty((G, n), acts.dtype)  # weight_hh @ h^T
    copy_transposed(h_t, hs[0, r0:r1])
    for t in range(T):
        np.dot(weight, h_t, rec)
        for r in range(n):
            row = r0 + r
            a, hn_r, h_prev, h = acts[t, row], hn[t, row], hs[t, row], hs[t + 1, row]
            reset, update, new = a[:H], a[H : 2 * H], a[2 * H :]
            rz = a[: 2 * H]
            for k in range(2 * H):
                rz[k] += rec[k, r]
            for k in range(2 * H):
                rz[k] = gate_sigmoid(rz[k])
            for k in range(H):
                hn_r[k] = rec[2 * H + k, r] + b_hn[k]
            for k in range(H):
                new[k] = gate_tanh(new[k] + reset[k] * hn_r[k])
            for k in range(H):
                h[k] = new[k] + update[k] * (h_prev[k] - new[k])
            for k in range(H):
                h_t[k, r] = h[k]


@compiled_loop
def gru_backward_rows(
    acts: np.ndarray,
    hs: np.ndarray,
    hn: np.ndarray,
    dhs: np.ndarray,
    weight_t: np.ndarray,
    dh: np.ndarray,
    squares: np.ndarray,
    r0: int,
    r1: int,
) -> None:
    """The backward sweep for rows ``r0:r1``: ``acts`` (T, N, 3H) activations in, the input
    side's pre-activation gradients out; ``hn`` (T, N, H) in, d_hn out; ``dhs`` (T, N, H)
    from above; ``weight_t`` (H, 3H) = ``weight_hh.T``, contiguous; ``dh`` (r1-r0, H) the
    final state's gradient in, the initial state's out; ``squares`` (T,) float64 gets the
    squared norm of these rows' dL/dh_t."""
    T, _, G = acts.shape
    H, n = G // 3, r1 - r0
    dh_t = np.empty((H, n), acts.dtype)  # the recurrent part of dL/dh, transposed
    dpre_t = np.empty((G, n), acts.dtype)  # [d_r, d_z, d_hn] of the step's rows, transposed
    through_z = np.empty((n, H), acts.dtype)  # dL/dh * z: the part that skips the GEMM
    d = np.empty(H, acts.dtype)  # dL/dh_t of one row
    d_z = np.empty(H, acts.dtype)
    d_r = np.empty(H, acts.dtype)
    copy_transposed(dh_t, dh)
    for t in range(T - 1, -1, -1):
        total = 0.0
        for r in range(n):
            row = r0 + r
            a, hn_r, h_prev, dh_above = acts[t, row], hn[t, row], hs[t, row], dhs[t, row]
            reset, update, new, skip = a[:H], a[H : 2 * H], a[2 * H :], through_z[r]
            for k in range(H):
                d[k] = dh_t[k, r]
            for k in range(H):
                d[k] += dh_above[k]
            for k in range(H):
                total += d[k] * d[k]
            for k in range(H):
                skip[k] = d[k] * update[k]
            for k in range(H):
                d_z[k] = update[k] * (ONE - update[k]) * (h_prev[k] - new[k]) * d[k]
            for k in range(H):
                new[k] = (ONE - update[k]) * (ONE - new[k] * new[k]) * d[k]  # d_n
            for k in range(H):
                update[k] = d_z[k]
            for k in range(H):
                d_r[k] = reset[k] * (ONE - reset[k]) * hn_r[k] * new[k]
            for k in range(H):
                hn_r[k] = new[k] * reset[k]  # d_hn
            for k in range(H):
                reset[k] = d_r[k]
            for k in range(2 * H):
                dpre_t[k, r] = a[k]
            for k in range(H):
                dpre_t[2 * H + k, r] = hn_r[k]
        squares[t] = total
        np.dot(weight_t, dpre_t, dh_t)
        for r in range(n):
            for k in range(H):
                dh_t[k, r] += through_z[r, k]
    copy_transposed(dh, dh_t)
