"""The metrics_file tracker and read_metrics: a JSON line per metrics batch in the run directory."""

from __future__ import annotations

import json

import pytest

from rnnlab.errors import RnnlabError
from rnnlab.plugins.manager import LoadedPlugins
from rnnlab.plugins.run import Run
from rnnlab.tracking.metrics_file import METRICS_FILE, MetricsFileTracker, read_metrics


def make_run(tmp_path, resumed_from_step: int = 0) -> Run:
    return Run(
        config={"tracking": {"trackers": ["metrics_file"]}},
        params={},
        run_dir=tmp_path,
        name="rnn-chars-h8",
        resumed_from_step=resumed_from_step,
    )


def start(run: Run):
    """A plugin manager with a started tracker; returns its hook caller."""
    pm = LoadedPlugins().pm
    pm.register(MetricsFileTracker(run))
    pm.hook.on_run_start(run=run)
    return pm.hook


def test_each_batch_is_one_json_line_with_its_step(tmp_path):
    run = make_run(tmp_path)
    hook = start(run)
    hook.on_metrics(run=run, step=10, metrics={"train/loss": 2.5, "grad/norm": 1.0})
    hook.on_evaluation(run=run, step=10, split="val", metrics={"val/loss": 2.75})
    hook.on_run_end(run=run, status="FINISHED", error=None)

    lines = (tmp_path / METRICS_FILE).read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"step": 10, "metrics": {"train/loss": 2.5, "grad/norm": 1.0}},
        {"step": 10, "metrics": {"val/loss": 2.75}},
    ]


def test_records_are_on_disk_before_the_run_ends(tmp_path):
    run = make_run(tmp_path)
    hook = start(run)
    hook.on_metrics(run=run, step=1, metrics={"train/loss": 3.0})

    assert read_metrics(tmp_path / METRICS_FILE) == [(1, {"train/loss": 3.0})]


def test_a_fresh_run_starts_the_file_empty(tmp_path):
    (tmp_path / METRICS_FILE).write_text('{"step": 7, "metrics": {"train/loss": 9.0}}\n')
    run = make_run(tmp_path)
    hook = start(run)
    hook.on_metrics(run=run, step=1, metrics={"train/loss": 3.0})

    assert read_metrics(tmp_path / METRICS_FILE) == [(1, {"train/loss": 3.0})]


def test_resume_drops_records_after_the_checkpoint_so_no_step_repeats(tmp_path):
    first = make_run(tmp_path)
    hook = start(first)
    for step in range(1, 6):
        hook.on_metrics(run=first, step=step, metrics={"train/loss": float(step)})
    # the process dies here; the last checkpoint was written at step 3

    resumed = make_run(tmp_path, resumed_from_step=3)
    hook = start(resumed)
    for step in range(4, 7):
        hook.on_metrics(run=resumed, step=step, metrics={"train/loss": 10.0 + step})
    hook.on_run_end(run=resumed, status="FINISHED", error=None)

    assert read_metrics(tmp_path / METRICS_FILE) == [
        (1, {"train/loss": 1.0}),
        (2, {"train/loss": 2.0}),
        (3, {"train/loss": 3.0}),
        (4, {"train/loss": 14.0}),
        (5, {"train/loss": 15.0}),
        (6, {"train/loss": 16.0}),
    ]


def test_read_metrics_skips_a_last_line_cut_off_mid_write(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text('{"step": 1, "metrics": {"train/loss": 3.0}}\n{"step": 2, "metri')

    assert read_metrics(path) == [(1, {"train/loss": 3.0})]


def test_read_metrics_rejects_a_broken_line_before_the_last(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text('{"step": 1, "metri\n{"step": 2, "metrics": {"train/loss": 3.0}}\n')

    with pytest.raises(RnnlabError, match="line 1"):
        read_metrics(path)
