"""Sweeps tell the truth: a failed job fails the sweep whatever the launcher and trackers, a
store that cannot be used stops it before any job, and killing it stops its workers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from rnnlab.mlflow_plugin.store import open_client
from rnnlab.processes import process_alive
from tests_support import (
    TINY_DIFFERENCE,
    as_user_bound_by_permissions,
    read_only_folder,
    rnnlab_command,
)

pytestmark = pytest.mark.slow

#: generous: MLflow alone retries a store it cannot open for about 100 s
STORE_ERROR_WITHIN_S = 60
#: how long the jobs of a killed sweep may go on
WORKERS_STOP_WITHIN_S = 30


def error_lines(proc) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("rnnlab: error: ")]


def test_a_sweep_without_mlflow_exits_1_when_a_job_fails(run_rnnlab, tmp_path):
    proc = run_rnnlab(
        "-m", "optimizer.lr=0.1,-2", *TINY_DIFFERENCE, "tracking.trackers=[metrics_file]"
    )
    assert proc.returncode == 1, proc.stderr
    assert error_lines(proc)[-1] == (
        "rnnlab: error: the sweep has 1 failed job: job 1 "
        f"[optimizer.lr=-2 {' '.join(TINY_DIFFERENCE)} tracking.trackers=[metrics_file]]"
    )
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("multirun/*/*/.rnnlab")), "the failure records are left"


def test_a_sweep_without_failures_exits_0_and_leaves_no_records(run_rnnlab, tmp_path):
    proc = run_rnnlab("-m", "seed=1,2", *TINY_DIFFERENCE, "tracking.trackers=[metrics_file]")
    assert proc.returncode == 0, proc.stderr
    assert not error_lines(proc)
    assert not list(tmp_path.glob("multirun/*/*/.rnnlab"))


def assert_stopped_before_any_job(proc, started: float, sweep_dir: Path, *fragments: str):
    assert time.monotonic() - started < STORE_ERROR_WITHIN_S
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rnnlab: error: ")
    assert all(f in lines[0] for f in fragments), lines[0]
    assert not sweep_dir.exists() or not list(sweep_dir.iterdir()), "a job ran"


def test_a_store_that_is_not_a_database_stops_the_sweep_before_any_job(run_rnnlab, tmp_path):
    store = tmp_path / "mlflow.db"
    store.write_bytes(bytes(range(256)) * 64)
    started = time.monotonic()
    proc = run_rnnlab("-m", "optimizer.lr=0.1,-2", *TINY_DIFFERENCE, "hydra.sweep.dir=sweep")
    assert_stopped_before_any_job(
        proc, started, tmp_path / "sweep", "cannot be read (file is not a database)"
    )
    assert store.read_bytes() == bytes(range(256)) * 64


def test_the_default_store_in_a_read_only_folder_stops_the_sweep_before_any_job(tmp_path):
    locked = read_only_folder(tmp_path / "locked")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    started = time.monotonic()
    proc = subprocess.run(
        [rnnlab_command(), "-m", "seed=1,2", *TINY_DIFFERENCE, f"hydra.sweep.dir={tmp_path}/sweep"],
        cwd=locked,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=as_user_bound_by_permissions,
    )
    assert_stopped_before_any_job(
        proc, started, tmp_path / "sweep", f"cannot create MLflow tracking store sqlite:///{locked}"
    )


# ------------------------------------------------------------------ a sweep killed


def running_children(store: Path, count: int, proc, log: Path) -> list:
    """Wait until ``count`` jobs of the sweep ``proc`` train (their MLflow runs are RUNNING)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the sweep ended early: {log.read_text()[-3000:]}"
        time.sleep(0.5)
        if not store.exists():
            continue
        client = open_client(f"sqlite:///{store}", create=False)  # waits while it is created
        experiment = client.get_experiment_by_name("rnnlab")
        if experiment is not None:
            runs = client.search_runs(
                [experiment.experiment_id],
                "tags.mlflow.parentRunId LIKE '%' and attributes.status = 'RUNNING'",
            )
            if len(runs) == count:
                return runs
    raise AssertionError(f"{count} jobs did not start: {log.read_text()[-3000:]}")


@pytest.mark.parametrize("how", ["SIGKILL", "Ctrl-C"])
def test_killing_a_joblib_sweep_stops_its_workers_and_ends_their_runs(run_rnnlab, tmp_path, how):
    store, log = tmp_path / "mlflow.db", tmp_path / "sweep.log"
    sweep = subprocess.Popen(
        [
            rnnlab_command(),
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "seed=1,2",
            *TINY_DIFFERENCE,
            "train.steps=1000000",
        ],
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}"},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,  # Ctrl-C signals the terminal's whole process group
    )
    try:
        children = running_children(store, 2, sweep, log)
    finally:
        if how == "SIGKILL":
            sweep.kill()
        else:
            os.killpg(sweep.pid, signal.SIGINT)
        sweep.wait(timeout=120)
    workers = [run.data.tags["rnnlab.pid"] for run in children]
    deadline = time.monotonic() + WORKERS_STOP_WITHIN_S
    while any(map(process_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [pid for pid in workers if process_alive(pid)]
    for pid in alive:  # leave nothing behind, then fail
        os.kill(int(pid), signal.SIGKILL)
    assert not alive, f"workers {alive} still run {WORKERS_STOP_WITHIN_S} s after the {how}"

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    [parent] = {r.data.tags["mlflow.parentRunId"] for r in children}
    if how == "Ctrl-C":  # the sweep's process ends its parent run itself
        assert client.get_run(parent).info.status == "KILLED"
    assert run_rnnlab(*TINY_DIFFERENCE).returncode == 0  # opens the store again
    runs = client.search_runs([client.get_experiment_by_name("rnnlab").experiment_id])
    statuses = {r.info.run_id: r.info.status for r in runs}
    assert statuses[parent] == "KILLED"
    assert [statuses[r.info.run_id] for r in children] == ["KILLED", "KILLED"]
