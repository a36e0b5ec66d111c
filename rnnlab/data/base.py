"""The dataset contract the runner relies on, and the two batching schemes that implement it.

A dataset has three fixed splits, "train", "val" and "test", and hands out
batches by position: ``batch(split, epoch, index, batch_size, bptt)`` is a pure
function of its arguments and the dataset's seed. There is no iterator state,
so a run resumes from ``(epoch, index)`` exactly.

Arrays are time-major; rnnlab's datasets give token ids and class labels as
int32 in batches (a token sequence is held in the smallest unsigned type for its
vocabulary, see ``id_dtype``). Batches may be read-only views of the dataset's arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.tasks import Task

SPLITS = ("train", "val", "test")

#: ``seeded_rng(seed, SHUFFLE_STREAM, epoch)`` orders the train split in ``epoch``
SHUFFLE_STREAM = 0
#: ``seeded_rng(seed, GENERATE_STREAM)`` draws the examples of a synthetic dataset
GENERATE_STREAM = 1


class DataError(RnnlabError, ValueError):
    """The data or a data option cannot be used; the message names the problem and the fix."""


def seeded_rng(seed: int, *stream: int) -> np.random.Generator:
    """The generator of ``stream`` under ``seed``.

    Distinct streams are independent of each other and of ``default_rng(seed)``
    (they are ``SeedSequence`` children with spawn key ``stream``).
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=stream))


def id_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned integer type that holds the ids ``0 .. vocab_size - 1``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def read_only(array: np.ndarray) -> np.ndarray:
    """A contiguous, read-only copy of ``array`` (batches are views of it)."""
    copy = np.array(array, order="C")
    copy.flags.writeable = False
    return copy


def check_request(split: str, batch_size: int, bptt: int) -> None:
    """Raise ValueError for an unknown split or a non-positive batch size or bptt."""
    if split not in SPLITS:
        raise ValueError(f"unknown split '{split}'; use one of {', '.join(SPLITS)}")
    if batch_size < 1 or bptt < 1:
        raise ValueError(f"batch_size and bptt must be >= 1, got {batch_size} and {bptt}")


def check_index(split: str, index: int, count: int) -> None:
    if not 0 <= index < count:
        raise IndexError(f"batch {index} of split '{split}' does not exist; it has {count}")


#: what ``Dataset.batch`` returns: ``(x, y)``, or ``(x, y, mask)`` to score only some targets
Batch = tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]


