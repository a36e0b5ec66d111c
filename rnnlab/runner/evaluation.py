"""The loss of a model on a dataset's batches, and a split's metrics, for every task."""

from __future__ import annotations

import numpy as np

from rnnlab.data.base import Dataset
from rnnlab.nn.cell import State
from rnnlab.nn.losses import LN2, mse, softmax_cross_entropy
from rnnlab.nn.model import RecurrentModel


def task_loss(task: str, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, int]:
    """Mean loss, its gradient w.r.t. ``out``, and the count of correct predictions
    (classification; 0 otherwise). ``out``: ``(T, N, V)`` logits ("lm"), ``(N, C)`` logits
    ("classify") or ``(N, K)`` values ("regress")."""
    if task == "lm":
        loss, d = softmax_cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        return loss, d.reshape(out.shape), 0
    if task == "classify":
        loss, d = softmax_cross_entropy(out, y)
        return loss, d, int((out.argmax(axis=1) == y).sum())
    loss, d = mse(out, y)
    return loss, d, 0


def forward(
    model: RecurrentModel, task: str, x: np.ndarray, state: list[State], train: bool, bptt: int
) -> tuple[np.ndarray, list[State]]:
    """``model.forward`` on a batch; gradients flow back ``bptt`` steps within a sequence
    (language models truncate at the chunk boundary instead)."""
    return model.forward(x, state, train=train, bptt=None if task == "lm" else bptt)


def evaluate(
    model: RecurrentModel,
    dataset: Dataset,
    split: str,
    batch_size: int,
    bptt: int,
    max_batches: int = 0,
) -> dict[str, float]:
    """``<split>/loss`` and ``<split>/bpc`` (lm), ``/acc`` (classify) or ``/mse`` (regress) over
    the first ``max_batches`` batches of ``split`` (0: all), state carried across chunks."""
    task = dataset.task
    n = dataset.num_batches(split, batch_size, bptt)
    if max_batches:
        n = min(n, max_batches)
    total, count, correct = 0.0, 0, 0
    state = model.initial_state(batch_size)
    for i in range(n):
        x, y = dataset.batch(split, 0, i, batch_size, bptt)
        if task != "lm":
            state = model.initial_state(len(y))
        out, state = forward(model, task, x, state, False, bptt)
        loss, _, c = task_loss(task, out, y)
        k = y.size if task == "lm" else len(y)
        total, count, correct = total + loss * k, count + k, correct + c
    loss = total / count
    m = {f"{split}/loss": loss}
    if task == "lm":
        m[f"{split}/bpc"] = loss / LN2
    elif task == "classify":
        m[f"{split}/acc"] = correct / count
    else:
        m[f"{split}/mse"] = loss
    return m
