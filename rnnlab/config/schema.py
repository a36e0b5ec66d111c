"""The config schema: the top-level run settings and the base of every group node.

Group nodes (``cell``, ``data``, ``optimizer``, ``schedule``) are the dataclasses that
plugins register (subclasses of the bases here); rnnlab stores them in
Hydra's ConfigStore, so each is both the schema and the defaults.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from rnnlab.config.checks import (
    below,
    check_value,
    checked,
    fraction,
    non_negative,
    one_of,
    positive,
)


@dataclass
class CellConfig:
    """Base of a cell's options; every field but ``name`` goes to the cell's constructor."""

    name: str = MISSING


@dataclass
class DataConfig:
    """Base of a dataset's options."""

    name: str = MISSING


@dataclass
class OptimizerConfig:
    """Options every optimizer shares: learning rate, clipping and L2."""

    name: str = MISSING
    lr: float = checked(0.1, positive())
    clip_norm: float | None = checked(5.0, positive(), optional=True)
    clip_value: float | None = checked(None, positive(), optional=True)
    l2: float = checked(0.0, non_negative())
    l2_biases: bool = False


@dataclass
class ScheduleConfig:
    """Base of a learning-rate schedule's options (the base rate is ``optimizer.lr``)."""

    name: str = MISSING

    def check_with(self, base_lr: float, total_steps: int) -> None:
        """Rules involving ``optimizer.lr`` or ``train.steps``; raise ConfigError."""


@dataclass
class ModelConfig:
    hidden_size: int = checked(128, positive())
    layers: int = checked(1, positive())
    #: embedding width for token inputs; 0 means the vocabulary size, at most 256
    embed_size: int = checked(0, non_negative())
    dropout: float = checked(0.0, below(1.0))
    #: classification head: on the last step, or on all hidden states flattened
    head: str = checked("last", one_of("last", "flatten"))


@dataclass
class TrainConfig:
    steps: int = checked(3000, positive())
    batch_size: int = checked(32, positive())
    eval_every: int = checked(250, positive())
    log_every: int = checked(25, positive())
    #: validation batches per evaluation during training; 0 means the whole split
    eval_batches: int = checked(0, non_negative())
    #: a step whose loss or gradient is NaN/inf: stop the run (FAILED), or skip its update
    on_nonfinite: str = checked("stop", one_of("stop", "skip"))
    #: early stopping: end after this many evaluations without improvement; 0 never stops
    patience: int = checked(0, non_negative())
    #: the least decrease of the validation loss that counts as an improvement
    min_delta: float = checked(0.0, non_negative())


@dataclass
class SampleConfig:
    length: int = checked(300, non_negative())
    #: softmax temperature; 0 takes the most likely character (greedy)
    temperature: float = checked(0.8, non_negative())
    #: sample among the k most likely characters only; 0 means all
    top_k: int = checked(0, non_negative())
    #: sample among the most likely characters whose probabilities sum to top_p (nucleus)
    top_p: float = checked(1.0, fraction(include_one=True))
    prime: str = "\n"


def check_sample_option(key: str, field_name: str, value: Any, separator: str = " ") -> None:
    """Check ``value`` by the rule of ``SampleConfig.<field_name>``; the ConfigError names it
    ``key`` (``--top-k``, a column of a model's input)."""
    rule = next(
        f.metadata["rule"] for f in dataclasses.fields(SampleConfig) if f.name == field_name
    )
    check_value(key, value, rule, separator=separator)


@dataclass
class TrackingConfig:
    """The trackers of a run; each registered tracker's config dataclass adds its options here
    (``rnnlab.config.store.run_schema``: the MLflow plugin's ``experiment`` and
    ``tracking_uri``)."""

    trackers: list[str] = field(default_factory=lambda: ["metrics_file", "mlflow"])
    run_name: str | None = None


@dataclass
class RunConfig:
    cell: Any = MISSING
    data: Any = MISSING
    optimizer: Any = MISSING
    schedule: Any = MISSING
    bptt: int = checked(64, positive())
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    seed: int = checked(0, non_negative())
    dtype: str = checked("float32", one_of("float32", "float64"))
    #: threads for this job; 0: the cores it has (its share under a parallel launcher)
    threads: int = checked(0, non_negative())
    #: a run directory or MLflow run id to continue
    resume: str | None = None

    def check(self, prefix: str) -> None:
        if isinstance(self.schedule, ScheduleConfig):
            self.schedule.check_with(self.optimizer.lr, self.train.steps)
