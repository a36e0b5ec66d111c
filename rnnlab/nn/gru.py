"""The GRU cell, as ``torch.nn.GRU`` (gate order r, z, n)::

r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
h' = (1 - z) * n + z * h
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnlab.nn import parallel
from rnnlab.nn.cell import State
from rnnlab.nn.gate_cell import GateCell, one_minus_square, sigmoid_, squared_norm


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
        T, N, _ = acts.shape
        hs = self.hidden_sequence(T, N, state)
        hn = np.empty((T, N, self.hidden_size), self.dtype)  # W_hn h + b_hn, kept for backward
        parallel.run_blocks(self.forward_block(acts, hs, hn), parallel.row_blocks(N))
        self.acts, self.hn = acts, hn
        return self.hidden_outputs(), (hs[-1].copy(),)

    def forward_block(
        self, acts: np.ndarray, hs: np.ndarray, hn: np.ndarray
    ) -> Callable[[slice], None]:
        """The forward time loop for a block of batch rows (one thread's): turns their
        pre-activations ``acts`` (T, N, 3H) into [r, z, n] and fills ``hs[1:]`` (T+1, N, H)
        and ``hn`` (T, N, H), each step's ``W_hn h + b_hn``."""
        T, H = len(acts), self.hidden_size
        b_hn = self.params["bias_hh"][2 * H :]

        def rows_forward(rows: slice) -> None:
            buffer = self.recurrent_buffer(rows.stop - rows.start)
            r_hn = np.empty((rows.stop - rows.start, H), self.dtype)
            for t in range(T):
                a = acts[t, rows]
                rz, n, hn_t = a[:, : 2 * H], a[:, 2 * H :], hn[t, rows]
                recurrent = self.recurrent(hs[t, rows], buffer)
                rz += recurrent[:, : 2 * H]
                sigmoid_(rz)
                np.add(recurrent[:, 2 * H :], b_hn, out=hn_t)
                np.multiply(a[:, :H], hn_t, out=r_hn)
                n += r_hn
                np.tanh(n, out=n)
                h = hs[t + 1, rows]
                np.subtract(hs[t, rows], n, out=h)  # h' = n + z * (h - n)
                h *= a[:, H : 2 * H]
                h += n

        return rows_forward

    def backprop(
        self, dhs: np.ndarray, dfinal_state: State | None
    ) -> tuple[np.ndarray, np.ndarray | tuple[np.ndarray, ...], State]:
        T, N, H = dhs.shape
        (dh,) = self.final_state_grads(dfinal_state, N)
        squares = parallel.run_blocks(self.backward_block(dhs, dh), parallel.row_blocks(N))
        self.state_grad_norms = np.sqrt(sum(squares))
        dpre_x = self.acts.reshape(T, N, 3 * H)  # each step's activations became its dpre
        return dpre_x, (dpre_x[:, :, : 2 * H], self.hn), (dh,)  # and W_hn h + b_hn its d_hn

    def backward_block(self, dhs: np.ndarray, dh: np.ndarray) -> Callable[[slice], np.ndarray]:
        """The backward sweep for a block of batch rows: turns their activations into the
        input side's pre-activation gradients, ``hn`` into d_hn, and ``dh`` (N, H) from the
        final state's gradient into the initial state's, in place; returns the squared norms
        (T,) of the rows' dL/dh_t."""
        T, _, H = dhs.shape
        through_weight_for = self.recurrent_backward()
        dpre = self.acts.reshape(T, -1, 3, H)
        dhn, hs = self.hn, self.hs

        # Per step, with dh the gradient reaching h_t:
        #   input side      d_n = dh * (1-z)(1-n^2)    d_z = dh * (h_prev - n) z(1-z)
        #                   d_r = d_n * hn * r(1-r)
        #   recurrent side  the same for r and z, and d_hn = d_n * r for W_hn h + b_hn,
        # and dh for the previous step is dh * z + [d_r, d_z, d_hn] @ W_hh. Step by step,
        # on (n, 3H) pieces that stay in cache (backward runs once per forward).
        def rows_backward(rows: slice) -> np.ndarray:
            n_rows = rows.stop - rows.start
            through_weight = through_weight_for(n_rows)
            dh_rows = dh[rows]
            factor = np.empty((n_rows, 3, H), self.dtype)  # [d_r, d_z, d_n], then [.., d_hn]
            d_r, d_z, d_n = (factor[:, k] for k in range(3))
            tmp = np.empty((n_rows, H), self.dtype)
            dh_through_z = np.empty((n_rows, H), self.dtype)
            squares = np.empty(T)
            for t in reversed(range(T)):
                a, dhn_t = dpre[t, rows], dhn[t, rows]
                r, z, n = a[:, 0], a[:, 1], a[:, 2]
                dh_rows += dhs[t, rows]
                squares[t] = squared_norm(dh_rows)
                np.subtract(1, a, out=factor)
                one_minus_square(n, out=d_n)
                d_n *= d_z  # 1 - z
                d_n *= dh_rows
                factor[:, :2] *= a[:, :2]  # sigmoid' for r and z
                np.subtract(hs[t, rows], n, out=tmp)
                d_z *= tmp
                d_z *= dh_rows
                d_r *= dhn_t
                d_r *= d_n
                np.multiply(dh_rows, z, out=dh_through_z)
                np.multiply(d_n, r, out=dhn_t)
                np.copyto(a, factor)
                d_n[...] = dhn_t
                through_weight(factor.reshape(n_rows, 3 * H), dh_rows)
                dh_rows += dh_through_z
            return squares

        return rows_backward
