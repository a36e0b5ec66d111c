"""One recurrent cell alone: forward and full backward over a chunk, no embedding or head.

Inputs (T, N, I) of random floats, a random initial state and random output
gradients; backward returns the input and initial-state gradients and
accumulates the weight gradients (zeroed before each call), in both frameworks.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.engine_lm import cell_class
from benchmarks.torch_lm import RECURRENT
from benchmarks.workload import Shape

#: the input width of the cell-alone measurement
INPUT = 64


def _arrays(shape: Shape) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    T, N, H = shape.steps, shape.batch, shape.hidden
    xs = rng.standard_normal((T, N, INPUT), dtype=np.float32)
    states = [0.1 * rng.standard_normal((N, H), dtype=np.float32) for _ in range(2)]
    dhs = rng.standard_normal((T, N, H), dtype=np.float32)
    return xs, states, dhs


class EngineCell:
    """``step()``: the engine cell's ``forward`` and ``backward`` over one chunk."""

    def __init__(self, shape: Shape):
        self.cell = cell_class(shape)(INPUT, shape.hidden, np.random.default_rng(0))
        self.xs, states, self.dhs = _arrays(shape)
        self.state = tuple(states[: self.cell.num_states])

    def step(self) -> None:
        self.cell.zero_grad()
        self.cell.forward(self.xs, self.state)
        self.cell.backward(self.dhs)


class TorchCell:
    """``step()``: ``nn.RNN/LSTM/GRU`` forward and ``backward`` over one chunk, input grads too."""

    def __init__(self, shape: Shape):
        torch.manual_seed(0)
        self.rnn = RECURRENT[shape.cell](INPUT, shape.hidden)
        xs, states, dhs = _arrays(shape)
        self.xs = torch.from_numpy(xs).requires_grad_(True)
        h, c = (torch.from_numpy(s)[None].requires_grad_(True) for s in states)
        self.state = (h, c) if shape.cell == "lstm" else h
        self.dhs = torch.from_numpy(dhs)

    def step(self) -> None:
        self.rnn.zero_grad()
        self.xs.grad = None
        hs, _ = self.rnn(self.xs, self.state)
        hs.backward(self.dhs)
