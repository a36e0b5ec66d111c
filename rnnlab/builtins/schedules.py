"""The built-in learning-rate schedules: constant, step (char-rnn's decay), cosine (with
warm-up) and plateau (reduce on a validation plateau)."""

from dataclasses import dataclass

from rnnlab.config import (
    ScheduleConfig,
    at_least,
    below,
    checked,
    fraction,
    non_negative,
    one_of,
)
from rnnlab.errors import ConfigError
from rnnlab.nn.schedules import ConstantSchedule, CosineSchedule, PlateauSchedule, StepSchedule
from rnnlab.plugins.hookspecs import hookimpl


@dataclass
class StepConfig(ScheduleConfig):
    #: the rate is multiplied by this at each decay
    factor: float = checked(0.97, fraction())
    #: the first decay comes once this many epochs (or steps) are complete
    start: int = checked(10, at_least(1))
    #: then one decay every this many epochs (or steps)
    every: int = checked(1, at_least(1))
    unit: str = checked("epoch", one_of("epoch", "step"))


@dataclass
class CosineConfig(ScheduleConfig):
    #: steps of linear warm-up to optimizer.lr
    warmup: int = checked(0, non_negative())
    #: the rate at the last step (train.steps)
    final_lr: float = checked(0.0, non_negative())

    def check_with(self, base_lr: float, total_steps: int) -> None:
        if self.warmup >= total_steps:
            raise ConfigError(
                f"schedule.warmup={self.warmup} is not allowed: it must be below train.steps="
                f"{total_steps}; lower schedule.warmup"
            )
        if self.final_lr >= base_lr:
            raise ConfigError(
                f"schedule.final_lr={self.final_lr} is not allowed: it must be below "
                f"optimizer.lr={base_lr}; lower schedule.final_lr"
            )


@dataclass
class PlateauConfig(ScheduleConfig):
    factor: float = checked(0.5, fraction())
    #: evaluations without a new best validation loss tolerated before the rate drops
    patience: int = checked(3, non_negative())
    #: the rate never drops below this
    floor: float = checked(0.0, non_negative())
    #: a new best must be below the best so far times (1 - threshold)
    threshold: float = checked(1e-4, below(1.0))


def build_constant(c: ScheduleConfig, base_lr: float, total_steps: int) -> ConstantSchedule:
    return ConstantSchedule(base_lr, total_steps)


def build_step(c: StepConfig, base_lr: float, total_steps: int) -> StepSchedule:
    return StepSchedule(base_lr, total_steps, c.factor, c.start, c.every, c.unit)


def build_cosine(c: CosineConfig, base_lr: float, total_steps: int) -> CosineSchedule:
    return CosineSchedule(base_lr, total_steps, c.warmup, c.final_lr)


def build_plateau(c: PlateauConfig, base_lr: float, total_steps: int) -> PlateauSchedule:
    return PlateauSchedule(base_lr, total_steps, c.factor, c.patience, c.floor, c.threshold)


@hookimpl
def register_schedules(register):
    register("constant", build_constant)
    register("step", build_step, config=StepConfig)
    register("cosine", build_cosine, config=CosineConfig)
    register("plateau", build_plateau, config=PlateauConfig)
