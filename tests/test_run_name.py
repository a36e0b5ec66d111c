"""Run names: the cell, then what was chosen for this run."""

from __future__ import annotations

from rnnlab.runner.run_name import run_name

CONFIG = {
    "cell": {"name": "lstm"},
    "data": {"name": "chars", "path": None},
    "optimizer": {"name": "adam", "lr": 0.03},
    "schedule": {"name": "constant"},
    "bptt": 32,
    "model": {"hidden_size": 128, "dropout": 0.0},
    "train": {"steps": 3000, "dropout": 0.5},
    "seed": 0,
}


def test_a_single_run_with_defaults_is_named_by_cell_and_data():
    assert run_name(CONFIG, ["cell=lstm", "data=chars"]) == "lstm chars"


def test_a_single_run_names_the_settings_its_overrides_changed():
    name = run_name(CONFIG, ["cell=lstm", "optimizer=adam", "optimizer.lr=0.03", "bptt=32"])
    assert name == "lstm chars adam lr=0.03 bptt=32"


def test_settings_that_do_not_change_learning_are_left_out():
    overrides = ["cell=lstm", "threads=2", "tracking.experiment=x", "hydra.run.dir=/tmp/r"]
    assert run_name(CONFIG, overrides) == "lstm chars"


def test_a_sweep_job_is_named_by_the_keys_its_sweep_varies():
    overrides = ["cell=lstm", "data=chars", "optimizer.lr=0.03", "bptt=32", "seed=0"]
    assert run_name(CONFIG, overrides, swept=["optimizer.lr", "bptt"]) == "lstm lr=0.03 bptt=32"


def test_two_keys_with_one_last_part_keep_their_whole_names():
    name = run_name(CONFIG, [], swept=["model.dropout", "train.dropout"])
    assert name == "lstm model.dropout=0.0 train.dropout=0.5"


def test_a_swept_dataset_shows_its_name():
    assert run_name(CONFIG, [], swept=["data", "seed"]) == "lstm chars seed=0"
