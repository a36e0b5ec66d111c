"""Divergence: a NaN or inf in the loss or gradients stops the run (FAILED, last good
checkpoint kept), or with ``train.on_nonfinite=skip`` is skipped and counted."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from tests_support import rnnlab_experiment

pytestmark = pytest.mark.slow

#: SGD at lr 10 with no clipping blows a relu rnn up within a few steps (at step 4 here)
EXPLODING = [
    "cell=rnn",
    "cell.nonlinearity=relu",
    "data=chars",
    "model.hidden_size=16",
    "bptt=8",
    "train.batch_size=4",
    "train.steps=40",
    "train.eval_every=2",
    "train.log_every=1",
    "train.eval_batches=2",
    "sample.length=5",
    "optimizer=sgd",
    "optimizer.lr=10",
    "optimizer.clip_norm=null",
    "threads=1",
    "hydra.run.dir=run",
]

#: the adding problem with a NaN target in every 5th training batch (a corrupt record)
NAN_DATA_PLUGIN = """
    from dataclasses import dataclass

    import numpy as np

    import rnnlab
    from rnnlab.config import DataConfig
    from rnnlab.data.adding import AddingDataset


    @dataclass
    class NanAddingConfig(DataConfig):
        nan_every: int = 5


    class NanAdding(AddingDataset):
        def __init__(self, nan_every, seed):
            super().__init__(length=6, train_size=40, val_size=8, test_size=8, seed=seed)
            self.nan_every = nan_every

        def batch(self, split, epoch, index, batch_size, bptt):
            x, y = super().batch(split, epoch, index, batch_size, bptt)
            if split == "train" and (index + 1) % self.nan_every == 0:
                y = y.copy()
                y[0, 0] = np.nan
            return x, y


    @rnnlab.hookimpl
    def register_datasets(register):
        register("nan_adding", lambda c, seed: NanAdding(c.nan_every, seed), config=NanAddingConfig)
"""
#: 40 examples in batches of 4: 10 batches an epoch, batches 5 and 10 hold a NaN
NAN_DATA = [
    "data=nan_adding",
    "cell=gru",
    "model.hidden_size=8",
    "bptt=6",
    "train.batch_size=4",
    "train.steps=30",
    "train.eval_every=10",
    "train.log_every=5",
    "threads=1",
    "hydra.run.dir=run",
]


def the_run(tmp_path):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    [run] = client.search_runs([rnnlab_experiment(client).experiment_id])
    return client, run


def checkpoint_step(path) -> int:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta"]))["step"]


def test_exploding_training_stops_failed_with_one_line_naming_step_and_last_finite_norm(
    run_rnnlab, tmp_path
):
    proc = run_rnnlab(*EXPLODING)

    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()[-1:]
    assert re.fullmatch(
        r"rnnlab: error: training diverged at step 4: loss \S+, gradient norm "
        r"(inf|nan) \(last finite gradient norm [0-9.e+]+\); lower optimizer.lr "
        r"or set optimizer.clip_norm",
        line,
    ), line
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    client, run = the_run(tmp_path)
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == line.removeprefix("rnnlab: error: ")
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [1, 2, 3]


def test_exploding_training_keeps_the_last_good_checkpoint(run_rnnlab, tmp_path):
    run_rnnlab(*EXPLODING)

    last = tmp_path / "run" / "last.npz"
    assert checkpoint_step(last) == 2
    with np.load(last, allow_pickle=False) as z:
        assert all(np.isfinite(z[k]).all() for k in z.files if k.startswith("param/"))


def test_a_nan_target_stops_the_run_at_its_step(run_rnnlab, tmp_path, plugin_dist):
    plugin_dist("rnnlab-nan-data", {"nan_data": "nan_data"}, {"nan_data": NAN_DATA_PLUGIN})

    proc = run_rnnlab(*NAN_DATA)

    assert proc.returncode == 1
    assert "training diverged at step 5: loss nan" in proc.stderr
    assert the_run(tmp_path)[1].info.status == "FAILED"


def test_skip_mode_skips_nan_steps_counts_them_and_finishes(run_rnnlab, tmp_path, plugin_dist):
    plugin_dist("rnnlab-nan-data", {"nan_data": "nan_data"}, {"nan_data": NAN_DATA_PLUGIN})

    proc = run_rnnlab(*NAN_DATA, "train.on_nonfinite=skip")

    assert proc.returncode == 0, proc.stderr
    client, run = the_run(tmp_path)
    assert run.info.status == "FINISHED"
    skipped = client.get_metric_history(run.info.run_id, "train/skipped_steps")
    # steps 5, 10 | 15, 20 | 25, 30: two NaN batches in each of three epochs
    assert [(m.step, m.value) for m in skipped] == [
        (5, 1),
        (10, 2),
        (15, 3),
        (20, 4),
        (25, 5),
        (30, 6),
    ]
    assert np.isfinite(
        [m.value for m in client.get_metric_history(run.info.run_id, "train/loss")]
    ).all()
    with np.load(tmp_path / "run" / "last.npz", allow_pickle=False) as z:
        assert all(np.isfinite(z[k]).all() for k in z.files if k.startswith("param/"))
