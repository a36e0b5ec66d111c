"""Per-step classification (task "classify_steps"): a class at every step of a sequence, some
steps scored (sequence labelling, the copy task)."""

from __future__ import annotations

import numpy as np

from rnnlab.nn.losses import softmax_cross_entropy
from rnnlab.tasks.base import PER_STEP
from rnnlab.tasks.classification import Classification


class StepClassification(Classification):
    """A class target at every step; only the steps the mask marks are scored.

    Outputs ``(T, N, C)`` logits, targets ``(T, N)`` class ids, mask None (every step
    scored) or ``(T, N)`` bool. Every sequence starts from a fresh state; ``bptt`` runs it in
    chunks of ``bptt`` steps with the gradient cut between them. Metrics: ``<split>/loss``
    (nats per scored step) and ``<split>/acc`` (over the scored steps); in training
    ``train/acc``.
    """

    head = PER_STEP

    def loss(
        self, outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        logits = outputs.reshape(-1, outputs.shape[-1])
        rows = np.arange(len(logits)) if mask is None else np.flatnonzero(mask)
        grad = np.zeros_like(logits)
        if not len(rows):  # nothing scored in this chunk: no loss, no gradient
            return 0.0, grad.reshape(outputs.shape)
        loss, grad[rows] = softmax_cross_entropy(logits[rows], targets.reshape(-1)[rows])
        return loss, grad.reshape(outputs.shape)

    def count(self, targets: np.ndarray, mask: np.ndarray | None) -> int:
        return int(targets.size if mask is None else mask.sum())
