"""A run directory belongs to one run: runs started together get their own directories, a
process training in one holds a lock on it that dies with the process, a resumed copy of a run
directory never writes into the original's MLflow run, and the console says where a run is."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests_support import (
    PAUSE_PLUGIN,
    files_of,
    metric_points,
    mlflow_runs,
    rnnlab_experiment,
    start_rnnlab,
    wait_until_paused,
)

pytestmark = pytest.mark.slow

#: checkpoints at steps 2 and 4
TINY = [
    "cell=gru",
    "data=difference",
    "data.train_size=64",
    "data.val_size=32",
    "data.test_size=32",
    "model.hidden_size=4",
    "train.steps=4",
    "train.eval_every=2",
    "train.log_every=2",
]


def only_error_line(proc) -> str:
    """The one line a refused command prints (asserting it is the only one, without a
    traceback)."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("rnnlab: error: ")
    return line


def the_runs(tmp_path: Path) -> list:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    return client, client.search_runs([rnnlab_experiment(client).experiment_id])


def test_two_runs_started_in_the_same_second_get_their_own_directories(tmp_path):
    """Retried until both runs resolve the default pattern in the same second."""
    for _ in range(5):
        shutil.rmtree(tmp_path / "outputs", ignore_errors=True)
        procs = [start_rnnlab(tmp_path, *TINY, "tracking.trackers=[metrics_file]") for _ in "12"]
        errors = [p.communicate(timeout=300)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], errors
        dirs = sorted(p.name for p in tmp_path.glob("outputs/*/*"))
        assert len(dirs) == 2, dirs
        if dirs[0][:8] == dirs[1][:8]:  # the same HH-MM-SS
            break
    else:
        pytest.fail("the two runs never started in the same second")
    assert dirs[1] == dirs[0] + "-2"
    for run_dir in tmp_path.glob("outputs/*/*"):
        records = [json.loads(ln) for ln in (run_dir / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records if "test/loss" in r["metrics"]] == [4]
        assert sum(f"run directory: {run_dir}" in e.splitlines() for e in errors) == 1


def test_a_second_process_is_refused_a_run_directory_in_use_until_the_first_dies(
    run_rnnlab, tmp_path, plugin_dist
):
    plugin_dist("rnnlab-pause", {"pause": "pause_plugin"}, {"pause_plugin": PAUSE_PLUGIN})
    assert run_rnnlab(*TINY, "hydra.run.dir=run").returncode == 0
    run_dir = tmp_path / "run"
    first = start_rnnlab(tmp_path, f"resume={run_dir}", "train.steps=8", RNNLAB_TEST_PAUSE_AT="6")
    wait_until_paused(first, run_dir, 6)
    files, runs = files_of(tmp_path), mlflow_runs(tmp_path)

    second = run_rnnlab(f"resume={run_dir}", "train.steps=8")

    assert only_error_line(second) == (
        f"rnnlab: error: run directory {run_dir} is in use by process {first.pid} (it holds "
        f"{run_dir}/.rnnlab.lock); wait for it to end, or stop it first"
    )
    assert files_of(tmp_path) == files
    assert mlflow_runs(tmp_path) == runs

    first.send_signal(signal.SIGKILL)  # the lock dies with the process
    assert first.wait() == -signal.SIGKILL
    third = run_rnnlab(f"resume={run_dir}", "train.steps=8")

    assert third.returncode == 0, third.stderr
    client, [run] = the_runs(tmp_path)
    local, remote = metric_points(client, run)
    assert remote == local  # every point once
    tests = client.get_metric_history(run.info.run_id, "test/loss")
    assert sorted(m.step for m in tests) == [4, 8]  # the first run's test, then the resumed


def artifacts(tmp_path: Path, run) -> dict:
    return files_of(Path(run.info.artifact_uri.removeprefix("file://")))


def test_a_resumed_copy_of_a_run_directory_is_a_new_mlflow_run_and_leaves_the_original(
    run_rnnlab, tmp_path
):
    assert run_rnnlab(*TINY, "hydra.run.dir=original").returncode == 0
    subprocess.run(["cp", "-a", "original", "copy"], cwd=tmp_path, check=True)
    client, [original] = the_runs(tmp_path)
    files, runs = files_of(tmp_path / "original"), mlflow_runs(tmp_path)
    logged = artifacts(tmp_path, original)

    resumed = run_rnnlab("resume=copy", "train.steps=6")

    assert resumed.returncode == 0, resumed.stderr
    assert files_of(tmp_path / "original") == files
    assert {k: v for k, v in mlflow_runs(tmp_path).items() if k in runs} == runs
    assert artifacts(tmp_path, original) == logged
    assert resumed.stderr.splitlines()[:2] == [
        "resuming copy from step 4",
        f"copy is a copy of {tmp_path / 'original'}: it is tracked as a new run, tagged "
        f"rnnlab.copied_from; the original's records are left as they are",
    ]
    [copy] = [r for r in the_runs(tmp_path)[1] if r.info.run_id != original.info.run_id]
    assert copy.info.status == "FINISHED"
    assert copy.data.tags["rnnlab.copied_from_run_id"] == original.info.run_id
    assert copy.data.tags["rnnlab.copied_from"] == str(tmp_path / "original")
    assert copy.data.tags["rnnlab.run_dir"] == str(tmp_path / "copy")
    local, remote = metric_points(client, copy)
    assert remote == local  # the history up to the copy's checkpoint included, each point once
    assert max(step for step, _ in remote) == 6


def test_a_resumed_moved_run_directory_continues_its_mlflow_run(run_rnnlab, tmp_path):
    assert run_rnnlab(*TINY, "hydra.run.dir=before").returncode == 0
    (tmp_path / "before").rename(tmp_path / "after")

    resumed = run_rnnlab("resume=after", "train.steps=6")

    assert resumed.returncode == 0, resumed.stderr
    client, [run] = the_runs(tmp_path)
    assert run.data.tags["rnnlab.run_dir"] == str(tmp_path / "after")
    assert "rnnlab.copied_from" not in run.data.tags
    local, remote = metric_points(client, run)
    assert remote == local
    assert max(step for step, _ in remote) == 6


def test_a_text_run_says_where_it_is_and_its_baselines_and_keeps_no_empty_log(run_rnnlab, tmp_path):
    (tmp_path / "text.txt").write_text("abcd efgh\n" * 300)
    proc = run_rnnlab(
        "data=chars",
        f"data.path={tmp_path / 'text.txt'}",
        "model.hidden_size=8",
        "bptt=8",
        "train.batch_size=4",
        "train.steps=2",
        "train.eval_every=2",
        "sample.length=5",
        "tracking.trackers=[metrics_file]",
    )

    assert proc.returncode == 0, proc.stderr
    [run_dir] = tmp_path.glob("outputs/*/*")
    first, baselines = proc.stderr.splitlines()[:2]
    assert first == f"run directory: {run_dir}"
    assert re.fullmatch(
        r"context baselines on val, bits per character: "
        r"uniform \d\.\d{3}, unigram \d\.\d{3}, bigram \d\.\d{3}",
        baselines,
    )
    assert sorted(p.name for p in run_dir.glob("*.log")) == []
