"""Regression (task "regress"): one real vector per sequence."""

from __future__ import annotations

import numpy as np

from rnnlab.nn.losses import mse
from rnnlab.tasks.base import Sums, Task


class Regression(Task):
    """One target vector per sequence, from the head ``model.head`` configures.

    Outputs ``(N, K)``, targets ``(N, K)`` floats, no mask; the loss is the mean squared
    error over all elements. A fresh state for every batch; the gradient reaches back the
    last ``bptt`` steps. Metrics: ``<split>/loss`` and ``<split>/mse`` (the same number).
    """

    def loss(
        self, outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        return mse(outputs, targets)

    def metrics(self, split: str, sums: Sums) -> dict[str, float]:
        loss = sums["loss"] / sums["count"]
        return {f"{split}/loss": loss, f"{split}/mse": loss}
