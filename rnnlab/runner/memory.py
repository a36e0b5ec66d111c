"""What a job's model will need in memory, estimated before anything large is allocated.

The estimate adds up, in bytes of the run's float dtype:

- parameters, their gradients, and the optimizer's state (its buffers per
  parameter, found by building the optimizer over a small probe array);
- one checkpoint in memory: the optimizer state copied to write it, or the
  parameters and state read back to resume;
- the arrays of one training step: per layer the cell's cache for backward and
  its gradients (``T * N`` rows of about ``G + 5`` hidden widths, ``G`` being the
  cell's number of ``H x H`` blocks: 1 rnn, 3 gru, 4 lstm), the logits and their
  softmax (a row of C classes per step and stream for language modelling, per
  sequence otherwise) and, for token inputs, the per-token input
  projection table and its gradient (V rows of ``G * H``).

Parameter counts are exact for any cell whose parameter count is a quadratic in
the hidden size (the built-in cells and any gate cell): the cell is built at
hidden sizes 1, 2 and 3 and the count extrapolated. tests/test_memory.py holds
the estimate within 2x of the traced peak of real runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.nn.model import CellFactory
from rnnlab.nn.optim import Optimizer

#: builds the run's optimizer over a dict of parameters
OptimizerFactory = Callable[[dict[str, np.ndarray]], Optimizer]

#: elements of the array the optimizer is probed with
OPTIMIZER_PROBE = 1024
GB = 1e9


class NotEnoughMemory(RnnlabError):
    """The model a config asks for does not fit in the memory available."""


@dataclass(frozen=True)
class ModelShape:
    """The sizes that decide a model's memory. ``vocab_size`` is None for dense inputs;
    ``steps`` is T, the steps of one chunk (bptt, or the sequence length)."""

    input_size: int
    hidden_size: int
    layers: int
    output_size: int
    #: the head's input width (H, or T*H for the flatten head) and rows (T*N per step, else N)
    head_inputs: int
    head_rows: int
    batch_size: int
    steps: int
    itemsize: int
    vocab_size: int | None = None


@dataclass(frozen=True)
class MemoryNeed:
    """Bytes a job needs, by part."""

    parameters: int
    gradients: int
    optimizer_state: int
    checkpoint: int
    step_arrays: int

    @property
    def total(self) -> int:
        return (
            self.parameters
            + self.gradients
            + self.optimizer_state
            + self.checkpoint
            + self.step_arrays
        )

    def describe(self) -> str:
        parts = {
            "parameters": self.parameters,
            "gradients": self.gradients,
            "optimizer state": self.optimizer_state,
            "one checkpoint": self.checkpoint,
            "BPTT cache and step arrays": self.step_arrays,
        }
        listed = ", ".join(f"{name} {gigabytes(size)}" for name, size in parts.items() if size)
        return f"about {gigabytes(self.total)} ({listed})"


def gigabytes(size: float) -> str:
    return f"{size / GB:.2f} GB" if size < 10 * GB else f"{size / GB:.0f} GB"


def quadratic_at(values: tuple[int, int, int], x: int) -> int:
    """The quadratic through ``(1, values[0]), (2, values[1]), (3, values[2])``, at ``x``."""
    p1, p2, p3 = values
    return (p1 * (x - 2) * (x - 3) - 2 * p2 * (x - 1) * (x - 3) + p3 * (x - 1) * (x - 2)) // 2


def cell_parameters(make_cell: CellFactory, input_size: int) -> tuple[int, int, int]:
    """Parameter counts of cells with ``input_size`` inputs and 1, 2 and 3 hidden units."""

    def count(hidden: int) -> int:
        cell = make_cell(input_size, hidden, np.random.default_rng(0), np.float32)
        return sum(p.size for p in cell.params.values())

    return count(1), count(2), count(3)


def optimizer_buffers(make_optimizer: OptimizerFactory) -> int:
    """How many arrays the size of a parameter the optimizer keeps per parameter."""
    probe = {"probe": np.zeros(OPTIMIZER_PROBE, np.float32)}
    state = make_optimizer(probe).state_dict()
    return sum(np.size(a) for a in state.values()) // OPTIMIZER_PROBE


def estimate(
    shape: ModelShape,
    make_cell: CellFactory,
    make_optimizer: OptimizerFactory,
) -> MemoryNeed:
    """What training a model of ``shape`` with these cells and optimizer needs (see the module)."""
    H, N, T, C = shape.hidden_size, shape.batch_size, shape.steps, shape.output_size
    first = cell_parameters(make_cell, shape.input_size)
    blocks = (first[0] - 2 * first[1] + first[2]) // 2  # G: the H^2 coefficient
    params = quadratic_at(first, H)
    if shape.layers > 1:
        params += (shape.layers - 1) * quadratic_at(cell_parameters(make_cell, H), H)
    params += C * shape.head_inputs + C
    step = shape.layers * T * N * H * (max(blocks, 1) + 5) + 2 * shape.head_rows * C
    if shape.vocab_size is not None:
        params += shape.vocab_size * shape.input_size
        step += shape.vocab_size * (2 * max(blocks, 1) * H + shape.input_size)
    buffers = optimizer_buffers(make_optimizer)
    size = shape.itemsize
    return MemoryNeed(
        parameters=params * size,
        gradients=params * size,
        optimizer_state=buffers * params * size,
        checkpoint=(1 + buffers) * params * size,
        step_arrays=step * size,
    )


def available_memory() -> int:
    """Bytes of memory available to a new allocation now, without swapping (psutil)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_fits(need: MemoryNeed, available: int, shrink: list[str]) -> None:
    """NotEnoughMemory naming the figures and the ``shrink`` settings if ``need`` exceeds
    ``available`` bytes."""
    if need.total > available:
        raise NotEnoughMemory(
            f"this model needs {need.describe()} but {gigabytes(available)} of memory is "
            f"available; lower {', '.join(shrink[:-1])} or {shrink[-1]}"
        )
