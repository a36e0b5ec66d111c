"""The shipped experiment configs: each composes into a valid run and sweeps what it says."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from rnnlab.cli import CONF_DIR
from rnnlab.config.run_config import to_run_config
from rnnlab.config.store import store_configs
from rnnlab.plugins.registry import get_registry

#: every shipped experiment repeats each setting over five seeds
SEEDS = {"seed": "0,1,2,3,4"}
SWEEPS = {
    "adding_lengths": {"cell": "rnn,lstm,gru", "data.length": "50,200", **SEEDS},
    "difference_bptt": {
        "cell": "rnn,lstm,gru",
        "bptt": "1,2",
        "model.hidden_size": "2,128",
        **SEEDS,
    },
    "chars_cells": {"cell": "rnn,lstm,gru", **SEEDS},
}


def test_every_shipped_experiment_is_listed_here():
    assert {p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml")} == set(SWEEPS)


@pytest.mark.parametrize("name", SWEEPS)
def test_experiment_composes_into_a_valid_run_and_sweeps_cells(name):
    store_configs(get_registry())
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)
    assert dict(cfg.hydra.sweeper.params) == SWEEPS[name]
    assert cfg.tracking.experiment == name
    with open_dict(cfg):
        del cfg["hydra"]
    to_run_config(cfg)


def test_adding_lengths_backpropagates_through_the_whole_sequence():
    store_configs(get_registry())
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("config", overrides=["experiment=adding_lengths", "data.length=73"])
    assert to_run_config(cfg).bptt == 73
