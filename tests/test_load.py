"""Load: 16 tiny jobs, 4 at a time, against a brand-new sqlite store and against a real
``mlflow server``: every run arrives FINISHED in the sweep's experiment and every metric
point a job wrote to its local metrics.jsonl is in MLflow."""

from __future__ import annotations

import os
import subprocess

import pytest
from mlflow.tracking import MlflowClient

from tests_support import metric_points, rnnlab_command

pytestmark = pytest.mark.slow

#: 2 cells x 2 sizes x 4 seeds = 16 jobs, 4 workers
SWEEP = [
    "-m",
    "hydra/launcher=joblib",
    "hydra.launcher.n_jobs=4",
    "cell=rnn,gru",
    "model.hidden_size=8,16",
    "seed=0,1,2,3",
    "data=difference",
    "data.train_size=256",
    "data.val_size=64",
    "data.test_size=64",
    "train.steps=30",
    "train.eval_every=15",
    "train.log_every=3",
    "tracking.experiment=load",
]
JOBS = 16


@pytest.fixture(params=["sqlite", "server"])
def store(request, tmp_path):
    """A tracking URI nothing has used yet: a new sqlite file, or a new server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/mlflow.db"
    return request.getfixturevalue("tracking_server")


def test_sixteen_parallel_jobs_lose_no_run_and_no_metric_point(store, tmp_path):
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    proc = subprocess.run(
        [rnnlab_command(), *SWEEP],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("load")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    [parent] = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 1 + JOBS and len(children) == JOBS
    assert parent.info.status == "FINISHED"
    assert all(r.info.status == "FINISHED" for r in children)
    assert len({r.data.tags["rnnlab.overrides"] for r in children}) == JOBS
    default = client.get_experiment_by_name("Default")
    assert default is None or client.search_runs([default.experiment_id]) == []
    for run in children:
        local, remote = metric_points(client, run)
        assert len(local) > 100 and local == remote
