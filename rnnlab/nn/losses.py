"""Losses over rows: each returns ``(mean loss, gradient w.r.t. the input)``."""

from __future__ import annotations

import math

import numpy as np

from rnnlab.nn import parallel

#: divide a loss in nats by this to get bits
LN2 = math.log(2.0)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy in nats of ``logits`` (M, C) against class ids ``targets`` (M,).

    Returns the loss and its gradient (M, C); the rows are split across the engine's threads.
    """
    m = len(targets)
    probs = np.empty_like(logits)  # shifted logits, then probabilities, then the gradient

    def rows_loss(rows: slice) -> float:
        """The summed loss of the rows ``rows``; their gradient into ``probs``."""
        p, picks = probs[rows], (np.arange(rows.stop - rows.start), targets[rows])
        np.subtract(logits[rows], logits[rows].max(axis=1, keepdims=True), out=p)
        picked = p[picks]
        np.exp(p, out=p)
        total = p.sum(axis=1)
        loss = float(np.sum(np.log(total) - picked, dtype=np.float64))
        total *= total.dtype.type(m)
        p *= np.reciprocal(total, out=total)[:, None]  # normalise and average in one pass
        p[picks] -= p.dtype.type(1.0 / m)
        return loss

    losses = parallel.run_blocks(rows_loss, parallel.blocks(m, logits.shape[1]))
    return sum(losses) / m, probs


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements of ``pred`` and ``target`` (same shape)."""
    diff = pred - target.reshape(pred.shape).astype(pred.dtype, copy=False)
    loss = float(np.mean(np.square(diff), dtype=np.float64))
    diff *= pred.dtype.type(2.0 / diff.size)
    return loss, diff
