"""The copy (memory) task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016), task
"classify_steps".

Each sequence shows ``symbols`` random symbols (ids 1 .. ``alphabet``), then ``delay``
blanks (id 0), then the recall marker (id ``alphabet + 1``), then ``symbols`` more blanks,
during which the model must output the symbols it was shown, in order. Only those recall
steps are scored (the mask); a target is the symbol's class ``id - 1``. The symbols are
random, so a model that remembers nothing scores chance: accuracy ``1 / alphabet`` and a loss
of ``log(alphabet)`` nats per recall step, the baselines. Remembering means carrying the
symbols over ``delay`` steps and more.

Inputs ``(T, N)`` int32 token ids (vocabulary ``alphabet + 2``), targets ``(T, N)`` int32,
mask ``(T, N)`` bool, ``T = 2 * symbols + delay + 1``. Baselines: ``memoryless_acc`` and
``memoryless_loss``.
"""

from __future__ import annotations

import math

import numpy as np

from rnnlab.data.base import GENERATE_STREAM, SPLITS, DataError, SequenceExamples, seeded_rng

BLANK = 0


def copy_examples(
    rng: np.random.Generator, size: int, symbols: int, delay: int, alphabet: int
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` examples: token ids (size, T) and the symbols to recall (size, symbols), int32."""
    shown = rng.integers(1, alphabet + 1, (size, symbols)).astype(np.int32)
    tokens = np.full((size, 2 * symbols + delay + 1), BLANK, np.int32)
    tokens[:, :symbols] = shown
    tokens[:, symbols + delay] = alphabet + 1  # the recall marker
    return tokens, shown


class CopyDataset(SequenceExamples):
    """The copy task: recall ``symbols`` symbols of ``alphabet`` after ``delay`` blanks; split
    sizes in examples."""

    task = "classify_steps"

    def __init__(
        self,
        delay: int = 20,
        symbols: int = 10,
        alphabet: int = 8,
        train_size: int = 10000,
        val_size: int = 1000,
        test_size: int = 1000,
        seed: int = 0,
    ):
        if symbols < 1 or alphabet < 2 or delay < 0:
            raise DataError(
                f"the copy task needs data.symbols >= 1, data.alphabet >= 2 and data.delay >= 0; "
                f"got {symbols}, {alphabet} and {delay}"
            )
        rng = seeded_rng(seed, GENERATE_STREAM)
        sizes = dict(zip(SPLITS, (train_size, val_size, test_size), strict=True))
        super().__init__(
            {name: copy_examples(rng, n, symbols, delay, alphabet) for name, n in sizes.items()},
            seed,
        )
        self.vocab_size, self.output_size, self.symbols = alphabet + 2, alphabet, symbols
        #: (T, 1): True at the recall steps, the last ``symbols``
        self.recall = np.zeros((2 * symbols + delay + 1, 1), np.bool_)
        self.recall[-symbols:] = True
        self.baselines = {"memoryless_acc": 1 / alphabet, "memoryless_loss": math.log(alphabet)}

    def batch(
        self, split: str, epoch: int, index: int, batch_size: int, bptt: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, mask)``, each ``(T, N)``: y holds the classes of the shown symbols at the
        recall steps (0 elsewhere), mask is True at the recall steps."""
        picked = self.examples(split, epoch, index, batch_size, bptt)
        x, shown = self.inputs[split][:, picked], self.targets[split][picked]
        y = np.zeros(x.shape, np.int32)
        y[-self.symbols :] = shown.T - 1
        return x, y, np.broadcast_to(self.recall, x.shape)
