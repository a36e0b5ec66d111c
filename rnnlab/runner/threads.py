"""How many BLAS threads a job may use, so that parallel workers do not oversubscribe the cores."""

from __future__ import annotations

import logging
import os

from omegaconf import DictConfig

log = logging.getLogger("rnnlab")


def parallel_workers(hydra_cfg: DictConfig) -> int:
    """Jobs running at once on this machine: the launcher's ``n_jobs`` (joblib), else 1.

    joblib's ``n_jobs=-1`` means one worker per core.
    """
    n_jobs = (hydra_cfg.get("launcher") or {}).get("n_jobs") or 1
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs


def blas_threads(requested: int, hydra_cfg: DictConfig) -> int | None:
    """The BLAS thread limit for this job: ``requested`` (0: the library default, all cores),
    lowered so that workers x threads does not exceed the cores. None leaves the default."""
    cores = os.cpu_count() or 1
    workers = parallel_workers(hydra_cfg)
    if workers == 1:
        return requested or None
    share = max(1, cores // workers)
    if requested == 0 or requested > share:
        log.warning(
            "threads=%s lowered to %d: %d parallel workers share %d cores",
            requested,
            share,
            workers,
            cores,
        )
        return share
    return requested
