"""A new sqlite tracking store used by several runs at once: the first creates it, the others
wait and use it; none fails."""

from __future__ import annotations

import os
import subprocess

import pytest
from mlflow.tracking import MlflowClient

from tests_support import TINY_DIFFERENCE, rnnlab_command, rnnlab_experiment

pytestmark = pytest.mark.slow


def test_runs_started_together_on_a_new_store_all_finish_in_it(tmp_path):
    env = {**os.environ, "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"}
    runs = [
        subprocess.Popen(
            [rnnlab_command(), *TINY_DIFFERENCE, f"seed={seed}", f"hydra.run.dir=run{seed}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(3)
    ]
    errors = [run.communicate(timeout=600)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = rnnlab_experiment(client)
    statuses = [r.info.status for r in client.search_runs([experiment.experiment_id])]
    assert statuses == ["FINISHED"] * 3
    assert [e.name for e in client.search_experiments()] == ["rnnlab-difference", "Default"]
