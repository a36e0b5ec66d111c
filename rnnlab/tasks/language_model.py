"""Language modelling (task "lm"): predict the next token at every step of long streams."""

from __future__ import annotations

import numpy as np

from rnnlab.nn.losses import LN2, softmax_cross_entropy
from rnnlab.tasks.base import PER_STEP, Sums, Task


class LanguageModel(Task):
    """Next-token prediction on streams cut into ``bptt``-step batches.

    Outputs ``(T, N, V)`` logits, targets ``(T, N)`` token ids, no mask. The state carries
    from batch to batch (the streams continue); the gradient stops at the batch boundary.
    Metrics: ``<split>/loss`` (nats per token) and ``<split>/bpc`` (bits per token); in
    training ``train/bpc`` and ``speed/chars_per_s``. Text samples are written.
    """

    head = PER_STEP
    carries_state = True
    truncates_within_sequence = False
    samples_text = True
    speed_metric = "speed/chars_per_s"

    def loss(
        self, outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        loss, d = softmax_cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1))
        return loss, d.reshape(outputs.shape)

    def count(self, targets: np.ndarray, mask: np.ndarray | None) -> int:
        return int(targets.size)

    def metrics(self, split: str, sums: Sums) -> dict[str, float]:
        loss = sums["loss"] / sums["count"]
        return {f"{split}/loss": loss, f"{split}/bpc": loss / LN2}

    def train_metrics(self, loss: float, sums: Sums) -> dict[str, float]:
        return {"train/bpc": loss / LN2}

    def speed_units(self, inputs: np.ndarray) -> int:
        return int(inputs.shape[0] * inputs.shape[1])
