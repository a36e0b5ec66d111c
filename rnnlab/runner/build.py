"""Build a job's dataset, model, optimizer and learning-rate schedule from its validated config
and the registry."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import numpy as np

from rnnlab.config.schema import RunConfig
from rnnlab.data.base import Dataset, DataShape
from rnnlab.errors import PluginError, RnnlabError
from rnnlab.nn.cell_contract import CellUnderTest, check_shapes
from rnnlab.nn.model import CellFactory, RecurrentModel
from rnnlab.nn.optim import Optimizer
from rnnlab.nn.schedules import Schedule
from rnnlab.plugins.registry import Registration, Registry
from rnnlab.runner.data_contract import check_dataset, dataset_task
from rnnlab.runner.memory import (
    MemoryNeed,
    ModelShape,
    available_memory,
    check_fits,
    estimate,
)
from rnnlab.runner.optimizer_contract import check_optimizer_contract
from rnnlab.tasks import Task

#: the embedding width when model.embed_size is 0: the vocabulary size, up to this bound
EMBED_SIZE_BOUND = 256


def options(config: Any) -> dict[str, Any]:
    """A group node's options for its constructor: every field but ``name``."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "name"}


def build_dataset(conf: RunConfig, registry: Registry) -> Dataset:
    """The dataset ``conf.data`` names, checked against the dataset and task contracts."""
    reg = registry.get("data", conf.data.name)
    dataset = reg.obj(conf.data, conf.seed)
    check_dataset(reg, dataset, registry)
    return dataset


def check_cell_contract(reg: Registration, cell_options: dict) -> None:
    """Check the shapes of a small cell (``check_shapes``, also in the conformance kit);
    PluginError if it fails.

    A cell whose arrays have the wrong shape would otherwise fail deep inside the
    model with a NumPy broadcasting error that names neither the cell nor its plugin.
    """
    try:
        check_shapes(CellUnderTest(reg.obj, cell_options))
    except RnnlabError:
        raise  # a user's mistake, such as an option the cell cannot run with
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if not isinstance(exc, AssertionError):
            detail = f"it raised {type(exc).__name__}: {detail}"
        raise PluginError(
            f"cell '{reg.name}' from {reg.plugin.describe()} breaks the cell "
            f"contract: {detail}; fix the cell (rnnlab.testing."
            f"cell_conformance_tests checks it)"
        ) from None


def embed_size(conf: RunConfig, dataset: DataShape) -> int | None:
    """The embedding width for token inputs (None for dense inputs): ``model.embed_size``,
    or when that is 0 the vocabulary size up to ``EMBED_SIZE_BOUND``."""
    if dataset.vocab_size is None:
        return None
    return conf.model.embed_size or min(dataset.vocab_size, EMBED_SIZE_BOUND)


def model_shape(conf: RunConfig, dataset: DataShape, task: Task) -> ModelShape:
    """The sizes of the model ``conf`` asks for on ``dataset`` and its ``task``, for the memory
    estimate."""
    m, batch = conf.model, conf.train.batch_size
    head = task.head or m.head
    steps = (dataset.seq_len or conf.bptt) if task.truncates_within_sequence else conf.bptt
    return ModelShape(
        input_size=embed_size(conf, dataset) or dataset.input_size or 0,
        hidden_size=m.hidden_size,
        layers=m.layers,
        output_size=dataset.output_size,
        head_inputs=m.hidden_size * (steps if head == "flatten" else 1),
        head_rows=steps * batch if head == "per_step" else batch,
        batch_size=batch,
        steps=steps,
        itemsize=np.dtype(conf.dtype).itemsize,
        vocab_size=dataset.vocab_size,
    )


def memory_need(
    conf: RunConfig, dataset: DataShape, make_cell: CellFactory, registry: Registry
) -> MemoryNeed:
    """What training the model ``conf`` asks for on ``dataset`` needs in memory."""
    optimizer = registry.get("optimizer", conf.optimizer.name)
    return estimate(
        model_shape(conf, dataset, dataset_task(dataset, registry)),
        make_cell,
        lambda params: optimizer.obj(params, conf.optimizer),
    )


def memory_settings(dataset: DataShape, task: Task) -> list[str]:
    """The settings that shrink a model's memory on ``dataset``: ``bptt`` too when it is the
    length of a batch (``task`` does not truncate within a sequence)."""
    token_input = dataset.vocab_size is not None
    return [
        "model.hidden_size",
        "model.layers",
        *(["model.embed_size"] if token_input else []),
        "train.batch_size",
        *([] if task.truncates_within_sequence else ["bptt"]),
    ]


def build_model(conf: RunConfig, dataset: DataShape, registry: Registry) -> RecurrentModel:
    """The model ``conf`` asks for; NotEnoughMemory (before anything large is allocated)
    if it would not fit."""
    reg = registry.get("cell", conf.cell.name)
    check_cell_contract(reg, options(conf.cell))
    # before the memory estimate, which builds the optimizer over a probe
    optimizer = registry.get("optimizer", conf.optimizer.name)
    check_optimizer_contract(optimizer, conf.optimizer, np.dtype(conf.dtype))
    make_cell = partial(reg.obj, **options(conf.cell))
    task = dataset_task(dataset, registry)
    check_fits(
        memory_need(conf, dataset, make_cell, registry),
        available_memory(),
        memory_settings(dataset, task),
    )
    m = conf.model
    token_input = dataset.vocab_size is not None
    return RecurrentModel(
        cell_factory=make_cell,
        vocab_size=dataset.vocab_size,
        embed_size=embed_size(conf, dataset),
        input_size=None if token_input else dataset.input_size,
        hidden_size=m.hidden_size,
        layers=m.layers,
        output_size=dataset.output_size,
        head=task.head or m.head,
        seq_len=dataset.seq_len,
        dropout=m.dropout,
        rng=np.random.default_rng(conf.seed),
        dtype=np.dtype(conf.dtype),
    )


def build_reading_model(conf: RunConfig, dataset: DataShape, registry: Registry) -> RecurrentModel:
    """``build_model`` for what only reads a trained run (``rnnlab sample``, ``rnnlab
    evaluate``, a served MLflow model): on the NumPy engine whatever ``cell.kernel`` the run
    trained with, so that no numba is needed where a run is read (the same parameters, and
    results equal up to float rounding)."""
    if getattr(conf.cell, "kernel", "numpy") != "numpy":
        conf = dataclasses.replace(conf, cell=dataclasses.replace(conf.cell, kernel="numpy"))
    return build_model(conf, dataset, registry)


def build_optimizer(conf: RunConfig, model: RecurrentModel, registry: Registry) -> Optimizer:
    reg = registry.get("optimizer", conf.optimizer.name)
    return reg.obj(model.params, conf.optimizer)


def build_schedule(conf: RunConfig, registry: Registry) -> Schedule:
    """The learning-rate schedule ``conf.schedule`` names, from ``optimizer.lr`` over
    ``train.steps``."""
    reg = registry.get("schedule", conf.schedule.name)
    return reg.obj(conf.schedule, conf.optimizer.lr, conf.train.steps)
