"""The plugin guide's worked examples, taken from the README and run as plugins."""

from __future__ import annotations

import numpy as np
from mlflow.tracking import MlflowClient

from rnnlab.tracking.metrics_file import read_metrics
from tests_support import TINY_DIFFERENCE, readme_example, rnnlab_experiment


def test_the_cell_example_trains_from_the_installed_command(plugin_dist, run_rnnlab):
    module = readme_example("cell") + readme_example("cell-config")
    plugin_dist("rnnlab-mycell", {"mycell": "guide_mycell"}, {"guide_mycell": module})
    proc = run_rnnlab(
        "cell=mycell", "cell.my_option=2", *TINY_DIFFERENCE, "tracking.trackers=[metrics_file]"
    )
    assert proc.returncode == 0, proc.stderr
    assert "test, best checkpoint" in proc.stderr


def test_the_dataset_and_task_example_trains_from_the_installed_command(
    plugin_dist, run_rnnlab, tmp_path
):
    module = readme_example("dataset-task")
    plugin_dist("rnnlab-parity", {"parity": "guide_parity"}, {"guide_parity": module})
    proc = run_rnnlab(
        "data=parity",
        "data.length=8",
        "data.size=64",
        "bptt=3",
        "model.hidden_size=8",
        "train.batch_size=16",
        "train.steps=6",
        "train.eval_every=3",
        "tracking.trackers=[metrics_file]",
        "hydra.run.dir=parity",
    )
    assert proc.returncode == 0, proc.stderr
    assert "test/seq_acc" in proc.stderr
    logged = {k for _, m in read_metrics(tmp_path / "parity/metrics.jsonl") for k in m}
    assert {"data/chance_seq_acc", "val/seq_acc", "val/loss", "train/loss"} <= logged


def test_the_tracker_example_keeps_its_file_through_the_other_trackers(
    plugin_dist, run_rnnlab, tmp_path
):
    plugin_dist("rnnlab-csv", {"csv": "guide_csv"}, {"guide_csv": readme_example("tracker")})
    proc = run_rnnlab(
        *TINY_DIFFERENCE,
        "tracking.trackers=[metrics_file,mlflow,csv]",
        "tracking.csv_file=evals.csv",
        "hydra.run.dir=run",
    )
    assert proc.returncode == 0, proc.stderr
    rows = (tmp_path / "run" / "evals.csv").read_text().splitlines()
    assert rows[0] == "step,split,metric,value"
    assert any(row.startswith("2,test,test/loss,") for row in rows)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    [run] = client.search_runs([rnnlab_experiment(client).experiment_id])
    assert [a.path for a in client.list_artifacts(run.info.run_id, "evaluations")] == [
        "evaluations/evals.csv"
    ]
    assert run.data.params["tracking.csv_file"] == "evals.csv"


def test_the_command_example_runs_from_the_installed_command(plugin_dist, run_rnnlab, tmp_path):
    plugin_dist("rnnlab-best", {"best": "guide_best"}, {"guide_best": readme_example("command")})
    trained = run_rnnlab(*TINY_DIFFERENCE, "tracking.trackers=[metrics_file]", "hydra.run.dir=run")
    assert trained.returncode == 0, trained.stderr

    proc = run_rnnlab("best", "run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("best val/loss ") and proc.stdout.rstrip().endswith("at step 2")
    assert "rnnlab best      RUN [--metric NAME]: a run's best value" in run_rnnlab("--help").stdout
    wrong = run_rnnlab("best", "run", "--metric", "val/nope")
    assert (wrong.returncode, wrong.stderr) == (
        1,
        "rnnlab: error: run has no val/nope; name a logged metric with --metric\n",
    )


def test_the_optimizer_example_trains_and_checkpoints_its_state(plugin_dist, run_rnnlab, tmp_path):
    plugin_dist(
        "rnnlab-heavyball",
        {"heavyball": "guide_heavyball"},
        {"guide_heavyball": readme_example("optimizer")},
    )
    proc = run_rnnlab(
        "optimizer=heavyball",
        "optimizer.momentum=0.8",
        *TINY_DIFFERENCE,
        "tracking.trackers=[metrics_file]",
        "hydra.run.dir=run",
    )
    assert proc.returncode == 0, proc.stderr
    assert "test, best checkpoint" in proc.stderr
    with np.load(tmp_path / "run" / "last.npz") as ckpt:
        velocity = [k for k in ckpt.files if k.startswith("optim/velocity/")]
    assert velocity and len(velocity) == sum(k.startswith("param/") for k in ckpt.files)
