"""The GRU's time loops compiled by numba: one call runs a whole chunk for a block of batch rows.

As ``lstm_loops``: per step the feature-major recurrent GEMM and short vectorised
passes over the gates, no GIL. Arrays are the NumPy cell's (``rnnlab.nn.gru``):
time-major, gate blocks r, z, n, and ``hn`` = ``W_hn h + b_hn`` per step.
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
def backward_rows(
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
