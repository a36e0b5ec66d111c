"""Parallel workers share the cores: each job's threads are capped at cores / workers."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from rnnlab.cli import parallel_workers
from rnnlab.runner.threads import job_threads


@pytest.fixture(autouse=True)
def four_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)


def hydra_cfg(**launcher):
    return OmegaConf.create({"launcher": launcher})


def test_a_lone_job_gets_the_threads_it_asks_for():
    assert job_threads(3, workers=1) == 3


def test_a_lone_job_asking_for_zero_gets_every_core():
    assert job_threads(0, workers=1) == 4


def test_parallel_workers_times_threads_never_exceed_the_cores():
    assert job_threads(4, workers=2) == 2
    assert job_threads(0, workers=2) == 2


def test_a_request_within_the_share_is_kept():
    assert job_threads(1, workers=2) == 1


def test_the_workers_are_the_launchers_n_jobs_and_one_without_it():
    assert parallel_workers(hydra_cfg(_target_="basic")) == 1
    assert parallel_workers(hydra_cfg(n_jobs=2)) == 2


def test_n_jobs_minus_one_means_a_worker_per_core():
    assert parallel_workers(hydra_cfg(n_jobs=-1)) == 4
    assert job_threads(2, parallel_workers(hydra_cfg(n_jobs=-1))) == 1


def test_compute_threads_gives_the_blas_the_threads_and_keeps_the_engine_on_one():
    from threadpoolctl import threadpool_info

    from rnnlab.nn import parallel
    from rnnlab.runner.threads import compute_threads, current_threads

    with compute_threads(1):
        assert current_threads() == 1
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    with compute_threads(2):
        assert current_threads() == 2
        assert parallel.get_num_threads() == 1
    assert current_threads() == 1


def test_a_checkpoint_records_the_thread_count_and_a_resume_on_another_says_so(tmp_path, caplog):
    import numpy as np

    from rnnlab.runner.checkpoint import Checkpoint, save_checkpoint
    from rnnlab.runner.threads import compute_threads

    params = {"w": np.ones(3, np.float32)}
    with compute_threads(2):
        save_checkpoint(tmp_path / "last.npz", params, {}, [], {"step": 1})
    ckpt = Checkpoint(tmp_path / "last.npz")
    assert ckpt.meta["threads"] == 2
    with caplog.at_level("WARNING", logger="rnnlab"):
        ckpt.load_into(params)
    (record,) = caplog.records
    assert "resuming on 1 thread(s), the checkpoint's run used 2" in record.getMessage()
    assert "\n" not in record.getMessage()
