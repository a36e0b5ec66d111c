"""The settings a sweep varies, as its jobs' names show them."""

from __future__ import annotations

from rnnlab.sweep_keys import swept_keys


def test_sweep_overrides_vary_and_fixed_ones_do_not():
    overrides = ["cell=rnn,gru", "optimizer.lr=0.1", "seed=range(3)", "hydra/launcher=joblib"]
    assert swept_keys(overrides) == ["cell", "seed"]


def test_the_sweepers_params_vary_too():
    params = ["cell", "data.length", "seed"]
    assert swept_keys(["train.steps=10", "+x=choice(1,2)"], params) == ["x", *params]
