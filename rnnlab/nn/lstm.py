"""The LSTM cell, as ``torch.nn.LSTM`` (gate order i, f, g, o)::

i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x + b_ih + W_hh h + b_hh)
c' = f * c + i * g
h' = o * tanh(c')
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from rnnlab.nn.cell import State
from rnnlab.nn.gate_cell import GateCell, one_minus_square


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
        buffer = self.recurrent_buffer(N)
        ig = np.empty((N, H), self.dtype)
        i, f, g, o = (acts[:, :, k * H : (k + 1) * H] for k in range(4))
        # One tanh over all four gates: sigmoid(a) = 0.5 * tanh(0.5 * a) + 0.5 for i, f, o
        # and tanh(a) = 1 * tanh(1 * a) + 0 for g (fewer, larger numpy calls per step).
        scale = np.full(4 * H, 0.5, self.dtype)
        scale[2 * H : 3 * H] = 1.0
        offset = 1.0 - scale
        for t in range(T):
            a = acts[t]  # pre-activations in, gate activations out
            a += self.recurrent(hs[t], buffer)
            a *= scale
            np.tanh(a, out=a)
            a *= scale
            a += offset
            np.multiply(f[t], cs[t], out=cs[t + 1])
            np.multiply(i[t], g[t], out=ig)
            cs[t + 1] += ig
            np.tanh(cs[t + 1], out=tanh_cs[t])
            np.multiply(o[t], tanh_cs[t], out=hs[t + 1])
        self.acts, self.cs, self.tanh_cs = acts, cs, tanh_cs
        return self.hidden_outputs(), (hs[-1].copy(), cs[-1].copy())

    def backprop(
        self, dhs: np.ndarray, dfinal_state: State | None
    ) -> tuple[np.ndarray, np.ndarray, State]:
        T, N, H = dhs.shape
        dh, dc = self.final_state_grads(dfinal_state, N)
        through_weight = self.recurrent_backward(N)
        acts = self.acts.reshape(T, N, 4, H)  # each step's activations become its dpre
        cs, tanh_cs = self.cs, self.tanh_cs

        # Per step, with dh and dc the gradients reaching h_t and c_t:
        #   dc += dh * o * (1 - tanh(c)^2)     (tanh' from the stored tanh(c), not from h)
        #   d_i = dc * g * i(1-i)      d_f = dc * c_prev * f(1-f)
        #   d_g = dc * i * (1-g^2)     d_o = dh * tanh(c) * o(1-o)
        # then dc *= f for the previous step. Step by step, on (N, 4H) pieces that stay
        # in cache, written over the activations (backward runs once per forward).
        factor = np.empty((N, 4, H), self.dtype)
        s_i, s_f, s_g, s_o = (factor[:, k] for k in range(4))
        tmp = np.empty((N, H), self.dtype)
        norms = np.empty(T)
        for t in reversed(range(T)):
            a = acts[t]
            i, f, g, o = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
            dh += dhs[t]
            norms[t] = np.linalg.norm(dh)
            one_minus_square(tanh_cs[t], out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp
            np.subtract(1, a, out=factor)
            factor *= a  # sigmoid' for i, f, o (the g block is overwritten next)
            one_minus_square(g, out=s_g)
            s_g *= i
            s_i *= g
            s_f *= cs[t]
            s_o *= tanh_cs[t]
            np.multiply(s_o, dh, out=o)
            np.multiply(dc, f, out=tmp)  # dc for the previous step, before f is overwritten
            np.multiply(factor[:, :3], dc[:, None, :], out=a[:, :3])
            dc, tmp = tmp, dc
            through_weight(a.reshape(N, 4 * H), dh)
        self.state_grad_norms = norms
        dpre = acts.reshape(T, N, 4 * H)
        return dpre, dpre, (dh, dc)
