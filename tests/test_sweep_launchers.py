"""Sweeps beyond one process: joblib, submitit and Ray jobs all report to a real ``mlflow server``.

The server (SQL backend, bound to 127.0.0.1) is the documented way to collect a
sweep whose jobs run on several machines; here every launcher's jobs run in
processes of their own and reach it over HTTP.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests_support import metric_points, rnnlab_command

pytestmark = pytest.mark.slow

JOB = [
    "data=difference",
    "data.train_size=512",
    "data.val_size=128",
    "data.test_size=128",
    "train.steps=40",
    "train.eval_every=20",
    "train.log_every=5",
]
SWEEP_TIMEOUT_S = 300

# A local Ray on loopback only (by default it binds the machine's network address),
# started anew by this sweep, without usage reports or dashboard.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
RAY = [
    "hydra/launcher=ray",
    "hydra.launcher.ray.init.address=local",
    "+hydra.launcher.ray.init.num_cpus=2",
    "+hydra.launcher.ray.init.include_dashboard=false",
]

#: launcher -> (its overrides, the swept overrides, number of jobs, extra environment)
SWEEPS = {
    "joblib": (
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        ["cell=rnn,gru", "model.hidden_size=8,16"],
        4,
        {},
    ),
    "submitit_local": (["hydra/launcher=submitit_local"], ["cell=rnn,gru"], 2, {}),
    "ray": (RAY, ["cell=rnn,gru"], 2, RAY_ENV),
}


@pytest.fixture(scope="module", params=list(SWEEPS))
def sweep(request, tracking_server, tmp_path_factory):
    """One sweep per launcher against the server, in an experiment of its own.

    Returns (client, the parent run, its child runs).
    """
    launcher, swept, jobs, extra_env = SWEEPS[request.param]
    experiment = f"sweep-{request.param}"
    cwd = tmp_path_factory.mktemp(request.param)
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_server, **extra_env}
    proc = subprocess.run(
        [rnnlab_command(), "-m", *launcher, *swept, *JOB, f"tracking.experiment={experiment}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SWEEP_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    client = MlflowClient(tracking_uri=tracking_server)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    [parent] = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 1 + jobs
    return client, parent, children


def test_every_job_finishes_as_a_child_of_the_sweeps_parent(sweep):
    _, parent, children = sweep
    assert parent.info.status == "FINISHED"
    assert len({r.data.tags["rnnlab.overrides"] for r in children}) == len(children)
    assert all(r.info.status == "FINISHED" for r in children)


def test_no_run_lands_in_the_default_experiment(sweep):
    client = sweep[0]
    assert client.search_runs([client.get_experiment_by_name("Default").experiment_id]) == []


def test_every_metric_point_a_job_logged_reaches_the_server(sweep):
    client, _, children = sweep
    for run in children:
        local, remote = metric_points(client, run)
        assert local and local == remote


def test_every_job_carries_the_sweeps_ids_in_its_own_config(sweep):
    """What a job on another machine needs: it sets ``hydra.job.env_set`` itself."""
    _, parent, children = sweep
    for run in children:
        hydra_yaml = Path(run.data.tags["rnnlab.run_dir"]) / ".hydra" / "hydra.yaml"
        env_set = yaml.safe_load(hydra_yaml.read_text())["hydra"]["job"]["env_set"]
        assert env_set["MLFLOW_PARENT_RUN_ID"] == parent.info.run_id
        assert env_set["MLFLOW_EXPERIMENT_ID"] == parent.info.experiment_id
        assert env_set["MLFLOW_TRACKING_URI"].startswith("http://127.0.0.1:")
