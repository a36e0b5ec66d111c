"""The shapes a cell must keep, checked on a small instance.

The runner checks every cell before a model is built (``check_shapes``), so a plugin cell
with wrong shapes fails with one line instead of a NumPy broadcasting error deep inside the
model; the conformance kit (``rnnlab.testing``) runs the same check among its others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from rnnlab.nn.cell import Cell, State
from rnnlab.nn.model import CellFactory


@dataclass(frozen=True)
class CellUnderTest:
    """A factory ``factory(input_size, hidden_size, rng, dtype, **options)`` and check sizes."""

    factory: CellFactory
    options: Mapping[str, Any] = field(default_factory=dict)
    input_size: int = 3
    hidden_size: int = 4
    batch: int = 2
    steps: int = 5
    #: largest accepted relative error of a gradient against finite differences
    gradient_tolerance: float = 1e-6

    @property
    def name(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{getattr(self.factory, '__name__', repr(self.factory))}({options})"

    def make(self, dtype: DTypeLike = np.float64, seed: int = 0) -> Cell:
        """A fresh cell built from ``np.random.default_rng(seed)``."""
        return self.factory(
            self.input_size, self.hidden_size, np.random.default_rng(seed), dtype, **self.options
        )

    def inputs(self, dtype: DTypeLike = np.float64, steps: int | None = None) -> np.ndarray:
        """Random inputs (steps, batch, input_size), the same on every call."""
        shape = (steps or self.steps, self.batch, self.input_size)
        return np.random.default_rng(1).standard_normal(shape).astype(dtype)

    def hidden_like(self, cell: Cell, seed: int = 2) -> tuple[np.ndarray, State]:
        """Random float64 arrays shaped like ``(hs, state)``: (steps, N, H), num_states x (N, H).

        Used as non-zero initial states and as output gradients.
        """
        rng = np.random.default_rng(seed)
        hs = rng.standard_normal((self.steps, self.batch, self.hidden_size))
        state = tuple(
            rng.standard_normal((self.batch, self.hidden_size)) for _ in range(cell.num_states)
        )
        return hs, state


def check_shapes(c: CellUnderTest) -> None:
    """State, outputs and input/state gradients have the contract's shapes (AssertionError
    naming what broke if not)."""
    cell = c.make()
    T, N, H, I = c.steps, c.batch, c.hidden_size, c.input_size
    state = cell.initial_state(N)
    assert_state_shapes(c, "initial_state", state, cell.num_states)
    hs, final = cell.forward(c.inputs(), state)
    assert hs.shape == (T, N, H), f"{c.name}: forward hs shape {hs.shape}, expected {(T, N, H)}"
    assert_state_shapes(c, "final state", final, cell.num_states)
    dxs, dstate0 = cell.backward(np.ones_like(hs))
    assert dxs.shape == (T, N, I), f"{c.name}: backward dxs shape {dxs.shape}, expected {(T, N, I)}"
    assert_state_shapes(c, "backward dstate0", dstate0, cell.num_states)


def assert_state_shapes(c: CellUnderTest, what: str, state: object, num_states: int) -> None:
    """``state`` is a tuple of ``num_states`` arrays of shape (batch, hidden_size)."""
    assert isinstance(state, tuple) and len(state) == num_states, (
        f"{c.name}: {what} must be a tuple of num_states={num_states} arrays, got {type(state)}"
        f" of length {len(state)}"  # type: ignore[arg-type]  # len() of a non-tuple may fail too
    )
    for k, s in enumerate(state):
        assert s.shape == (c.batch, c.hidden_size), (
            f"{c.name}: {what}[{k}] shape {s.shape}, expected {(c.batch, c.hidden_size)}"
        )
