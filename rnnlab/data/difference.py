"""The two-step difference toy (task "classify").

Each example is two digits ``a, b`` drawn uniformly from 1-9; its label is 1
when ``a - b > 0`` and 0 otherwise (so P(label 1) = 36/81). Inputs are token
ids equal to the digits (vocabulary 10; id 0 never occurs), so the model
embeds them; ``seq_len`` 2, ``output_size`` 2.

The examples are a deterministic function of ``seed``: train is drawn first,
then val, then test, so the train examples depend only on ``seed`` and
``train_size``. Baseline: ``majority_acc``, the val accuracy of always
predicting the most common train label.
"""

from __future__ import annotations

import numpy as np

from rnnlab.data.base import GENERATE_STREAM, SPLITS, DataError, SequenceExamples, seeded_rng


class DifferenceDataset(SequenceExamples):
    """Is the first of two digits larger than the second? Split sizes in examples."""

    task = "classify"
    vocab_size = 10
    output_size = 2

    def __init__(
        self, train_size: int = 8000, val_size: int = 4000, test_size: int = 4000, seed: int = 0
    ):
        sizes = dict(zip(SPLITS, (train_size, val_size, test_size), strict=True))
        for name, size in sizes.items():
            if size < 1:
                raise DataError(f"data.{name}_size is {size}; every split needs at least 1 example")
        rng = seeded_rng(seed, GENERATE_STREAM)
        splits = {}
        for name, size in sizes.items():
            digits = rng.integers(1, 10, size=(size, 2)).astype(np.int32)
            splits[name] = digits, (digits[:, 0] > digits[:, 1]).astype(np.int32)
        super().__init__(splits, seed)
        majority = np.bincount(self.targets["train"], minlength=2).argmax()
        self.baselines = {"majority_acc": float((self.targets["val"] == majority).mean())}
