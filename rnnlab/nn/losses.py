"""Losses over rows: each returns ``(mean loss, gradient w.r.t. the input)``."""

from __future__ import annotations

import math

import numpy as np

#: divide a loss in nats by this to get bits
LN2 = math.log(2.0)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy in nats of ``logits`` (M, C) against class ids ``targets`` (M,)."""
    m = len(targets)
    rows = np.arange(m)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    total = probs.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, targets], dtype=np.float64))
    probs /= total
    probs[rows, targets] -= 1
    probs /= m
    return loss, probs


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements of ``pred`` and ``target`` (same shape)."""
    diff = pred - target.reshape(pred.shape).astype(pred.dtype, copy=False)
    loss = float(np.mean(np.square(diff), dtype=np.float64))
    return loss, diff * pred.dtype.type(2.0 / diff.size)
