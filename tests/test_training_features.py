"""Schedules, early stopping, sampling options and ``rnnlab evaluate`` through the installed
command, read back from metrics.jsonl and a real sqlite MLflow store."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests_support import rnnlab_command, rnnlab_experiment, write_text

pytestmark = pytest.mark.slow

TINY = [
    "cell=gru",
    "data=chars",
    "model.hidden_size=16",
    "bptt=8",
    "train.batch_size=4",
    "train.eval_batches=2",
    "sample.length=10",
    "threads=1",
]


def records(run_dir: Path) -> dict[int, dict[str, float]]:
    """step -> metrics, merged over the lines of a run's metrics.jsonl."""
    out: dict[int, dict[str, float]] = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        out.setdefault(rec["step"], {}).update(rec["metrics"])
    return out


def mlflow_run(store: Path, name: str):
    client = MlflowClient(tracking_uri=f"sqlite:///{store}/mlflow.db")
    experiment = rnnlab_experiment(client).experiment_id
    [run] = client.search_runs([experiment], f"attributes.run_name = '{name}'")
    return client, run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny chars run (``runs/base``) on a text of 8 letters, in MLflow."""
    root = tmp_path_factory.mktemp("trained")
    text = write_text(root / "text.txt", "abcdefg \n")
    proc = subprocess.run(
        [
            rnnlab_command(),
            *TINY,
            f"data.path={text}",
            "train.steps=12",
            "train.eval_every=6",
            "hydra.run.dir=runs/base",
            "tracking.run_name=base",
        ],
        cwd=root,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return root


def test_a_step_schedule_sets_and_logs_the_rate_of_each_update(run_rnnlab, tmp_path):
    proc = run_rnnlab(
        *TINY,
        "optimizer.lr=0.1",
        "schedule=step",
        "schedule.unit=step",
        "schedule.start=4",
        "schedule.every=4",
        "schedule.factor=0.5",
        "train.steps=12",
        "train.log_every=2",
        "train.eval_every=6",
        "hydra.run.dir=run",
    )
    assert proc.returncode == 0, proc.stderr
    lr = {step: m["lr"] for step, m in records(tmp_path / "run").items() if "lr" in m}
    # the rate of update n (1-based) halves after updates 4 and 8
    assert lr == {2: 0.1, 4: 0.1, 6: 0.05, 8: 0.05, 10: 0.025, 12: 0.025}


def test_early_stopping_ends_the_run_finished_with_a_tag_and_a_line(run_rnnlab, tmp_path):
    # min_delta 100: no evaluation after the first counts as an improvement
    proc = run_rnnlab(
        *TINY,
        "train.steps=40",
        "train.eval_every=2",
        "train.log_every=2",
        "train.patience=2",
        "train.min_delta=100",
        "hydra.run.dir=run",
        "tracking.run_name=stopped",
    )
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("early stopping")]
    assert len(lines) == 1 and lines[0].startswith(
        "early stopping at step 6 of 40: val/loss has not improved by more than "
        "train.min_delta=100 in 2 evaluations (train.patience=2); best val/loss "
    )
    steps = records(tmp_path / "run")
    assert max(steps) == 6 and "test/bpc" in steps[6]
    assert lines[0].endswith(f"{min(steps[s]['val/loss'] for s in (2, 4, 6)):.4f}")
    _, run = mlflow_run(tmp_path, "stopped")
    assert run.info.status == "FINISHED"
    assert run.data.tags["rnnlab.early_stopped_at"] == "6"


def test_sample_with_temperature_zero_is_greedy_whatever_the_seed(trained, run_rnnlab):
    run = str(trained / "runs" / "base")
    a = run_rnnlab("sample", run, "--length", "30", "--temperature", "0", "--seed", "1")
    b = run_rnnlab("sample", run, "--length", "30", "--greedy", "--seed", "2")
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout and len(a.stdout) == 1 + 30 + 1


def test_sample_with_top_k_one_equals_greedy(trained, run_rnnlab):
    run = str(trained / "runs" / "base")
    greedy = run_rnnlab("sample", run, "--length", "30", "--greedy")
    top1 = run_rnnlab("sample", run, "--length", "30", "--top-k", "1", "--top-p", "0.5")
    assert top1.returncode == 0, top1.stderr
    assert top1.stdout == greedy.stdout


def test_sample_streams_text_as_it_is_generated(trained):
    proc = subprocess.Popen(
        [rnnlab_command(), "sample", str(trained / "runs" / "base"), "--length", "100000000"],
        cwd=trained,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        start = time.monotonic()
        first = proc.stdout.read(200)  # would block for hours if the output were not streamed
        assert len(first) == 200 and time.monotonic() - start < 300
    finally:
        proc.kill()
        proc.wait()


def test_a_prime_with_unseen_characters_gets_one_warning_naming_them(trained, run_rnnlab):
    proc = run_rnnlab("sample", str(trained / "runs" / "base"), "--prime", "abéz", "--length", "5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "rnnlab: warning: --prime has characters the model never saw in training: 'é', 'z'; "
        "it reads each as one unknown character"
    ]
    assert proc.stdout.startswith("abéz")


def test_evaluate_on_the_test_split_gives_the_runs_own_test_metrics(trained, run_rnnlab):
    proc = run_rnnlab("evaluate", str(trained / "runs" / "base"), cwd=trained)
    assert proc.returncode == 0, proc.stderr
    test = records(trained / "runs" / "base")[12]
    assert f"eval/test/bpc {test['test/bpc']:.4f}" in proc.stdout


def test_evaluate_scores_another_text_and_logs_it_to_the_mlflow_run(trained, run_rnnlab):
    other = write_text(trained / "hamlet.txt", "abcdefgxy \n", seed=1)
    proc = run_rnnlab(
        "evaluate",
        str(trained / "runs" / "base"),
        f"data.path={other}",
        "--checkpoint",
        "last",
        cwd=trained,
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{trained}/mlflow.db"},
    )
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "'x'" in warnings[0] and "'y'" in warnings[0], proc.stderr
    printed = dict(zip(*[iter(proc.stdout.split("\n")[0].split())] * 2, strict=True))
    assert set(printed) == {"eval/hamlet.txt/loss", "eval/hamlet.txt/bpc"}
    client, run = mlflow_run(trained, "base")
    history = client.get_metric_history(run.info.run_id, "eval/hamlet.txt/bpc")
    assert [(m.step, f"{m.value:.4f}") for m in history] == [(12, printed["eval/hamlet.txt/bpc"])]
    assert run.info.status == "FINISHED"


def test_samples_written_while_training_use_the_sample_group(run_rnnlab, tmp_path):
    proc = run_rnnlab(
        *TINY,
        "train.steps=6",
        "train.eval_every=3",
        "sample.temperature=0",
        "sample.length=20",
        "hydra.run.dir=run",
    )
    assert proc.returncode == 0, proc.stderr
    final = (tmp_path / "run" / "samples" / "final.txt").read_text()
    greedy = run_rnnlab("sample", "run", "--greedy", "--length", "20")
    assert greedy.stdout == final + "\n"
