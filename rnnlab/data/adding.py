"""The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015), task "regress".

Each example is ``length`` steps of two channels: a value drawn uniformly
from [0, 1], and a marker that is 1 at exactly two steps (one in each half of
the sequence) and 0 elsewhere. The target is the sum of the two marked
values. Always predicting 1 scores an MSE of about 0.167 (1/6): the baseline
a model must beat, and one it can beat only by carrying the first marked
value across at least ``length / 2`` steps.

Inputs ``(T, N, 2)`` float32, targets ``(N, 1)`` float32. Baselines on the
validation split: ``predict_one_mse`` and ``predict_mean_mse``.
"""

from __future__ import annotations

import numpy as np

from rnnlab.data.base import GENERATE_STREAM, SPLITS, DataError, SequenceExamples, seeded_rng


def adding_examples(rng: np.random.Generator, size: int, length: int):
    """``size`` examples: inputs (size, length, 2) and targets (size, 1), float32."""
    values = rng.random((size, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, size)
    second = rng.integers(half, length, size)
    markers = np.zeros((size, length), np.float32)
    rows = np.arange(size)
    markers[rows, first] = 1
    markers[rows, second] = 1
    targets = (values[rows, first] + values[rows, second])[:, None]
    return np.stack([values, markers], axis=2), targets


class AddingDataset(SequenceExamples):
    """The adding problem with sequences of ``length`` steps; split sizes in examples."""

    task = "regress"
    input_size = 2
    output_size = 1

    def __init__(
        self,
        length: int = 100,
        train_size: int = 10000,
        val_size: int = 1000,
        test_size: int = 1000,
        seed: int = 0,
    ):
        if length < 2:
            raise DataError(f"data.length is {length}; the adding problem needs at least 2 steps")
        rng = seeded_rng(seed, GENERATE_STREAM)
        sizes = dict(zip(SPLITS, (train_size, val_size, test_size), strict=True))
        super().__init__({name: adding_examples(rng, n, length) for name, n in sizes.items()}, seed)
        val = self.targets["val"]
        self.baselines = {
            "predict_one_mse": float(np.mean((val - 1.0) ** 2)),
            "predict_mean_mse": float(np.var(val)),
        }
