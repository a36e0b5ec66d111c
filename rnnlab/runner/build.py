"""Build a job's dataset, model and optimizer from its validated config and the registry."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import numpy as np

from rnnlab.config.schema import RunConfig
from rnnlab.data.base import Dataset
from rnnlab.errors import PluginError
from rnnlab.nn.model import RecurrentModel
from rnnlab.nn.optim import Optimizer
from rnnlab.plugins.registry import Registration, Registry

HEAD_FOR_TASK = {"lm": "per_step"}


def options(config: Any) -> dict[str, Any]:
    """A group node's options for its constructor: every field but ``name``."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "name"}


def build_dataset(conf: RunConfig, registry: Registry) -> Dataset:
    reg = registry.get("data", conf.data.name)
    return reg.obj(conf.data, conf.seed)


def check_cell_contract(reg: Registration, cell_options: dict) -> None:
    """Run the conformance kit's shape check on a small cell; PluginError if it fails.

    A cell whose arrays have the wrong shape would otherwise fail deep inside the
    model with a NumPy broadcasting error that names neither the cell nor its plugin.
    """
    from rnnlab.testing.conformance import CellUnderTest, check_shapes

    try:
        check_shapes(CellUnderTest(reg.obj, cell_options))
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if not isinstance(exc, AssertionError):
            detail = f"it raised {type(exc).__name__}: {detail}"
        raise PluginError(
            f"cell '{reg.name}' from {reg.plugin.describe()} breaks the cell "
            f"contract: {detail}; fix the cell (rnnlab.testing."
            f"cell_conformance_tests checks it)"
        ) from None


def build_model(conf: RunConfig, dataset: Dataset, registry: Registry) -> RecurrentModel:
    reg = registry.get("cell", conf.cell.name)
    check_cell_contract(reg, options(conf.cell))
    m = conf.model
    token_input = dataset.vocab_size is not None
    return RecurrentModel(
        cell_factory=partial(reg.obj, **options(conf.cell)),
        vocab_size=dataset.vocab_size,
        embed_size=(m.embed_size or dataset.vocab_size) if token_input else None,
        input_size=None if token_input else dataset.input_size,
        hidden_size=m.hidden_size,
        layers=m.layers,
        output_size=dataset.output_size,
        head=HEAD_FOR_TASK.get(dataset.task, m.head),
        seq_len=dataset.seq_len,
        dropout=m.dropout,
        rng=np.random.default_rng(conf.seed),
        dtype=np.dtype(conf.dtype),
    )


def build_optimizer(conf: RunConfig, model: RecurrentModel, registry: Registry) -> Optimizer:
    reg = registry.get("optimizer", conf.optimizer.name)
    return reg.obj(model.params, conf.optimizer)
