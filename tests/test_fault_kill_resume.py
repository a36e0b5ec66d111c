"""Kill and resume: a run killed with SIGKILL mid-way and resumed ends exactly as an
uninterrupted run, in the same MLflow run, with every metric point once."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from rnnlab.runner import checkpoint
from tests_support import PAUSE_PLUGIN, metric_points, rnnlab_command, wait_until_paused

#: checkpoints at steps 10, 20, 30, 40; the kill comes at step 25, five steps after one
COMMON = [
    "cell=gru",
    "data=chars",
    "model.hidden_size=24",
    "bptt=8",
    "train.steps=40",
    "train.eval_every=10",
    "train.log_every=5",
    "train.eval_batches=3",
    "sample.length=10",
    "threads=1",
]


def test_save_checkpoint_fsyncs_the_temp_file_before_the_rename_and_the_folder_after(
    tmp_path, monkeypatch
):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        checkpoint.os,
        "fsync",
        lambda fd: calls.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}"))) or real_fsync(fd),
    )
    monkeypatch.setattr(
        checkpoint.os,
        "replace",
        lambda a, b: calls.append(("replace", os.path.basename(a)[:10])) or real_replace(a, b),
    )

    checkpoint.save_checkpoint(tmp_path / "last.npz", {"w": np.ones(3)}, {}, [], {"step": 1})

    assert calls == [("fsync", False), ("replace", ".last.npz."), ("fsync", True)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]


def test_resume_deletes_leftover_temp_files_and_keeps_the_checkpoints(tmp_path):
    for name in ("last.npz", "best.npz", ".last.npz.abc123.tmp", ".best.npz.x.tmp", "notes.tmp"):
        (tmp_path / name).write_bytes(b"data")

    checkpoint.remove_partial_writes(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "last.npz", "notes.tmp"]


def values(run_dir):
    """(step, metric) -> value from a run's metrics.jsonl, timing metrics left out."""
    return {
        (rec["step"], key): value
        for rec in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
        for key, value in rec["metrics"].items()
        if not key.startswith("speed/")
    }


def mlflow_values(client, run):
    return {
        (m.step, key): m.value
        for key in run.data.metrics
        if not key.startswith("speed/")
        for m in client.get_metric_history(run.info.run_id, key)
    }


#: a plateau schedule that halves the rate at every evaluation after the first (none improves
#: by 50%), and early stopping at step 30 (none improves by 100): both need their state
#: from the checkpoint at step 20 to go on as the uninterrupted run does
SCHEDULE_AND_PATIENCE = [
    "schedule=plateau",
    "schedule.patience=0",
    "schedule.threshold=0.5",
    "train.patience=2",
    "train.min_delta=100",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra", [[], SCHEDULE_AND_PATIENCE], ids=["defaults", "plateau schedule and early stopping"]
)
def test_a_run_killed_mid_way_resumes_to_the_same_parameters_metrics_and_mlflow_run(
    run_rnnlab, tmp_path, plugin_dist, extra
):
    plugin_dist("rnnlab-pause", {"pause": "pause_plugin"}, {"pause_plugin": PAUSE_PLUGIN})
    whole = run_rnnlab(*COMMON, *extra, "hydra.run.dir=whole", "tracking.run_name=whole")
    assert whole.returncode == 0, whole.stderr
    killed_dir = tmp_path / "killed"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "RNNLAB_TEST_PAUSE_AT": "25",
    }
    proc = subprocess.Popen(
        [rnnlab_command(), *COMMON, *extra, "hydra.run.dir=killed", "tracking.run_name=killed"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until_paused(proc, killed_dir, 25)
    # a write of the next checkpoint, cut off by the kill
    last = (killed_dir / "last.npz").read_bytes()
    (killed_dir / ".last.npz.k1ll3d.tmp").write_bytes(last[: len(last) // 2])
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("rnnlab").experiment_id
    [killed] = client.search_runs([experiment], "attributes.run_name = 'killed'")
    assert killed.info.status == "RUNNING"
    assert max(step for step, _ in values(killed_dir)) == 25

    resumed = run_rnnlab(f"resume={killed_dir}")

    assert resumed.returncode == 0, resumed.stderr
    if extra:  # the evaluation at step 20 halved the rate; the one at step 30 stopped the run
        rates = {step: v for (step, key), v in values(killed_dir).items() if key == "lr"}
        assert (rates[20], rates[25], rates[30]) == (0.1, 0.05, 0.05)
        assert max(step for step, _ in values(killed_dir)) == 30
        assert "early stopping at step 30 of 40" in resumed.stderr
    for name in ("last.npz", "best.npz"):
        with np.load(tmp_path / "whole" / name) as a, np.load(killed_dir / name) as b:
            assert a.files == b.files
            for key in a.files:
                if key.startswith(("param/", "optim/")):
                    assert a[key].tobytes() == b[key].tobytes(), (name, key)
    assert values(killed_dir) == values(tmp_path / "whole")
    assert not list(killed_dir.glob(".*.tmp"))

    runs = client.search_runs([experiment])
    assert len(runs) == 2  # the resumed run is the killed one, continued
    [whole_run] = [r for r in runs if r.info.run_name == "whole"]
    [killed_run] = [r for r in runs if r.info.run_name == "killed"]
    assert killed_run.info.run_id == killed.info.run_id
    assert killed_run.info.status == "FINISHED"
    local, remote = metric_points(client, killed_run)
    assert remote == local  # every point once: none missing, none twice
    assert len(remote) == len(metric_points(client, whole_run)[1])
    assert mlflow_values(client, killed_run) == mlflow_values(client, whole_run)
