"""How many threads a job computes on, so that parallel workers do not oversubscribe the cores."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from omegaconf import DictConfig
from threadpoolctl import threadpool_limits

from rnnlab.nn import parallel

log = logging.getLogger("rnnlab")


def parallel_workers(hydra_cfg: DictConfig) -> int:
    """Jobs running at once on this machine: the launcher's ``n_jobs`` (joblib), else 1.

    joblib's ``n_jobs=-1`` means one worker per core.
    """
    n_jobs = (hydra_cfg.get("launcher") or {}).get("n_jobs") or 1
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs


def job_threads(requested: int, hydra_cfg: DictConfig) -> int:
    """The thread count for this job: ``requested``, or for 0 the cores the job has (all of
    them, or its share when a launcher runs workers in parallel), lowered so that workers x
    threads does not exceed the cores."""
    cores = os.cpu_count() or 1
    workers = parallel_workers(hydra_cfg)
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


@contextmanager
def compute_threads(count: int) -> Iterator[None]:
    """Compute on ``count`` threads: the engine's batch-parallel threads, the BLAS on one.

    The engine splits each chunk's batch across its threads, the gate arithmetic
    included; a threaded BLAS inside them would only compete for the same cores
    (see ``rnnlab.nn.parallel``).
    """
    before = parallel.get_num_threads()
    parallel.set_num_threads(count)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        parallel.set_num_threads(before)
