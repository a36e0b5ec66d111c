"""The shared workload (a character LM on tinyshakespeare) and the interleaved timer.

Every implementation trains on the same chunks in the same order: the corpus is
cut into ``N`` contiguous streams, step ``k`` reads characters ``kT .. (k+1)T`` of
every stream and predicts the next ones, and the hidden state carries over from
one chunk to the next (reset when the chunks wrap around).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np
from threadpoolctl import threadpool_limits

from rnnlab.data.chars import default_corpus

CELLS = ("rnn", "lstm", "gru")
#: the engine's kernels per cell: the NumPy engine, and the compiled loops (cell.kernel=numba)
KERNELS = {"rnn": ("numpy",), "lstm": ("numpy", "numba"), "gru": ("numpy", "numba")}
#: after a settling sleep, the seconds of untimed steps before a timed one (``interleaved``)
REWARM_S = 0.1
#: The clipping norm and Adagrad learning rate of every training step benchmarked.
CLIP_NORM, LR = 5.0, 0.1


@dataclass(frozen=True)
class Shape:
    """A char-LM training step: V symbols (embedding width E = V), N streams, T steps, H units."""

    cell: str
    hidden: int
    vocab: int = 96
    batch: int = 32
    steps: int = 64
    #: the engine's kernel (``cell.kernel``): numpy, or numba for the lstm and the gru
    kernel: str = "numpy"

    @property
    def chars_per_step(self) -> int:
        return self.batch * self.steps

    @property
    def label(self) -> str:
        """The cell, and the kernel unless it is NumPy's: ``lstm``, ``lstm (numba)``."""
        return self.cell if self.kernel == "numpy" else f"{self.cell} ({self.kernel})"


def engine_shapes(cells, hiddens, kernels=("numpy", "numba"), **sizes) -> list[Shape]:
    """Every (cell, kernel, H) to measure: each cell with each of its ``kernels``."""
    return [
        Shape(cell, hidden, kernel=kernel, **sizes)
        for cell in cells
        for kernel in KERNELS[cell]
        if kernel in kernels
        for hidden in hiddens
    ]


@cache
def corpus_ids(vocab: int) -> np.ndarray:
    """tinyshakespeare as ids below ``vocab``: printable ASCII from 0, anything else ``vocab - 1``.

    With ``vocab=96`` that is the 95 printable characters plus one id for newline
    and the rest, the vocabulary of a plain-ASCII text file.
    """
    codes = np.frombuffer(default_corpus().encode("utf-32-le"), dtype="<u4").astype(np.int64) - 32
    return np.where((codes >= 0) & (codes < vocab - 1), codes, vocab - 1).astype(np.int32)


class Chunks:
    """The (inputs, targets) chunks of ``shape``, each ``(T, N)`` int32, cycled in order.

    ``ids`` is the token sequence (default ``corpus_ids(shape.vocab)``); ``convert``
    turns the int32 streams into another array type once (e.g. a torch tensor), so
    that no conversion happens per step.
    """

    def __init__(
        self,
        shape: Shape,
        ids: np.ndarray | None = None,
        convert: Callable = lambda streams: streams,
    ):
        ids = corpus_ids(shape.vocab) if ids is None else ids
        length = len(ids) // shape.batch
        streams = ids[: length * shape.batch].reshape(shape.batch, length).T  # (length, N)
        self.shape, self.streams = shape, convert(np.ascontiguousarray(streams))
        self.count = (length - 1) // shape.steps
        self.index = 0

    def next(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """The next ``(inputs, targets, restart)``; ``restart``: the state must start afresh."""
        T, k = self.shape.steps, self.index
        self.index = (k + 1) % self.count
        return self.streams[k * T : (k + 1) * T], self.streams[k * T + 1 : (k + 1) * T + 1], k == 0


@contextmanager
def threads(count: int, kernel: str = "numpy"):
    """Compute on ``count`` threads, as ``rnnlab threads=count`` does: OpenBLAS on ``count``
    threads around the engine's single-threaded gate work
    (``rnnlab.runner.threads.compute_threads``), or for a compiled kernel the engine's
    threads with the BLAS on one (``engine_threads``); and torch (if imported) on ``count``."""
    import sys
    from contextlib import ExitStack

    from rnnlab.runner.threads import compute_threads, engine_threads

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(count)
    try:
        with ExitStack() as stack:
            stack.enter_context(compute_threads(count))
            if kernel != "numpy":
                stack.enter_context(engine_threads(count))
            yield
    finally:
        if torch:
            torch.set_num_threads(before)


@contextmanager
def blas_threads(count: int):
    """numpy's BLAS (alone) on ``count`` threads: for GEMM rates."""
    with threadpool_limits(limits=count, user_api="blas"):
        yield


@dataclass(frozen=True)
class Timing:
    """Seconds of repeated calls: the median, and the spread as a fraction of it.

    ``seconds`` is wall time; ``cpu`` the CPU time of the calling thread over the
    same calls, which is what a 1-thread step costs whatever else the machine runs
    (with more threads it misses the workers' time).
    """

    seconds: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def spread(self) -> float:
        """Interquartile range over the median: above ~0.1 the machine was busy."""
        q1, _, q3 = statistics.quantiles(self.seconds, n=4)
        return (q3 - q1) / self.median

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def interleaved(
    steps: dict[str, Callable[[], object]], repeats: int, warmup: int, settle: float = 0.0
) -> dict[str, Timing]:
    """Time each function ``repeats`` times, in turns (a, b, c, c, b, a, a, ...).

    Interleaving spreads the load of other processes over all contenders
    instead of penalising whichever ran while the machine was busy. ``settle``
    seconds of sleep before each timed call let the worker threads of the
    previous contender's thread pool (OpenBLAS, OpenMP) stop spinning, so that
    they do not steal the cores from the next one; then untimed calls for
    ``REWARM_S``, so that the timed one runs at the pace of a training loop
    (after a sleep, threads that hand work to each other start slowly on this
    VM: the engine's 2-thread LSTM step with the numba kernel took 18-25 ms for
    3-5 steps after a 0.25 s sleep, then 12-14 ms).
    """
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in steps}
    cpu = {name: [] for name in steps}
    names = list(steps)
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            if settle:
                time.sleep(settle)
                until = time.perf_counter() + REWARM_S
                steps[name]()
                while time.perf_counter() < until:
                    steps[name]()
            start, start_cpu = time.perf_counter(), time.thread_time()
            steps[name]()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.thread_time() - start_cpu)
    return {name: Timing(tuple(times[name]), tuple(cpu[name])) for name in steps}
