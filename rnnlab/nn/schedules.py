"""Learning-rate schedules: the rate of each update from the base rate and the position.

A schedule is asked ``rate(step, epoch)`` before every update (``step``: updates done
so far; ``epoch``: epochs completed) and told each validation loss (``observe``). Its
state is a JSON-able dict (``state_dict``), kept in checkpoints, so a resumed run
continues with the same rates. Every schedule here but ``PlateauSchedule`` is a pure
function of the position.
"""

from __future__ import annotations

import math


class Schedule:
    """Base: the constant rate ``base_lr``; ``total_steps`` is the length of the run."""

    def __init__(self, base_lr: float, total_steps: int) -> None:
        self.base_lr, self.total_steps = base_lr, total_steps

    def rate(self, step: int, epoch: int) -> float:
        """The learning rate of update ``step + 1``, after ``epoch`` complete epochs."""
        return self.base_lr

    def observe(self, val_loss: float) -> None:
        """A validation loss, measured after the updates so far."""

    def state_dict(self) -> dict[str, float]:
        return {}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Restore from ``state_dict()`` output."""


class ConstantSchedule(Schedule):
    """The base rate throughout."""


class StepSchedule(Schedule):
    """Multiply the rate by ``factor`` once ``start`` epochs (or steps) are complete, and again
    every ``every`` epochs (steps) after that, as char-rnn's ``learning_rate_decay`` and
    ``learning_rate_decay_after`` (``every=1``, counted in epochs)."""

    def __init__(
        self,
        base_lr: float,
        total_steps: int,
        factor: float,
        start: int,
        every: int = 1,
        unit: str = "epoch",
    ) -> None:
        super().__init__(base_lr, total_steps)
        self.factor, self.start, self.every, self.unit = factor, start, every, unit

    def rate(self, step: int, epoch: int) -> float:
        done = epoch if self.unit == "epoch" else step
        decays = (done - self.start) // self.every + 1 if done >= self.start else 0
        return self.base_lr * self.factor**decays


class CosineSchedule(Schedule):
    """A linear warm-up from ``base_lr / warmup`` to ``base_lr`` over the first ``warmup``
    updates, then a half cosine down to ``final_lr`` at update ``total_steps``."""

    def __init__(
        self, base_lr: float, total_steps: int, warmup: int = 0, final_lr: float = 0.0
    ) -> None:
        super().__init__(base_lr, total_steps)
        self.warmup, self.final_lr = warmup, final_lr

    def rate(self, step: int, epoch: int) -> float:
        if step < self.warmup:
            return self.base_lr * (step + 1) / self.warmup
        span = max(self.total_steps - self.warmup, 1)
        progress = min((step + 1 - self.warmup) / span, 1.0)
        return self.final_lr + 0.5 * (self.base_lr - self.final_lr) * (
            1 + math.cos(math.pi * progress)
        )


class PlateauSchedule(Schedule):
    """Multiply the rate by ``factor`` once more than ``patience`` evaluations in a row have not
    brought the validation loss below ``best * (1 - threshold)``, never below ``floor`` (as
    torch's ReduceLROnPlateau in its default "min" and "rel" modes, without cooldown)."""

    def __init__(
        self,
        base_lr: float,
        total_steps: int,
        factor: float = 0.1,
        patience: int = 10,
        floor: float = 0.0,
        threshold: float = 1e-4,
    ) -> None:
        super().__init__(base_lr, total_steps)
        self.factor, self.patience, self.floor = factor, patience, floor
        self.threshold = threshold
        self.lr, self.best, self.bad_evaluations = base_lr, math.inf, 0

    def rate(self, step: int, epoch: int) -> float:
        return self.lr

    def observe(self, val_loss: float) -> None:
        if val_loss < self.best * (1 - self.threshold):
            self.best, self.bad_evaluations = val_loss, 0
            return
        self.bad_evaluations += 1
        if self.bad_evaluations > self.patience:
            self.lr = max(self.lr * self.factor, self.floor)
            self.bad_evaluations = 0

    def state_dict(self) -> dict[str, float]:
        return {"lr": self.lr, "best": self.best, "bad_evaluations": self.bad_evaluations}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.lr, self.best = state["lr"], state["best"]
        self.bad_evaluations = int(state["bad_evaluations"])
