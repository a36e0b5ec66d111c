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
    probs = logits - logits.max(axis=1, keepdims=True)  # shifted logits, then probabilities
    picked = probs[rows, targets]
    np.exp(probs, out=probs)
    total = probs.sum(axis=1)
    loss = float(np.mean(np.log(total) - picked, dtype=np.float64))
    total *= total.dtype.type(m)
    probs *= np.reciprocal(total, out=total)[:, None]  # normalise and average in one pass
    probs[rows, targets] -= probs.dtype.type(1.0 / m)
    return loss, probs


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements of ``pred`` and ``target`` (same shape)."""
    diff = pred - target.reshape(pred.shape).astype(pred.dtype, copy=False)
    loss = float(np.mean(np.square(diff), dtype=np.float64))
    diff *= pred.dtype.type(2.0 / diff.size)
    return loss, diff
