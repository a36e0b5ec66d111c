"""Config schema (dataclasses), range rules, and their registration with Hydra."""

from rnnlab.config.checks import (
    Rule,
    at_least,
    below,
    between,
    checked,
    fraction,
    non_negative,
    one_of,
    positive,
    validate,
)
from rnnlab.config.run_config import make_run_config
from rnnlab.config.schema import (
    CellConfig,
    DataConfig,
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
)

__all__ = [
    "CellConfig",
    "DataConfig",
    "OptimizerConfig",
    "Rule",
    "RunConfig",
    "ScheduleConfig",
    "at_least",
    "below",
    "between",
    "checked",
    "fraction",
    "make_run_config",
    "non_negative",
    "one_of",
    "positive",
    "validate",
]
