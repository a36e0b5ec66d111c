"""The Elman RNN cell, as ``torch.nn.RNN``: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``."""

from __future__ import annotations

import numpy as np

from rnnlab.nn.gate_cell import GateCell


def _tanh_(a):
    return np.tanh(a, out=a)


def _relu_(a):
    return np.maximum(a, 0, out=a)


def _tanh_grad(h):
    return 1 - h * h


def _relu_grad(h):
    return (h > 0).astype(h.dtype)


#: nonlinearity -> (in-place activation, its derivative computed from the activation's output)
_NONLINEARITIES = {"tanh": (_tanh_, _tanh_grad), "relu": (_relu_, _relu_grad)}


class RNNCell(GateCell):
    """Elman RNN cell; state ``(h,)``; ``nonlinearity`` is ``"tanh"`` or ``"relu"``."""

    num_gates = 1

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator,
                 dtype=np.float32, nonlinearity: str = "tanh"):
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {sorted(_NONLINEARITIES)}, "
                             f"got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, rng, dtype)
        self.nonlinearity = nonlinearity
        self._activation_, self._activation_grad = _NONLINEARITIES[nonlinearity]

    def recur(self, pre, state):
        hs = self.hidden_sequence(pre, state)
        buffer = self.recurrent_buffer(pre.shape[1])
        for t in range(len(pre)):
            h = hs[t + 1]
            np.add(pre[t], self.recurrent(hs[t], buffer), out=h)
            self._activation_(h)
        return self.hidden_outputs(), (hs[-1].copy(),)

    def backprop(self, dhs, dfinal_state):
        T, N, _ = dhs.shape
        (dh,) = self.final_state_grads(dfinal_state, N)
        through_weight = self.recurrent_backward(N)
        dpre = self._activation_grad(self.hs[1:])  # becomes dL/d(pre-activation) step by step
        norms = np.empty(T)
        for t in reversed(range(T)):
            dh += dhs[t]
            norms[t] = np.linalg.norm(dh)
            dpre[t] *= dh
            through_weight(dpre[t], dh)
        self.state_grad_norms = norms
        return dpre, dpre, (dh,)
