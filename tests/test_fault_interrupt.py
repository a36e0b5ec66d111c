"""Ctrl-C or SIGTERM (a scheduler stopping a job): the run ends KILLED with one line naming its
step and how to resume, and the resumed run finishes without the stale error."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from mlflow.tracking import MlflowClient

from tests_support import PAUSE_PLUGIN, rnnlab_command, rnnlab_experiment, wait_until_paused

pytestmark = pytest.mark.slow

#: checkpoints at steps 10 and 20; the signal comes at step 25
COMMON = [
    "cell=gru",
    "data=difference",
    "data.train_size=512",
    "data.val_size=128",
    "data.test_size=128",
    "model.hidden_size=8",
    "train.steps=40",
    "train.eval_every=10",
    "train.log_every=5",
    "hydra.run.dir=stopped",
]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_is_killed_with_one_line_and_resumes_to_finished(
    run_rnnlab, tmp_path, plugin_dist, signum
):
    plugin_dist("rnnlab-pause", {"pause": "pause_plugin"}, {"pause_plugin": PAUSE_PLUGIN})
    store = f"sqlite:///{tmp_path}/mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": store, "RNNLAB_TEST_PAUSE_AT": "25"}
    proc = subprocess.Popen(
        [rnnlab_command(), *COMMON],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_dir = tmp_path / "stopped"
    wait_until_paused(proc, run_dir, 25)
    proc.send_signal(signum)
    stderr = proc.stderr.read()

    assert proc.wait(timeout=120) == 130
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"rnnlab: run interrupted at step 25; rnnlab resume={run_dir} continues from step 20 "
        f"(its last checkpoint)"
    )
    client = MlflowClient(tracking_uri=store)
    [run] = client.search_runs([rnnlab_experiment(client).experiment_id])
    assert run.info.status == "KILLED"
    assert run.data.tags["error"].startswith("run interrupted at step 25")

    resumed = run_rnnlab(f"resume={run_dir}")

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.splitlines()[0] == f"resuming {run_dir} from step 20"
    run = client.get_run(run.info.run_id)
    assert run.info.status == "FINISHED"
    assert "error" not in run.data.tags
