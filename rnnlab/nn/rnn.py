"""The Elman RNN cell, as ``torch.nn.RNN``: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from rnnlab.nn.cell import State
from rnnlab.nn.gate_cell import GateCell


def _tanh_(a: np.ndarray) -> np.ndarray:
    return np.tanh(a, out=a)


def _relu_(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0, out=a)


def _tanh_grad(h: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.multiply(h, h, out=out)
    return np.subtract(1, out, out=out)


def _relu_grad(h: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.greater(h, 0, out=out, casting="unsafe")


#: nonlinearity -> (in-place activation, its derivative from the activation's output into ``out``)
_NONLINEARITIES = {"tanh": (_tanh_, _tanh_grad), "relu": (_relu_, _relu_grad)}


class RNNCell(GateCell):
    """Elman RNN cell; state ``(h,)``; ``nonlinearity`` is ``"tanh"`` or ``"relu"``."""

    num_gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        rng: np.random.Generator,
        dtype: DTypeLike = np.float32,
        nonlinearity: str = "tanh",
    ) -> None:
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(
                f"nonlinearity must be one of {sorted(_NONLINEARITIES)}, got {nonlinearity!r}"
            )
        super().__init__(input_size, hidden_size, rng, dtype)
        self.nonlinearity = nonlinearity
        self._activation_, self._activation_grad = _NONLINEARITIES[nonlinearity]

    def projection_buffer(self, steps: int, batch: int, state: State) -> np.ndarray:
        """The outputs ``hs[1:]`` themselves: each step adds its recurrent term in place."""
        return self.hidden_sequence(steps, batch, state)[1:]

    def recur(self, pre: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        hs = self.hs  # pre is hs[1:]
        buffer = self.recurrent_buffer(pre.shape[1])
        for t in range(len(pre)):
            h = hs[t + 1]
            h += self.recurrent(hs[t], buffer)
            self._activation_(h)
        return self.hidden_outputs(), (hs[-1].copy(),)

    def backprop(
        self, dhs: np.ndarray, dfinal_state: State | None
    ) -> tuple[np.ndarray, np.ndarray, State]:
        T, N, _ = dhs.shape
        (dh,) = self.final_state_grads(dfinal_state, N)
        through_weight = self.recurrent_backward(N)
        dpre = dhs  # each step's dL/d(pre-activation) replaces its output gradient
        norms = np.empty(T)
        for t in reversed(range(T)):
            dh += dhs[t]
            norms[t] = np.linalg.norm(dh)
            self._activation_grad(self.hs[t + 1], out=dpre[t])
            dpre[t] *= dh
            through_weight(dpre[t], dh)
        self.state_grad_norms = norms
        return dpre, dpre, (dh,)
