"""The temporal order problem (Hochreiter & Schmidhuber 1997, experiment 6a), task "classify".

A sequence of ``length`` random distractor symbols (ids 0-3) holds two
relevant symbols, each X (id 4) or Y (id 5): the first at a step in
[10%, 20%) of the sequence, the second in [50%, 60%). The class is the order
they came in: XX=0, XY=1, YX=2, YY=3. The class depends on the first symbol,
so a model must carry it over at least 30% of the sequence.

Inputs ``(T, N)`` int32 token ids (vocabulary 6), labels ``(N,)`` int32.
Baseline: ``majority_acc`` on the validation split (about 0.25).
"""

from __future__ import annotations

import numpy as np

from rnnlab.data.base import GENERATE_STREAM, SPLITS, DataError, SequenceExamples, seeded_rng

X, Y = 4, 5


def temporal_order_examples(rng: np.random.Generator, size: int, length: int):
    """``size`` examples: token ids (size, length) and class labels (size,), int32."""
    tokens = rng.integers(0, 4, (size, length)).astype(np.int32)
    first = rng.integers(length // 10, max(length // 5, length // 10 + 1), size)
    second = rng.integers(length // 2, max(length * 3 // 5, length // 2 + 1), size)
    symbols = rng.integers(0, 2, (size, 2))
    rows = np.arange(size)
    tokens[rows, first] = X + symbols[:, 0]
    tokens[rows, second] = X + symbols[:, 1]
    return tokens, (2 * symbols[:, 0] + symbols[:, 1]).astype(np.int32)


class TemporalOrderDataset(SequenceExamples):
    """The temporal order problem over ``length`` steps; split sizes in examples."""

    task = "classify"
    vocab_size = 6
    output_size = 4

    def __init__(
        self,
        length: int = 100,
        train_size: int = 10000,
        val_size: int = 1000,
        test_size: int = 1000,
        seed: int = 0,
    ):
        if length < 10:
            raise DataError(
                f"data.length is {length}; the temporal order problem needs at least 10 steps"
            )
        rng = seeded_rng(seed, GENERATE_STREAM)
        sizes = dict(zip(SPLITS, (train_size, val_size, test_size), strict=True))
        super().__init__(
            {name: temporal_order_examples(rng, n, length) for name, n in sizes.items()}, seed
        )
        majority = np.bincount(self.targets["train"], minlength=4).argmax()
        self.baselines = {"majority_acc": float((self.targets["val"] == majority).mean())}
