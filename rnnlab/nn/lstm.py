"""The LSTM cell, as ``torch.nn.LSTM`` (gate order i, f, g, o)::

i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x + b_ih + W_hh h + b_hh)
c' = f * c + i * g
h' = o * tanh(c')
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from rnnlab.nn import parallel
from rnnlab.nn.cell import State
from rnnlab.nn.gate_cell import GateCell, one_minus_square, squared_norm


class LSTMCell(GateCell):
    """LSTM cell; state ``(h, c)``.

    ``forget_bias`` is the initial forget-gate block of ``bias_ih``; the forget
    block of ``bias_hh`` starts at zero, so the forget gate's effective initial
    bias is exactly ``forget_bias`` (all other biases are PyTorch's uniform init).
    """

    num_gates = 4
    num_states = 2
    cached = ("acts", "cs", "tanh_cs")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        rng: np.random.Generator,
        dtype: DTypeLike = np.float32,
        forget_bias: float = 1.0,
    ) -> None:
        super().__init__(input_size, hidden_size, rng, dtype)
        H = self.hidden_size
        self.params["bias_ih"][H : 2 * H] = forget_bias
        self.params["bias_hh"][H : 2 * H] = 0.0

    def recur(self, acts: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        T, N, _ = acts.shape
        hs = self.hidden_sequence(T, N, state)
        cs = np.empty((T + 1, N, self.hidden_size), self.dtype)
        cs[0] = state[1]
        tanh_cs = np.empty((T, N, self.hidden_size), self.dtype)
        parallel.run_blocks(self.forward_block(acts, hs, cs, tanh_cs), parallel.row_blocks(N))
        self.acts, self.cs, self.tanh_cs = acts, cs, tanh_cs
        return self.hidden_outputs(), (hs[-1].copy(), cs[-1].copy())

    def forward_block(
        self, acts: np.ndarray, hs: np.ndarray, cs: np.ndarray, tanh_cs: np.ndarray
    ) -> Callable[[slice], None]:
        """The forward time loop for a block of batch rows (one thread's): turns their
        pre-activations ``acts`` (T, N, 4H) into gate activations and fills ``hs[1:]``,
        ``cs[1:]`` (T+1, N, H) and ``tanh_cs`` (T, N, H)."""
        T, H = len(acts), self.hidden_size
        # One tanh over all four gates: sigmoid(a) = 0.5 * tanh(0.5 * a) + 0.5 for i, f, o
        # and tanh(a) = 1 * tanh(1 * a) + 0 for g (fewer, larger numpy calls per step).
        scale = np.full(4 * H, 0.5, self.dtype)
        scale[2 * H : 3 * H] = 1.0
        offset = 1.0 - scale

        def rows_forward(rows: slice) -> None:
            buffer = self.recurrent_buffer(rows.stop - rows.start)
            ig = np.empty((rows.stop - rows.start, H), self.dtype)
            for t in range(T):
                a = acts[t, rows]  # pre-activations in, gate activations out
                a += self.recurrent(hs[t, rows], buffer)
                a *= scale
                np.tanh(a, out=a)
                a *= scale
                a += offset
                c, tanh_c = cs[t + 1, rows], tanh_cs[t, rows]
                np.multiply(a[:, H : 2 * H], cs[t, rows], out=c)
                np.multiply(a[:, :H], a[:, 2 * H : 3 * H], out=ig)
                c += ig
                np.tanh(c, out=tanh_c)
                np.multiply(a[:, 3 * H :], tanh_c, out=hs[t + 1, rows])

        return rows_forward

    def backprop(
        self, dhs: np.ndarray, dfinal_state: State | None
    ) -> tuple[np.ndarray, np.ndarray | tuple[np.ndarray, ...], State]:
        T, N, H = dhs.shape
        dh, dc = self.final_state_grads(dfinal_state, N)
        blocks = parallel.run_blocks(self.backward_block(dhs, dh, dc), parallel.row_blocks(N))
        self.state_grad_norms = np.sqrt(sum(squares for _, squares in blocks))
        dc = np.concatenate([dc for dc, _ in blocks]) if len(blocks) > 1 else blocks[0][0]
        dpre = self.acts.reshape(T, N, 4 * H)  # each step's activations became its dpre
        return dpre, dpre, (dh, dc)

    def backward_block(
        self, dhs: np.ndarray, dh: np.ndarray, dc0: np.ndarray
    ) -> Callable[[slice], tuple[np.ndarray, np.ndarray]]:
        """The backward sweep for a block of batch rows: turns their activations into
        pre-activation gradients and ``dh`` (N, H) from the final state's gradient into the
        initial state's, in place; returns the rows' dc at the start (from ``dc0``, the
        final one) and the squared norms (T,) of their dL/dh_t."""
        T, _, H = dhs.shape
        through_weight_for = self.recurrent_backward()
        acts = self.acts.reshape(T, -1, 4, H)
        cs, tanh_cs = self.cs, self.tanh_cs

        # Per step, with dh and dc the gradients reaching h_t and c_t:
        #   dc += dh * o * (1 - tanh(c)^2)     (tanh' from the stored tanh(c), not from h)
        #   d_i = dc * g * i(1-i)      d_f = dc * c_prev * f(1-f)
        #   d_g = dc * i * (1-g^2)     d_o = dh * tanh(c) * o(1-o)
        # then dc *= f for the previous step. Step by step, on (n, 4H) pieces that stay
        # in cache, written over the activations (backward runs once per forward).
        def rows_backward(rows: slice) -> tuple[np.ndarray, np.ndarray]:
            n = rows.stop - rows.start
            through_weight = through_weight_for(n)
            dh_rows, dc = dh[rows], dc0[rows]
            factor = np.empty((n, 4, H), self.dtype)
            s_i, s_f, s_g, s_o = (factor[:, k] for k in range(4))
            tmp = np.empty((n, H), self.dtype)
            squares = np.empty(T)
            for t in reversed(range(T)):
                a = acts[t, rows]
                i, f, g, o = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
                tanh_c = tanh_cs[t, rows]
                dh_rows += dhs[t, rows]
                squares[t] = squared_norm(dh_rows)
                one_minus_square(tanh_c, out=tmp)
                tmp *= o
                tmp *= dh_rows
                dc += tmp
                np.subtract(1, a, out=factor)
                factor *= a  # sigmoid' for i, f, o (the g block is overwritten next)
                one_minus_square(g, out=s_g)
                s_g *= i
                s_i *= g
                s_f *= cs[t, rows]
                s_o *= tanh_c
                np.multiply(s_o, dh_rows, out=o)
                np.multiply(dc, f, out=tmp)  # dc for the previous step, before f is overwritten
                np.multiply(factor[:, :3], dc[:, None, :], out=a[:, :3])
                dc, tmp = tmp, dc
                through_weight(a.reshape(n, 4 * H), dh_rows)
            return dc, squares

        return rows_backward
