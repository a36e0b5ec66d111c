"""The installed ``rnnlab`` command end to end, read back from a real sqlite MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from tests_support import metric_points, rnnlab_experiment

pytestmark = pytest.mark.slow

SMALL_CHARS = [
    "cell=lstm",
    "data=chars",
    "model.hidden_size=32",
    "bptt=16",
    "train.steps=30",
    "train.eval_every=10",
    "train.log_every=5",
    "train.eval_batches=4",
    "sample.length=40",
]


def only_run(tmp_path):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    [run] = client.search_runs([rnnlab_experiment(client).experiment_id])
    return client, run


def run_dir_of(run) -> Path:
    return Path(run.data.tags["rnnlab.run_dir"])


@pytest.fixture(scope="module")
def chars_run(tmp_path_factory):
    """One small chars run of the installed command, in its own directory."""
    import os
    import subprocess

    from tests_support import rnnlab_command

    tmp = tmp_path_factory.mktemp("chars")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db"}
    proc = subprocess.run(
        [rnnlab_command(), *SMALL_CHARS],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    client, run = only_run(tmp)
    return tmp, client, run


def test_run_is_finished_with_a_readable_name(chars_run):
    _, _, run = chars_run
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "lstm chars hidden_size=32 bptt=16 steps=30"


def test_params_are_the_flattened_config(chars_run):
    _, _, run = chars_run
    p = run.data.params
    assert p["cell.name"] == "lstm" and p["model.hidden_size"] == "32" and p["bptt"] == "16"
    assert p["optimizer.name"] == "adagrad" and "optimizer.lr" in p


def test_metrics_are_logged_at_several_steps(chars_run):
    _, client, run = chars_run
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")]
    assert steps == [5, 10, 15, 20, 25, 30]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/bpc")] == [10, 20, 30]
    assert "test/bpc" in run.data.metrics


def test_gradient_norms_are_logged(chars_run):
    _, _, run = chars_run
    m = run.data.metrics
    assert m["grad/norm"] > 0 and 0 < m["grad/norm_clipped"] <= 5.0 + 1e-6
    assert m["grad/cells.0.weight_hh"] > 0 and m["grad/head.weight"] > 0
    assert "grad/dh_first" in m and "grad/dh_last" in m


def test_context_baselines_are_params_of_the_run_not_metrics_to_plot(chars_run):
    _, _, run = chars_run
    p = {k: float(v) for k, v in run.data.params.items() if k.startswith("data.baseline.")}
    assert p["data.baseline.uniform_bpc"] > p["data.baseline.unigram_bpc"]
    assert p["data.baseline.unigram_bpc"] > p["data.baseline.bigram_bpc"] > 0
    assert not [k for k in run.data.metrics if k.startswith("data/")]


def test_the_dataset_is_the_runs_input(chars_run):
    _, _, run = chars_run
    [data] = run.inputs.dataset_inputs
    assert data.dataset.name == "chars" and data.dataset.source_type == "code"
    assert [(t.key, t.value) for t in data.tags] == [("mlflow.data.context", "training")]


def test_mlflows_system_tags_fill_the_uis_columns(chars_run):
    _, _, run = chars_run
    tags = run.data.tags
    assert tags["mlflow.source.name"] == "rnnlab" and tags["mlflow.user"]
    assert tags["mlflow.note.content"].startswith("`rnnlab cell=lstm data=chars")


def test_artifacts_are_kept(chars_run):
    _, client, run = chars_run
    rid = run.info.run_id
    names = {a.path for a in client.list_artifacts(rid)}
    assert {"config", "samples", "plots", "checkpoints"} <= names
    assert {a.path for a in client.list_artifacts(rid, "plots")} == {
        "plots/curves.png",
        "plots/grad_profile.png",
        "plots/grad_profile.json",
    }
    assert "checkpoints/best.npz" in {a.path for a in client.list_artifacts(rid, "checkpoints")}


def test_tags_name_cell_dataset_and_version(chars_run):
    _, _, run = chars_run
    t = run.data.tags
    assert t["cell"] == "lstm" and t["dataset"] == "chars" and t["rnnlab.version"]


def test_local_metrics_file_holds_every_logged_point(chars_run):
    _, client, run = chars_run
    local, remote = metric_points(client, run)  # the baselines, params in MLflow, left out
    assert local == remote


def test_samples_are_text_from_the_prime(chars_run):
    _, _, run = chars_run
    final = (run_dir_of(run) / "samples" / "final.txt").read_text()
    assert final.startswith("\n") and len(final) == 41


def test_sample_command_generates_from_the_run_dir_and_the_mlflow_id(
    chars_run, run_rnnlab, tmp_path
):
    _, _, run = chars_run
    by_dir = run_rnnlab("sample", str(run_dir_of(run)), "--length", "25", "--prime", "ROMEO:")
    assert by_dir.returncode == 0, by_dir.stderr
    assert by_dir.stdout.startswith("ROMEO:") and len(by_dir.stdout.rstrip("\n")) >= 25
    store = chars_run[0]
    by_id = run_rnnlab(
        "sample",
        run.info.run_id,
        "--length",
        "25",
        "--prime",
        "ROMEO:",
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db"},
    )
    assert by_id.returncode == 0, by_id.stderr
    assert by_id.stdout == by_dir.stdout


def test_resumed_run_equals_an_uninterrupted_one(run_rnnlab, tmp_path):
    common = [
        "cell=gru",
        "data=chars",
        "model.hidden_size=24",
        "bptt=8",
        "train.eval_every=10",
        "train.log_every=5",
        "train.eval_batches=3",
        "sample.length=10",
        "threads=1",
    ]
    whole = run_rnnlab(*common, "train.steps=40", "tracking.run_name=whole", "hydra.run.dir=whole")
    assert whole.returncode == 0, whole.stderr
    part = run_rnnlab(*common, "train.steps=20", "tracking.run_name=part", "hydra.run.dir=part")
    assert part.returncode == 0, part.stderr
    resumed = run_rnnlab(f"resume={tmp_path / 'part'}", "train.steps=40")
    assert resumed.returncode == 0, resumed.stderr

    a, b = np.load(tmp_path / "whole" / "last.npz"), np.load(tmp_path / "part" / "last.npz")
    for key in a.files:
        if key.startswith(("param/", "optim/")):
            assert np.array_equal(a[key], b[key]), key

    def train_val_metrics(run_dir):
        out = {}
        for rec in map(json.loads, (tmp_path / run_dir / "metrics.jsonl").read_text().splitlines()):
            for k, v in rec["metrics"].items():
                if not k.startswith(("speed/", "test/")):
                    out[(rec["step"], k)] = v
        return out

    assert train_val_metrics("whole") == train_val_metrics("part")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    [part_run] = client.search_runs(
        client.get_experiment_by_name("rnnlab-chars").experiment_id, "attributes.run_name = 'part'"
    )
    steps = [m.step for m in client.get_metric_history(part_run.info.run_id, "train/loss")]
    assert steps == [5, 10, 15, 20, 25, 30, 35, 40]
    assert part_run.info.status == "FINISHED"


def test_a_finished_run_ends_by_saying_its_test_metrics_and_where_to_look(run_rnnlab, tmp_path):
    proc = run_rnnlab(
        "data=difference",
        "data.train_size=256",
        "data.val_size=64",
        "data.test_size=64",
        "model.hidden_size=8",
        "train.steps=10",
        "train.eval_every=5",
        "hydra.run.dir=the-run",
    )
    assert proc.returncode == 0, proc.stderr
    _, run = only_run(tmp_path)
    test, where, mlflow = proc.stderr.strip().splitlines()[-3:]
    assert test == (
        "test, best checkpoint: "
        + "  ".join(f"{k} {run.data.metrics[k]:.4f}" for k in ("test/loss", "test/acc"))
    )
    assert where == f"run directory: {tmp_path / 'the-run'}"
    assert mlflow == (
        f"MLflow run '{run.info.run_name}': http://127.0.0.1:5000/#/experiments/"
        f"{run.info.experiment_id}/runs/{run.info.run_id}?workflowType=machine_learning "
        f"(serve it: mlflow ui --host 127.0.0.1 "
        f"--backend-store-uri sqlite:///{tmp_path}/mlflow.db)"
    )


def test_a_checkpoint_from_before_skipped_steps_existed_still_resumes(run_rnnlab, tmp_path):
    args = [
        "data=difference",
        "data.train_size=256",
        "data.val_size=64",
        "data.test_size=64",
        "model.hidden_size=8",
        "train.steps=10",
        "train.eval_every=5",
        "hydra.run.dir=old",
    ]
    assert run_rnnlab(*args).returncode == 0
    last = tmp_path / "old" / "last.npz"
    with np.load(last) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["skipped_steps"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(last, **arrays)

    resumed = run_rnnlab(f"resume={tmp_path / 'old'}", "train.steps=15")

    assert resumed.returncode == 0, resumed.stderr
    client, run = only_run(tmp_path)
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/loss")] == [5, 10, 15]
