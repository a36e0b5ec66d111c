"""How many threads a job computes on, so that parallel workers do not oversubscribe the cores."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from rnnlab.nn import parallel

log = logging.getLogger("rnnlab")


def job_threads(requested: int, workers: int) -> int:
    """The thread count for this job: ``requested``, or for 0 the cores the job has (all of
    them, or its share when ``workers`` jobs run at once on this machine), lowered so that
    workers x threads does not exceed the cores."""
    cores = os.cpu_count() or 1
    share = max(1, cores // workers)
    if requested == 0:
        return share
    if workers == 1:
        return requested
    if requested > share:
        log.warning(
            "threads=%s lowered to %d: %d parallel workers share %d cores",
            requested,
            share,
            workers,
            cores,
        )
        return share
    return requested


#: the thread count of the job computing in this process (``compute_threads``)
_current = 1


def current_threads() -> int:
    """The thread count the job in this process computes on (1 outside ``compute_threads``)."""
    return _current


@contextmanager
def compute_threads(count: int) -> Iterator[None]:
    """Compute on ``count`` threads: OpenBLAS's, around the engine's single-threaded gate work.

    Measured on a quiet machine (2026-12-01, a default ``rnnlab cell=<c> data=chars`` run,
    H=128, chars/s): with 2 BLAS threads lstm 145k, rnn 443k; with the engine's own
    batch-parallel threads (``rnnlab.nn.parallel``, BLAS on one) 104k and 310k, slower even
    than 1 thread (107k, 385k). So the runner gives its threads to the BLAS; the engine's
    threads stay available from Python (``rnnlab.nn.parallel.set_num_threads``).
    """
    global _current
    before, _current = _current, count
    try:
        with threadpool_limits(limits=count, user_api="blas"):
            yield
    finally:
        _current = before


@contextmanager
def engine_threads(count: int) -> Iterator[None]:
    """Inside ``compute_threads(count)``: the engine's batch-parallel threads on ``count`` and
    every BLAS on one, for a model whose cells ask for it (``Cell.engine_threads``).

    Such a cell (``cell.kernel=numba``) runs each block of rows in one call that holds no
    GIL, so the blocks use every core; a multi-threaded BLAS beside them would oversubscribe
    the cores (and OpenBLAS's idle workers spin for about 0.1 s after each call).
    """
    before = parallel.get_num_threads()
    parallel.set_num_threads(count)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        parallel.set_num_threads(before)
