"""Batch-parallel execution: a chunk's independent rows split across threads.

The recurrence couples the steps of one sequence, never two sequences of a
batch, so each thread can run the whole time loop (its rows' recurrent GEMM and
gate arithmetic) for a contiguous block of the batch, with one join per chunk.
numpy releases the GIL in GEMMs and ufunc loops, so the elementwise work, which
a threaded BLAS leaves on one core, uses every thread. The chunk-level GEMMs
(weight gradients, the head) are split by output rows the same way.

With more than one thread here, limit the BLAS to one thread (threadpoolctl's
``threadpool_limits(1)``; the runner does): a threaded BLAS called from several
threads at once serialises its calls and spins its own workers on the same cores.
"""

from __future__ import annotations

import contextvars
import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

R = TypeVar("R")

_threads = 1
_pool: ThreadPoolExecutor | None = None
#: below this much work (multiply-adds, or elements of an elementwise pass) a job is not worth
#: splitting: a thread hand-off costs about 20 us
MIN_SPLIT_WORK = 1 << 17


def set_num_threads(count: int) -> None:
    """Run the engine's batch loops and large GEMMs on ``count`` threads (1: the caller's only)."""
    global _threads, _pool
    if count < 1:
        raise ValueError(f"thread count must be at least 1, got {count}")
    if count != _threads and _pool is not None:
        _pool.shutdown()
        _pool = None
    _threads = count


def get_num_threads() -> int:
    """The engine's thread count (see ``set_num_threads``)."""
    return _threads


def _forget_pool() -> None:
    global _pool
    _pool = None  # a forked child has none of the parent's worker threads


os.register_at_fork(after_in_child=_forget_pool)


def row_blocks(rows: int, parts: int | None = None) -> list[slice]:
    """``rows`` cut into ``parts`` (default: the thread count) contiguous, near-equal slices."""
    parts = max(1, min(parts or _threads, rows))
    bounds = [rows * k // parts for k in range(parts + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def blocks(rows: int, work_per_row: int) -> list[slice]:
    """``row_blocks(rows)``, or one block when the whole job is too small to split."""
    return row_blocks(rows) if rows * work_per_row >= MIN_SPLIT_WORK else [slice(0, rows)]


def run_blocks(fn: Callable[[slice], R], blocks: list[slice]) -> list[R]:
    """``[fn(b) for b in blocks]``: the first block in the calling thread, the others in the pool.

    Each block runs in a copy of the caller's context, so ``np.errstate`` (a context
    variable) applies to the pool's threads as it does to the caller's.
    """
    global _pool
    if len(blocks) == 1:
        return [fn(blocks[0])]
    if _pool is None:
        _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="rnnlab-nn")
    futures = [_pool.submit(contextvars.copy_context().run, fn, b) for b in blocks[1:]]
    first = fn(blocks[0])
    return [first] + [f.result() for f in futures]


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` (M, P) for ``a`` (M, K) and ``b`` (K, P), the rows split across the threads."""
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    run_blocks(
        lambda rows: np.matmul(a[rows], b, out=out[rows]), blocks(len(a), a.shape[1] * b.shape[1])
    )
    return out
