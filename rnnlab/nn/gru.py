"""The GRU cell, as ``torch.nn.GRU`` (gate order r, z, n)::

r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
h' = (1 - z) * n + z * h
"""

from __future__ import annotations

import numpy as np

from rnnlab.nn.cell import State
from rnnlab.nn.gate_cell import GateCell, one_minus_square, sigmoid_


class GRUCell(GateCell):
    """GRU cell; state ``(h,)``."""

    num_gates = 3
    cached = ("acts", "hn")

    def input_bias(self) -> np.ndarray:
        # b_hn sits inside r * (...), so only b_hr and b_hz fold into the input projection
        H = self.hidden_size
        bias = self.params["bias_ih"].copy()
        bias[: 2 * H] += self.params["bias_hh"][: 2 * H]
        return bias

    def recur(self, acts: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        H = self.hidden_size
        b_hh = self.params["bias_hh"]
        T, N, _ = acts.shape
        hs = self.hidden_sequence(T, N, state)
        hn = np.empty((T, N, H), self.dtype)  # W_hn h + b_hn, kept for backward
        buffer = self.recurrent_buffer(N)
        r_hn = np.empty((N, H), self.dtype)
        rz, n = acts[:, :, : 2 * H], acts[:, :, 2 * H :]
        r, z = acts[:, :, :H], acts[:, :, H : 2 * H]
        for t in range(T):
            recurrent = self.recurrent(hs[t], buffer)
            rz[t] += recurrent[:, : 2 * H]
            sigmoid_(rz[t])
            np.add(recurrent[:, 2 * H :], b_hh[2 * H :], out=hn[t])
            np.multiply(r[t], hn[t], out=r_hn)
            n[t] += r_hn
            np.tanh(n[t], out=n[t])
            h = hs[t + 1]
            np.subtract(hs[t], n[t], out=h)  # h' = n + z * (h - n)
            h *= z[t]
            h += n[t]
        self.acts, self.hn = acts, hn
        return self.hidden_outputs(), (hs[-1].copy(),)

    def backprop(
        self, dhs: np.ndarray, dfinal_state: State | None
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...], State]:
        T, N, H = dhs.shape
        (dh,) = self.final_state_grads(dfinal_state, N)
        through_weight = self.recurrent_backward(N)
        dpre: np.ndarray = self.acts.reshape(T, N, 3, H)  # each step's activations become its dpre
        dhn, hs = self.hn, self.hs  # each step's W_hn h + b_hn becomes its d_hn

        # Per step, with dh the gradient reaching h_t:
        #   input side      d_n = dh * (1-z)(1-n^2)    d_z = dh * (h_prev - n) z(1-z)
        #                   d_r = d_n * hn * r(1-r)
        #   recurrent side  the same for r and z, and d_hn = d_n * r for W_hn h + b_hn,
        # and dh for the previous step is dh * z + [d_r, d_z, d_hn] @ W_hh. Step by step,
        # on (N, 3H) pieces that stay in cache (backward runs once per forward).
        factor = np.empty((N, 3, H), self.dtype)  # [d_r, d_z, d_n], then [d_r, d_z, d_hn]
        d_r, d_z, d_n = (factor[:, k] for k in range(3))
        tmp = np.empty((N, H), self.dtype)
        dh_through_z = np.empty((N, H), self.dtype)
        norms = np.empty(T)
        for t in reversed(range(T)):
            a = dpre[t]
            r, z, n = a[:, 0], a[:, 1], a[:, 2]
            dh += dhs[t]
            norms[t] = np.linalg.norm(dh)
            np.subtract(1, a, out=factor)
            one_minus_square(n, out=d_n)
            d_n *= d_z  # 1 - z
            d_n *= dh
            factor[:, :2] *= a[:, :2]  # sigmoid' for r and z
            np.subtract(hs[t], n, out=tmp)
            d_z *= tmp
            d_z *= dh
            d_r *= dhn[t]
            d_r *= d_n
            np.multiply(dh, z, out=dh_through_z)
            np.multiply(d_n, r, out=dhn[t])
            np.copyto(a, factor)
            d_n[...] = dhn[t]
            through_weight(factor.reshape(N, 3 * H), dh)
            dh += dh_through_z
        self.state_grad_norms = norms
        dpre = dpre.reshape(T, N, 3 * H)
        return dpre, (dpre[:, :, : 2 * H], dhn), (dh,)
