"""Parallel workers share the cores: each job's BLAS threads are capped at cores / workers."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from rnnlab.runner.threads import blas_threads


@pytest.fixture(autouse=True)
def four_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)


def hydra_cfg(**launcher):
    return OmegaConf.create({"launcher": launcher})


def test_a_lone_job_gets_the_threads_it_asks_for():
    assert blas_threads(3, hydra_cfg(_target_="basic")) == 3


def test_a_lone_job_asking_for_zero_keeps_the_library_default():
    assert blas_threads(0, hydra_cfg()) is None


def test_parallel_workers_times_threads_never_exceed_the_cores():
    assert blas_threads(4, hydra_cfg(n_jobs=2)) == 2
    assert blas_threads(0, hydra_cfg(n_jobs=2)) == 2


def test_a_request_within_the_share_is_kept():
    assert blas_threads(1, hydra_cfg(n_jobs=2)) == 1


def test_n_jobs_minus_one_means_a_worker_per_core():
    assert blas_threads(2, hydra_cfg(n_jobs=-1)) == 1