def unpack(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x, y, mask)`` of a batch; mask None when the dataset gave ``(x, y)``."""
    if len(batch) == 3:
        return batch[0], batch[1], batch[2]
    x, y = batch[0], batch[1]
    return x, y, None


class DataShape(Protocol):
    """What a model is built from: the task and sizes of a ``Dataset`` (see there)."""

    @property
    def task(self) -> str | Task: ...
    @property
    def vocab_size(self) -> int | None: ...
    @property
    def input_size(self) -> int | None: ...
    @property
    def output_size(self) -> int: ...
    @property
    def seq_len(self) -> int | None: ...


class Dataset:
    """What the runner needs from a dataset (a plugin's ``build(config, seed)`` returns one).

    Subclass it and implement ``num_batches`` and ``batch``; rnnlab checks before a run
    starts that a dataset has every method and attribute below and names what it lacks.

    Attributes:
        task: what the targets mean (``rnnlab.tasks.Task``): the name of a registered task
            ("lm": the next token at every step; "classify": one class per sequence;
            "regress": one real vector per sequence; "classify_steps": a class at every step,
            some steps scored) or a Task object of the dataset's own.
        vocab_size: the number of token ids, for token inputs (the model embeds
            them); None for dense inputs.
        input_size: the width D of dense float inputs; None for token inputs.
        output_size: the number of classes ("classify", "classify_steps"), the vocabulary
            size ("lm") or the target width ("regress").
        seq_len: the fixed sequence length T when a batch holds whole sequences; None when
            a batch holds ``bptt``-step pieces of long streams ("lm").
        baselines: named reference numbers on the validation split to read a
            model's result against, each key ending in the metric it compares with
            (``{"unigram_bpc": 4.9}``, ``{"majority_acc": 0.56}``); logged as ``data/<key>``.

    A task that writes text samples ("lm") also needs ``encode(text) -> ids`` and
    ``decode(ids) -> text``.
    """

    task: str | Task
    vocab_size: int | None = None
    input_size: int | None = None
    output_size: int
    seq_len: int | None = None
    baselines: Mapping[str, float] = MappingProxyType({})

    def num_batches(self, split: str, batch_size: int, bptt: int) -> int:
        """The number of batches one pass over ``split`` gives."""
        raise NotImplementedError

    def batch(self, split: str, epoch: int, index: int, batch_size: int, bptt: int) -> Batch:
        """Batch ``index`` (``0 <= index < num_batches``) of ``split`` in ``epoch``:
        ``(x, y)`` or ``(x, y, mask)``.

        x: ``(T, N)`` int token ids or ``(T, N, D)`` floats; y: the targets in the task's
        shape (``(T, N)`` per step, ``(N,)`` or ``(N, K)`` per sequence); mask (optional): a
        bool array of the targets' shape, True where a target is scored.
        """
        raise NotImplementedError


class TokenStreams(Dataset):
    """Language modelling on one token sequence per split (task "lm").

    For a batch size N, a split of ``L*N + r`` tokens is cut into N contiguous
    streams, an ``(L, N)`` view of the split whose column j is tokens
    ``[j*L, (j+1)*L)``; the last ``r < N`` tokens are not used. Batch i is
    ``x = streams[i*bptt : i*bptt + T]`` and ``y = streams[i*bptt + 1 : i*bptt + T + 1]``,
    both ``(T, N)`` int32 copies, with ``T = bptt`` except in the last batch, which
    takes the ``T <= bptt`` steps left, so a pass reaches the end of every stream.
    Column j of batch i+1 continues column j of batch i: the runner carries the
    hidden state across batches and resets it at an epoch boundary. There is no
    shuffling; every epoch is the same. The splits are held once, in the smallest
    type for the vocabulary (``id_dtype``): no copy per batch size.

    Every split must hold at least ``N * (bptt + 1)`` tokens, one full chunk per
    stream; a shorter one raises DataError when batches are first asked for.
    """

    task = "lm"

    def __init__(self, splits: Mapping[str, np.ndarray], vocab_size: int, source: str):
        """``splits``: token ids below ``vocab_size`` per split (kept as they are when in
        ``id_dtype(vocab_size)``); ``source`` names the data in error messages."""
        self.splits = {
            name: np.asarray(splits[name], dtype=id_dtype(vocab_size)) for name in SPLITS
        }
        self.vocab_size = self.output_size = vocab_size
        self.source = source

    def streams(self, split: str, batch_size: int, bptt: int) -> np.ndarray:
        """The ``(L, N)`` stream view of ``split`` for ``N = batch_size``."""
        check_request(split, batch_size, bptt)
        for name, ids in self.splits.items():
            need = batch_size * (bptt + 1)
            if len(ids) < need:
                raise DataError(
                    f"the {name} split of {self.source} has {len(ids)} tokens, fewer than "
                    f"batch_size {batch_size} x (bptt {bptt} + 1) = {need} (one chunk per "
                    f"stream); use a longer text, or lower train.batch_size or bptt"
                )
        ids = self.splits[split]
        length = len(ids) // batch_size
        return ids[: length * batch_size].reshape(batch_size, length).T

    def num_batches(self, split: str, batch_size: int, bptt: int) -> int:
        steps = len(self.streams(split, batch_size, bptt)) - 1  # the last token is only a target
        return -(-steps // bptt)

    def batch(
        self, split: str, epoch: int, index: int, batch_size: int, bptt: int
    ) -> tuple[np.ndarray, np.ndarray]:
        streams = self.streams(split, batch_size, bptt)
        check_index(split, index, self.num_batches(split, batch_size, bptt))
        start = index * bptt
        stop = min(start + bptt, len(streams) - 1)
        return streams[start:stop].astype(np.int32), streams[start + 1 : stop + 1].astype(np.int32)


class SequenceExamples(Dataset):
    """Fixed-length sequences with one target each (task "classify" or "regress").

    Batches: x ``(T, N)`` int32 token ids or ``(T, N, D)`` floats; y ``(N,)``
    int32 class ids or ``(N, K)`` floats. ``bptt`` does not change batching
    (the model truncates the gradient).

    - train: a fresh order every epoch, a deterministic function of
      ``(seed, epoch)``; the last partial batch is dropped, so every training
      step sees exactly ``batch_size`` examples (the few left out differ from
      epoch to epoch). The train split must hold at least ``batch_size`` examples.
    - val, test: the stored order in every epoch, the last partial batch kept,
      so one pass covers every example exactly once.
    """

    def __init__(self, splits: Mapping[str, tuple[np.ndarray, np.ndarray]], seed: int):
        """``splits``: per split, inputs ``(M, T)`` or ``(M, T, D)`` and targets ``(M, ...)``."""
        self.inputs = {name: read_only(np.swapaxes(splits[name][0], 0, 1)) for name in SPLITS}
        self.targets = {name: read_only(splits[name][1]) for name in SPLITS}
        self.seq_len = self.inputs["train"].shape[0]
        self.seed = seed
        self._order: tuple[int, np.ndarray] | None = None

    def size(self, split: str) -> int:
        """The number of examples in ``split``."""
        return len(self.targets[split])

    def num_batches(self, split: str, batch_size: int, bptt: int) -> int:
        check_request(split, batch_size, bptt)
        if split != "train":
            return -(-self.size(split) // batch_size)
        if self.size("train") < batch_size:
            raise DataError(
                f"the train split has {self.size('train')} examples, fewer than one batch of "
                f"{batch_size}; lower train.batch_size or use more training examples"
            )
        return self.size("train") // batch_size

    def train_order(self, epoch: int) -> np.ndarray:
        """The permutation of the train examples used in ``epoch``."""
        if self._order is None or self._order[0] != epoch:
            rng = seeded_rng(self.seed, SHUFFLE_STREAM, epoch)
            self._order = (epoch, rng.permutation(self.size("train")))
        return self._order[1]

    def examples(
        self, split: str, epoch: int, index: int, batch_size: int, bptt: int
    ) -> np.ndarray | slice:
        """Which examples of ``split`` batch ``index`` in ``epoch`` holds (indices or a slice)."""
        check_index(split, index, self.num_batches(split, batch_size, bptt))
        rows = slice(index * batch_size, (index + 1) * batch_size)
        return self.train_order(epoch)[rows] if split == "train" else rows

    def batch(self, split: str, epoch: int, index: int, batch_size: int, bptt: int) -> Batch:
        picked = self.examples(split, epoch, index, batch_size, bptt)
        return self.inputs[split][:, picked], self.targets[split][picked]
