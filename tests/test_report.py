"""``rnnlab report``: a sweep's table and plots, read from the MLflow store it ran into."""

from __future__ import annotations

import math
import os
import re
import subprocess

import pytest
from matplotlib.image import imread
from mlflow.tracking import MlflowClient

from rnnlab.tracking.plots import DPI, PANEL_SIZE
from tests_support import rnnlab_command

pytestmark = pytest.mark.slow

CELLS = ("rnn", "gru")
LENGTHS = ("5", "8")
TINY = [
    "data.train_size=64",
    "data.val_size=32",
    "data.test_size=32",
    "model.hidden_size=4",
    "train.batch_size=16",
    "train.steps=6",
    "train.eval_every=3",
    "train.log_every=3",
]


def succeeds_in(folder):
    """A function that runs ``rnnlab *args`` in ``folder`` on its store and asserts exit 0."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db"}

    def run(*args):
        proc = subprocess.run(
            [rnnlab_command(), *args],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        return proc

    return run


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A 4-job adding_lengths sweep at toy sizes, then ``rnnlab report`` of the latest sweep."""
    tmp = tmp_path_factory.mktemp("report")
    run = succeeds_in(tmp)
    run(
        "-m",
        "experiment=adding_lengths",
        f"cell={','.join(CELLS)}",
        f"data.length={','.join(LENGTHS)}",
        "seed=0",
        *TINY,
    )
    proc = run("report", "--out", "out")
    return tmp, proc, run


def tables(markdown: str) -> list[dict[tuple[str, str], str]]:
    """Each Markdown table of the report as {(row, column): text}."""
    found, rows = [], []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            header = rows[0]
            found.append(
                {
                    (row[0], column): text
                    for row in rows[2:]
                    for column, text in zip(header[1:], row[1:], strict=True)
                }
            )
            rows = []
    return found


def sweep_jobs(tmp):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlflow.db")
    experiment = client.get_experiment_by_name("adding_lengths")
    return client.search_runs([experiment.experiment_id], "tags.mlflow.parentRunId LIKE '%'")


def key(job) -> tuple[str, str]:
    return job.data.tags["cell"], f"data.length={job.data.params['data.length']}"


def test_table_holds_each_jobs_final_validation_mse_and_its_baseline(report):
    tmp, _, _ = report
    metric, _ = tables((tmp / "out" / "report.md").read_text())

    assert set(metric) == {(c, f"data.length={n}") for c in CELLS for n in LENGTHS}
    for job in sweep_jobs(tmp):
        m = job.data.metrics
        value, baseline = re.fullmatch(r"(\S+) \(n=1; baseline (\S+)\)", metric[key(job)]).groups()
        assert float(value) == pytest.approx(m["val/mse"], rel=5e-3)
        assert float(baseline) == pytest.approx(
            min(
                float(job.data.params["data.baseline.predict_one_mse"]),
                float(job.data.params["data.baseline.predict_mean_mse"]),
            ),
            rel=5e-3,
        )


def test_gradient_table_holds_each_jobs_dh_decay_at_its_last_step(report):
    tmp, _, _ = report
    _, decay = tables((tmp / "out" / "report.md").read_text())

    assert set(decay) == {(c, f"data.length={n}") for c in CELLS for n in LENGTHS}
    for job in sweep_jobs(tmp):
        expected = job.data.metrics["grad/dh_log10_first_over_last"]
        assert float(decay[key(job)]) == pytest.approx(expected, abs=0.051)


def test_plots_are_images_with_a_panel_per_cell(report):
    tmp, _, _ = report
    for name in ("val_curves.png", "grad_profiles.png"):
        image = imread(tmp / "out" / name)
        assert image.shape[:2] == (
            round(PANEL_SIZE[1] * DPI),
            len(CELLS) * round(PANEL_SIZE[0] * DPI),
        )
        assert image[..., :3].std() > 0


def test_the_report_names_the_sweep_and_the_command_that_reproduces_it(report):
    tmp, proc, _ = report
    text = (tmp / "out" / "report.md").read_text()
    assert "`rnnlab -m experiment=adding_lengths cell=rnn,gru data.length=5,8 seed=0" in text
    assert "4 jobs" in text
    assert "Each entry is a single run" in text  # one seed: no interval, no ranking
    assert "![val/mse against training step, per cell](val_curves.png)" in text
    assert text in proc.stdout


def test_a_sweep_chosen_by_parent_run_or_experiment_gives_the_same_report(report):
    tmp, _, run = report
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlflow.db")
    (parent,) = client.search_runs(
        [client.get_experiment_by_name("adding_lengths").experiment_id],
        "tags.`rnnlab.sweep_dir` LIKE '%'",
    )
    run("report", "--parent", parent.info.run_id, "--out", "by_parent")
    run("report", "--experiment", "adding_lengths", "--out", "by_experiment")
    expected = (tmp / "out" / "report.md").read_text()
    assert (tmp / "by_parent" / "report.md").read_text() == expected
    assert (tmp / "by_experiment" / "report.md").read_text() == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (["--parent", "0123456789abcdef"], "no MLflow run 0123456789abcdef in sqlite:///"),
        (["--experiment", "nonesuch"], "no MLflow experiment 'nonesuch' in sqlite:///"),
    ],
)
def test_a_sweep_that_is_not_there_is_a_one_line_error(report, args, message):
    tmp, _, _ = report
    proc = subprocess.run(
        [rnnlab_command(), "report", *args, "--out", "bad"],
        cwd=tmp,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert proc.stderr.startswith(f"rnnlab: error: {message}") and proc.stderr.count("\n") == 1
    assert not (tmp / "bad").exists()


def test_without_a_store_it_fails_in_one_line_and_creates_none(run_rnnlab, tmp_path):
    proc = run_rnnlab("report")
    assert proc.returncode != 0
    assert proc.stderr.startswith("rnnlab: error: no MLflow store at sqlite:///")
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "report").exists()


def test_an_empty_store_has_no_sweep_to_report(run_rnnlab, tmp_path):
    MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db").search_experiments()  # creates it
    proc = run_rnnlab("report")
    assert proc.returncode != 0
    assert proc.stderr == (
        f"rnnlab: error: no sweep in sqlite:///{tmp_path}/mlflow.db; run one "
        f"first: rnnlab -m experiment=<name>\n"
    )


def test_seeds_of_one_setting_are_reported_as_a_mean_with_an_interval(tmp_path):
    run = succeeds_in(tmp_path)
    run(
        "-m",
        "experiment=adding_lengths",
        "cell=rnn,gru",
        "data.length=5",
        "seed=0,1,2",
        "tracking.experiment=seeds",
        *TINY,
    )
    run("report", "--out", "out")
    metric, comparison, _ = tables((tmp_path / "out" / "report.md").read_text())
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("seeds")
    jobs = client.search_runs([experiment.experiment_id], "tags.mlflow.parentRunId LIKE '%'")
    for cell in ("rnn", "gru"):
        finals = [j.data.metrics["val/mse"] for j in jobs if j.data.tags["cell"] == cell]
        mean, n = re.fullmatch(
            r"(\S+) \[\S+, \S+\] \(n=(\d); baseline \S+\)", metric[cell, "val/mse"]
        ).groups()
        geometric = math.exp(sum(math.log(v) for v in finals) / len(finals))
        assert (float(mean), int(n)) == (pytest.approx(geometric, rel=5e-3), 3)
    assert comparison["-", "cells"] == "rnn - gru"
    assert re.fullmatch(
        r"\S+ \[\S+, \S+\]", comparison["-", "log10 ratio of `val/mse` [95% interval]"]
    )
