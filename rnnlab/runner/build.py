"""Build a job's dataset, model and optimizer from its validated config and the registry."""

from __future__ import annotations

import dataclasses
from functools import partial

import numpy as np

from rnnlab.nn.model import RecurrentModel
from rnnlab.plugins.registry import Registry

HEAD_FOR_TASK = {"lm": "per_step"}


def options(config) -> dict:
    """A group node's options for its constructor: every field but ``name``."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "name"}


def build_dataset(conf, registry: Registry):
    reg = registry.get("data", conf.data.name)
    return reg.obj(conf.data, conf.seed)


def build_model(conf, dataset, registry: Registry) -> RecurrentModel:
    reg = registry.get("cell", conf.cell.name)
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


def build_optimizer(conf, model: RecurrentModel, registry: Registry):
    reg = registry.get("optimizer", conf.optimizer.name)
    return reg.obj(model.params, conf.optimizer)
