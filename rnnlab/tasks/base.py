"""The task contract: what a dataset's targets mean to the runner, in one place.

A task says how the model's outputs are scored against a batch's targets (the loss and its
gradient, which steps count), which metrics an evaluation reports and how they add up over
batches, which head the model needs, whether the hidden state carries from batch to batch,
what ``bptt`` means, and whether text sampling applies. The runner asks the task and never
branches on a task's name.

Shapes (time-major; N sequences in a batch, T steps, C classes, K target width):

- outputs: ``(T, N, C)`` for a per-step head, ``(N, C)`` (or ``(N, K)``) for the
  ``last``/``flatten`` heads (``model.head``);
- targets: what the dataset's ``batch`` gives as ``y``, e.g. ``(T, N)`` class ids per step,
  ``(N,)`` class ids or ``(N, K)`` values per sequence;
- mask: None (every target is scored) or a bool array of the targets' shape (one entry per
  target: ``(T, N)`` per step, ``(N,)`` per sequence), True where a target is scored.
"""

from __future__ import annotations

import abc

import numpy as np

#: the head that gives outputs at every step; any other head is the configured ``model.head``
PER_STEP = "per_step"

#: per-batch sums of an evaluation, added up over its batches (``"loss"``, ``"count"``, ...)
Sums = dict[str, float]


class Task(abc.ABC):
    """What a dataset's targets mean. Subclass it and set the attributes that differ.

    Attributes:
        head: ``"per_step"`` (outputs at every step) or None (the head ``model.head``
            configures: ``last`` or ``flatten``, one output per sequence).
        carries_state: True if the final hidden state of a batch starts the next batch of the
            same split (batch i+1 continues the sequences of batch i; it is reset at an epoch
            boundary and at the start of an evaluation); False for a fresh (zero) state for
            every batch, that is for every sequence.
        truncates_within_sequence: True if ``bptt`` truncates the gradient inside a sequence:
            with a per-step head the sequence runs in chunks of ``bptt`` steps, the state
            carried from chunk to chunk with the gradient cut between them (one update per
            batch); with a ``last``/``flatten`` head the gradient reaches back only the last
            ``bptt`` steps. False if ``bptt`` is the number of steps the dataset puts in a batch
            (the gradient stops at the batch boundary); ``bptt`` then shrinks memory.
        samples_text: True if the runner writes text samples from the model (``sample.*``,
            ``rnnlab sample``); the dataset must then have ``encode(text) -> ids`` and
            ``decode(ids) -> text``.
        speed_metric: the name of the training throughput metric (units per second of
            training), counted by ``speed_units``.
    """

    head: str | None = None
    carries_state: bool = False
    truncates_within_sequence: bool = True
    samples_text: bool = False
    speed_metric: str = "speed/seqs_per_s"

    @abc.abstractmethod
    def loss(
        self, outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        """The mean loss over the scored targets and its gradient w.r.t. ``outputs`` (same
        shape as ``outputs``; zero where a target is not scored)."""

    def count(self, targets: np.ndarray, mask: np.ndarray | None) -> int:
        """The number of scored targets: an evaluation weighs a batch's mean loss by it.
        Default: one per sequence (``len(targets)``), or the True entries of ``mask``."""
        return len(targets) if mask is None else int(mask.sum())

    def tally(
        self, outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None, loss: float
    ) -> Sums:
        """Sums over one batch that add up over the batches of an evaluation or a logging
        interval: ``"loss"`` (``loss`` times the count) and ``"count"`` (``count``), plus any
        sum the task's metrics need (e.g. ``"correct"``)."""
        n = self.count(targets, mask)
        return {"loss": loss * n, "count": n}

    @abc.abstractmethod
    def metrics(self, split: str, sums: Sums) -> dict[str, float]:
        """An evaluation's metrics from the added-up ``sums`` of its batches:
        ``<split>/loss`` (``sums["loss"] / sums["count"]``) and the task's own, e.g.
        ``<split>/acc``."""

    def train_metrics(self, loss: float, sums: Sums) -> dict[str, float]:
        """The training metrics beside ``train/loss`` (``loss``, the mean of the batches' mean
        losses since the last log), from the added-up ``sums`` of those batches."""
        return {}

    def speed_units(self, inputs: np.ndarray) -> int:
        """What one training batch of ``inputs`` ``(T, N, ...)`` adds to ``speed_metric``:
        default its N sequences."""
        return int(inputs.shape[1])


def add_sums(total: Sums, sums: Sums) -> None:
    """Add a batch's ``sums`` into ``total`` (in place), key by key."""
    for key, value in sums.items():
        total[key] = total.get(key, 0) + value
