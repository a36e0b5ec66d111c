"""Kill and resume: a run killed with SIGKILL while it writes a checkpoint, resumed, ends exactly
as an uninterrupted run, in the same MLflow run, with every metric point once."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from rnnlab import files
from rnnlab.runner import checkpoint
from tests_support import metric_points, start_rnnlab

#: checkpoints at steps 2, 4 and 6 of ~17 MB each (float64 parameters and Adagrad sums of a
#: wide LSTM): a write takes long enough (~0.1 s) for the kill to land in the middle of it;
#: the steps themselves are cheap (batch 2, bptt 4, a 10-letter alphabet)
COMMON = [
    "cell=lstm",
    "data=chars",
    "data.path=text.txt",
    "model.hidden_size=512",
    "dtype=float64",
    "bptt=4",
    "train.batch_size=2",
    "train.steps=6",
    "train.eval_every=2",
    "train.log_every=1",
    "train.eval_batches=1",
    "sample.length=5",
    "threads=1",
]
#: a plateau schedule that halves the rate at every evaluation after the first (none improves
#: by 90%), and early stopping at step 6 of 8 (none improves by 100): both need their state
#: from the checkpoint at step 2 to go on as the uninterrupted run does
SCHEDULE_AND_PATIENCE = [
    "train.steps=8",
    "schedule=plateau",
    "schedule.factor=0.5",
    "schedule.patience=0",
    "schedule.threshold=0.9",
    "train.patience=2",
    "train.min_delta=100",
]


def test_save_checkpoint_fsyncs_the_temp_file_before_the_rename_and_the_folder_after(
    tmp_path, monkeypatch
):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        files.os,  # the checkpoint is written with rnnlab.files.write_atomically, durable
        "fsync",
        lambda fd: calls.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}"))) or real_fsync(fd),
    )
    monkeypatch.setattr(
        files.os,
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


def kill_during_the_second_write_of_last(proc, run_dir, timeout: float = 600) -> Path:
    """SIGKILL ``proc`` as soon as it writes ``last.npz`` over an existing one (the checkpoint
    of step 4), while the temp file is open; returns that temp file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before the kill: {proc.stderr.read()}"
        temps = list(run_dir.glob(".last.npz.*.tmp"))
        if temps and (run_dir / "last.npz").is_file():
            proc.send_signal(signal.SIGKILL)
            return temps[0]
        time.sleep(0.001)
    raise AssertionError("the run did not write its second checkpoint")


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra", [[], SCHEDULE_AND_PATIENCE], ids=["defaults", "plateau schedule and early stopping"]
)
def test_a_run_killed_while_writing_a_checkpoint_resumes_to_the_same_parameters_and_metrics(
    run_rnnlab, tmp_path, extra
):
    (tmp_path / "text.txt").write_text(
        "".join(np.random.default_rng(0).choice(list("abcdefgh \n"), 3000))
    )
    whole = run_rnnlab(*COMMON, *extra, "hydra.run.dir=whole", "tracking.run_name=whole")
    assert whole.returncode == 0, whole.stderr
    killed_dir = tmp_path / "killed"
    proc = start_rnnlab(
        tmp_path, *COMMON, *extra, "hydra.run.dir=killed", "tracking.run_name=killed"
    )
    temp = kill_during_the_second_write_of_last(proc, killed_dir)
    assert proc.wait() == -signal.SIGKILL
    assert temp.is_file()  # the kill came before the rename: a write cut off
    with np.load(killed_dir / "last.npz") as last:
        assert json.loads(str(last["meta"]))["step"] == 2
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("rnnlab").experiment_id
    [killed] = client.search_runs([experiment], "attributes.run_name = 'killed'")
    assert killed.info.status == "RUNNING"

    resumed = run_rnnlab(f"resume={killed_dir}")

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.splitlines()[0] == f"resuming {killed_dir} from step 2"
    for name in ("last.npz", "best.npz"):
        with np.load(tmp_path / "whole" / name) as a, np.load(killed_dir / name) as b:
            assert a.files == b.files
            for key in a.files:
                if key.startswith(("param/", "optim/")):
                    assert a[key].tobytes() == b[key].tobytes(), (name, key)
    assert values(killed_dir) == values(tmp_path / "whole")
    if extra:  # the evaluation at step 4 halved the rate; the one at step 6 stopped the run
        rates = {step: v for (step, key), v in values(killed_dir).items() if key == "lr"}
        assert (rates[4], rates[5], rates[6]) == (0.1, 0.05, 0.05)
        assert max(step for step, _ in values(killed_dir)) == 6
        assert "early stopping at step 6 of 8" in resumed.stderr
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
