"""Classification (task "classify"): one class per sequence."""

from __future__ import annotations

import numpy as np

from rnnlab.nn.losses import softmax_cross_entropy
from rnnlab.tasks.base import Sums, Task


class Classification(Task):
    """One class per sequence, from the head ``model.head`` configures (last step, or every
    step's hidden state flattened).

    Outputs ``(N, C)`` logits, targets ``(N,)`` class ids, no mask. A fresh state for every
    batch; the gradient reaches back the last ``bptt`` steps. Metrics: ``<split>/loss``
    (nats) and ``<split>/acc``; in training ``train/acc``.
    """

    def loss(
        self, outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        return softmax_cross_entropy(outputs, targets)

    def tally(
        self, outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None, loss: float
    ) -> Sums:
        return {**super().tally(outputs, targets, mask, loss), **correct(outputs, targets, mask)}

    def metrics(self, split: str, sums: Sums) -> dict[str, float]:
        return {f"{split}/loss": sums["loss"] / sums["count"], **accuracy(split, sums)}

    def train_metrics(self, loss: float, sums: Sums) -> dict[str, float]:
        return accuracy("train", sums)


def correct(outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None) -> Sums:
    """``{"correct": k}``: the scored targets whose class has the largest output."""
    hits = outputs.argmax(axis=-1) == targets
    return {"correct": int((hits if mask is None else hits & mask).sum())}


def accuracy(split: str, sums: Sums) -> dict[str, float]:
    """``{"<split>/acc": correct / count}``."""
    return {f"{split}/acc": sums["correct"] / sums["count"]}
