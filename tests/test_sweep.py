"""``rnnlab -m``: one parent run per sweep, every job its child in one experiment, a summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests_support import TINY_DIFFERENCE

pytestmark = pytest.mark.slow

TINY = [
    "data=difference",
    "data.train_size=512",
    "data.val_size=128",
    "data.test_size=128",
    "model.hidden_size=16",
    "train.steps=40",
    "train.eval_every=20",
    "train.log_every=10",
]


def runs_by_experiment(tmp_path):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    return client, {
        e.name: client.search_runs([e.experiment_id]) for e in client.search_experiments()
    }


@pytest.fixture(scope="module")
def failing_sweep(tmp_path_factory):
    """A 3-job sweep whose third job has a bad learning rate."""
    import os
    import subprocess

    from tests_support import rnnlab_command

    tmp = tmp_path_factory.mktemp("sweep")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db"}
    proc = subprocess.run(
        [rnnlab_command(), "-m", "cell=rnn,gru", "optimizer.lr=0.1", *TINY],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    bad = subprocess.run(
        [rnnlab_command(), "-m", "cell=rnn,gru", "optimizer.lr=0.1,-2", *TINY],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return tmp, proc, bad


def test_every_job_is_a_child_of_one_parent_in_the_sweeps_experiment(failing_sweep):
    tmp, _, _ = failing_sweep
    _client, runs = runs_by_experiment(tmp)
    assert not runs.get("Default")
    parents = [r for r in runs["rnnlab-difference"] if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 2
    assert len(runs["rnnlab-difference"]) == 2 + 2 + 4


def test_parent_holds_the_summary_and_the_best_job(failing_sweep):
    tmp, proc, _ = failing_sweep
    client, runs = runs_by_experiment(tmp)
    parent = min(
        (r for r in runs["rnnlab-difference"] if "mlflow.parentRunId" not in r.data.tags),
        key=lambda r: r.info.start_time,
    )
    children = [
        r
        for r in runs["rnnlab-difference"]
        if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    ]
    assert parent.info.status == "FINISHED" and len(children) == 2
    best = min(children, key=lambda r: r.data.metrics["val/best_loss"])
    assert parent.data.tags["best_run"] == best.info.run_id
    assert parent.data.tags["best_run_name"] == best.info.run_name
    assert parent.data.metrics["val/best_loss"] == best.data.metrics["val/best_loss"]
    path = client.download_artifacts(parent.info.run_id, "sweep_summary.md", str(tmp))
    table = Path(path).read_text()
    assert table.count("| FINISHED |") == 2
    assert "| 1 | " + best.info.run_name in table
    assert "sweep summary" in proc.stdout and best.info.run_name in proc.stdout


def test_a_failing_job_does_not_stop_the_others_and_fails_the_sweep(failing_sweep):
    tmp, _, bad = failing_sweep
    assert bad.returncode == 1
    assert "2 of 4 jobs did not finish" in bad.stderr
    _client, runs = runs_by_experiment(tmp)
    last = max(
        (r for r in runs["rnnlab-difference"] if "mlflow.parentRunId" not in r.data.tags),
        key=lambda r: r.info.start_time,
    )
    children = [
        r
        for r in runs["rnnlab-difference"]
        if r.data.tags.get("mlflow.parentRunId") == last.info.run_id
    ]
    status = sorted((r.data.tags["rnnlab.overrides"].split()[1], r.info.status) for r in children)
    assert status == [
        ("optimizer.lr=-2", "FAILED"),
        ("optimizer.lr=-2", "FAILED"),
        ("optimizer.lr=0.1", "FINISHED"),
        ("optimizer.lr=0.1", "FINISHED"),
    ]
    failed = [r for r in children if r.info.status == "FAILED"]
    assert all("optimizer.lr=-2.0 is not allowed" in r.data.tags["error"] for r in failed)
    assert last.info.status == "FAILED"


def test_a_run_killed_hard_is_marked_killed_when_the_next_sweep_starts(run_rnnlab, tmp_path):
    import os
    import signal
    import subprocess
    import time

    from tests_support import rnnlab_command

    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}
    victim = subprocess.Popen(
        [
            rnnlab_command(),
            "cell=lstm",
            "data=difference",  # the experiment of the next sweep, which reaps it
            "train.steps=100000",
            "model.hidden_size=16",
            "train.log_every=1",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    deadline = time.monotonic() + 120
    running = []
    while not running and time.monotonic() < deadline:
        time.sleep(0.5)
        experiment = (
            client.get_experiment_by_name("rnnlab-difference")
            if (tmp_path / "mlflow.db").exists()
            else None
        )
        if experiment is not None:
            running = client.search_runs(
                [experiment.experiment_id], "attributes.status = 'RUNNING'"
            )
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert running, "the victim run never appeared in MLflow"
    proc = run_rnnlab("-m", "cell=rnn", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert client.get_run(running[0].info.run_id).info.status == "KILLED"


def test_each_console_line_of_a_parallel_job_carries_its_job_number(run_rnnlab):
    proc = run_rnnlab(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "cell=rnn,gru",
        *TINY_DIFFERENCE,
        "tracking.trackers=[metrics_file]",
    )
    assert proc.returncode == 0, proc.stderr
    job_lines = [ln for ln in proc.stderr.splitlines() if "][HYDRA]" not in ln]
    assert job_lines
    assert all(ln.startswith(("[job 0] ", "[job 1] ")) for ln in job_lines), job_lines
    for job, cell in [(0, "rnn"), (1, "gru")]:
        assert any(
            ln.startswith(f"[job {job}] run directory:") and ln.endswith(f"{job}-{cell}-difference")
            for ln in job_lines
        )
