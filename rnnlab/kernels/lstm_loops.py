"""The LSTM's time loops compiled by numba: one call runs a whole chunk for a block of batch rows.

Each step is the recurrent GEMM (scipy's BLAS, through numba's ``np.dot``) and
a few fused passes over the gates, instead of a dozen NumPy calls. The loops
hold no GIL (``nogil``), so blocks of rows run on several threads at once.
Arrays are the NumPy cell's (``rnnlab.nn.lstm``): time-major, gate blocks i, f, g, o.

The per-step GEMMs are feature-major, ``weight_hh @ h^T`` (4H, n) and
``weight_hh^T @ dpre^T`` (H, n): for n = 16-32 rows OpenBLAS runs them 1.2-1.5x
faster than the batch-major products. The gate passes stay batch-major (short
contiguous loops that LLVM vectorises) and read or write the feature-major
(H, n) and (4H, n) step arrays across.
"""

from __future__ import annotations

import numpy as np

from rnnlab.kernels.activations import (
    ONE,
    compiled_loop,
    copy_transposed,
    gate_sigmoid,
    gate_tanh,
)


@compiled_loop
def forward_rows(
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
def backward_rows(
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
