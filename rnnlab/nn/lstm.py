"""The LSTM cell, as ``torch.nn.LSTM`` (gate order i, f, g, o)::

i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x + b_ih + W_hh h + b_hh)
c' = f * c + i * g
h' = o * tanh(c')
"""

from __future__ import annotations

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
        H = self.hidden_size
        cs = np.empty((T + 1, N, H), self.dtype)
        cs[0] = state[1]
        tanh_cs = np.empty((T, N, H), self.dtype)
        # One tanh over all four gates: sigmoid(a) = 0.5 * tanh(0.5 * a) + 0.5 for i, f, o
        # and tanh(a) = 1 * tanh(1 * a) + 0 for g (fewer, larger numpy calls per step).
        scale = np.full(4 * H, 0.5, self.dtype)
        scale[2 * H : 3 * H] = 1.0
        offset = 1.0 - scale

        def rows_forward(rows: slice) -> None:
            """The whole chunk for the batch rows ``rows`` (one thread's block)."""
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

        parallel.run_blocks(rows_forward, parallel.row_blocks(N))
        self.acts, self.cs, self.tanh_cs = acts, cs, tanh_cs
        return self.hidden_outputs(), (hs[-1].copy(), cs[-1].copy())

    def backprop(
        self, dhs: np.ndarray, dfinal_state: State | None
    ) -> tuple[np.ndarray, np.ndarray | tuple[np.ndarray, ...], State]:
        T, N, H = dhs.shape
        dh, dc0 = self.final_state_grads(dfinal_state, N)
        through_weight_for = self.recurrent_backward()
        acts = self.acts.reshape(T, N, 4, H)  # each step's activations become its dpre
        cs, tanh_cs = self.cs, self.tanh_cs

        # Per step, with dh and dc the gradients reaching h_t and c_t:
        #   dc += dh * o * (1 - tanh(c)^2)     (tanh' from the stored tanh(c), not from h)
        #   d_i = dc * g * i(1-i)      d_f = dc * c_prev * f(1-f)
        #   d_g = dc * i * (1-g^2)     d_o = dh * tanh(c) * o(1-o)
        # then dc *= f for the previous step. Step by step, on (n, 4H) pieces that stay
        # in cache, written over the activations (backward runs once per forward).
        def rows_backward(rows: slice) -> tuple[np.ndarray, np.ndarray]:
            """The sweep for the batch rows ``rows``: their dc at the start, and the squared
            norms (T,) of their dh per step."""
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

        blocks = parallel.run_blocks(rows_backward, parallel.row_blocks(N))
        self.state_grad_norms = np.sqrt(sum(squares for _, squares in blocks))
        dc = np.concatenate([dc for dc, _ in blocks]) if len(blocks) > 1 else blocks[0][0]
        dpre = acts.reshape(T, N, 4 * H)
        return dpre, dpre, (dh, dc)
