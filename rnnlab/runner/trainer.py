"""The truncated-BPTT training loop with evaluation, diagnostics and checkpoints.

The dataset's task (``rnnlab.tasks.Task``) says how a batch is scored, which metrics are
logged, whether the state carries from batch to batch (it is reset at an epoch boundary) and
how ``bptt`` truncates the gradient; the loop itself is the same for every task.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
from pluggy import HookRelay

from rnnlab.config.schema import RunConfig
from rnnlab.data.base import Dataset, unpack
from rnnlab.errors import RnnlabError
from rnnlab.files import write_text_atomically
from rnnlab.names import PROFILES_FILE
from rnnlab.nn.model import RecurrentModel
from rnnlab.nn.optim import (
    Optimizer,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
    grad_norms,
    l2_penalty,
)
from rnnlab.nn.schedules import Schedule
from rnnlab.runner.checkpoint import BEST, LAST, Checkpoint, save_checkpoint
from rnnlab.runner.evaluation import evaluate, train_pass
from rnnlab.runner.progress import Progress
from rnnlab.runner.run_context import Run
from rnnlab.runner.sampling import TextCodec, sample_text, warn_unseen
from rnnlab.tasks import Task, add_sums

#: the tag an early-stopped run carries: the step it stopped at
EARLY_STOP_TAG = "rnnlab.early_stopped_at"
#: checkpoint meta keys that checkpoints of older runs lack (restore gives their defaults)
OPTIONAL_META = {"skipped_steps", "schedule", "early_stopping"}

#: numpy floating-point warnings off: non-finite values are caught and reported in one line
NONFINITE_QUIETLY: dict[str, Any] = dict(over="ignore", invalid="ignore", divide="ignore")


class TrainingDiverged(RnnlabError):
    """The loss or the gradient became NaN or infinite."""


def with_sums(interval: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's logging interval in this version's form: older versions kept the
    correct predictions and the examples apart, not as the task's sums."""
    if "sums" in interval:
        return interval
    sums = {"count": interval["examples"], "correct": interval["correct"]}
    return {
        "loss": interval["loss"],
        "l2": interval["l2"],
        "steps": interval["steps"],
        "sums": sums,
    }


def diverged(what: str, last_finite_norm: float) -> TrainingDiverged:
    """The one line for a run that diverged: ``what`` happened, and the fix."""
    return TrainingDiverged(
        f"training diverged {what} (last finite gradient norm {last_finite_norm:.4g}); "
        f"lower optimizer.lr or set optimizer.clip_norm"
    )


class Trainer:
    """Trains ``model`` on ``dataset`` with ``optimizer`` at the rates of ``schedule`` as
    ``conf`` says, scoring it as ``task`` (the dataset's) says; reports via ``hook``."""

    def __init__(
        self,
        conf: RunConfig,
        dataset: Dataset,
        model: RecurrentModel,
        optimizer: Optimizer,
        hook: HookRelay,
        run: Run,
        schedule: Schedule,
        task: Task,
    ) -> None:
        self.conf, self.data, self.model, self.opt = conf, dataset, model, optimizer
        self.schedule = schedule
        self.lr = schedule.rate(0, 0)
        self.hook, self.run = hook, run
        self.task = task
        self.batch_size = conf.train.batch_size
        self.bptt = conf.bptt
        self.step = 0
        self.epoch = 0
        self.index = 0
        self.best_val = math.inf
        self.sample_rng = np.random.default_rng([conf.seed, 1])
        self.state = model.initial_state(self.batch_size)
        self.num_train_batches = dataset.num_batches("train", self.batch_size, self.bptt)
        self.profiles: dict[str, list[float]] = {}
        self.last_finite_norm = 0.0
        self.last_step_skipped = False
        #: steps whose loss or gradient was not finite, skipped (train.on_nonfinite=skip)
        self.skipped_steps = 0
        #: early stopping: the best validation loss by train.min_delta, evaluations since
        self.early = {"best": math.inf, "stale": 0}
        #: the step of ``last.npz`` (a resume starts there); None before the first checkpoint
        self.checkpoint_step: int | None = None
        self._reset_interval()

    # -- one step ---------------------------------------------------------------------------

    def train_step(self) -> None:
        batch = unpack(self.data.batch("train", self.epoch, self.index, self.batch_size, self.bptt))
        x = batch[0]
        state = self.state if self.task.carries_state else self.model.initial_state(x.shape[1])
        self.lr = self.opt.lr = self.schedule.rate(self.step, self.epoch)
        self.model.zero_grad()
        loss, sums, final = train_pass(self.model, self.task, batch, state, self.bptt)
        grads = self.model.grads
        o = self.conf.optimizer
        l2 = l2_penalty(self.model.params, grads, o.l2, o.l2_biases) if o.l2 > 0 else 0.0
        norm = clip_grad_norm(grads, o.clip_norm) if o.clip_norm else global_norm(grads)
        self.last_step_skipped = not (math.isfinite(loss) and math.isfinite(norm))
        if not self.last_step_skipped:
            self.last_finite_norm = norm
            if o.clip_value:
                clip_grad_value(grads, o.clip_value)
            self.opt.step(grads)
            self.interval["loss"] += loss
            self.interval["l2"] += l2
            add_sums(self.interval["sums"], sums)
            self.interval["steps"] += 1
        elif self.conf.train.on_nonfinite == "skip" and self.params_finite():
            self.skipped_steps += 1
            final = self.model.initial_state(self.batch_size)  # not carried on: may be non-finite
        else:
            raise diverged(
                f"at step {self.step + 1}: loss {loss}, gradient norm {norm}", self.last_finite_norm
            )

        self.step += 1
        self.index += 1
        self.state = final
        if self.index == self.num_train_batches:
            self.epoch, self.index = self.epoch + 1, 0
            self.state = self.model.initial_state(self.batch_size)
        self.units += self.task.speed_units(x)

    def params_finite(self) -> bool:
        return all(np.isfinite(p).all() for p in self.model.params.values())

    def running_loss(self) -> float:
        """Mean training loss over the updates since the last log (NaN if all were skipped)."""
        steps = self.interval["steps"]
        return self.interval["loss"] / steps if steps else math.nan

    # -- reporting ----------------------------------------------------------------------------

    def _reset_interval(self) -> None:
        self.interval: dict[str, Any] = {"loss": 0.0, "l2": 0.0, "steps": 0, "sums": {}}
        self.units = 0
        self.train_seconds = 0.0

    def train_metrics(self) -> dict[str, float]:
        """Means over the updates since the last log; without the loss and accuracy if every
        step was skipped, and without the gradient metrics if the last step was."""
        iv = self.interval
        m = {
            "lr": float(self.lr),
            "epoch": self.epoch + self.index / self.num_train_batches,
        }
        m[self.task.speed_metric] = self.units / max(self.train_seconds, 1e-9)
        if self.conf.train.on_nonfinite == "skip":
            m["train/skipped_steps"] = self.skipped_steps
        if iv["steps"]:
            m["train/loss"], m["train/l2"] = self.running_loss(), iv["l2"] / iv["steps"]
            m.update(self.task.train_metrics(m["train/loss"], iv["sums"]))
        if not self.last_step_skipped:
            m.update(self.grad_metrics())
        return m

    def grad_metrics(self) -> dict[str, float]:
        """Norms of the last step's gradients (after clipping) and its dL/dh_t profile."""
        grads = self.model.grads
        m = {"grad/norm": self.last_finite_norm, "grad/norm_clipped": global_norm(grads)}
        m.update({f"grad/{k}": v for k, v in grad_norms(grads).items()})
        profile = self.model.state_grad_norms[-1]
        if profile is not None and len(profile):
            first, last = float(profile[0]), float(profile[-1])
            m["grad/dh_first"], m["grad/dh_last"] = first, last
            if first > 0 and last > 0:
                m["grad/dh_log10_first_over_last"] = math.log10(first / last)
        return m

    def evaluate(self, split: str, max_batches: int = 0) -> dict[str, float]:
        return evaluate(
            self.model, self.data, self.task, split, self.batch_size, self.bptt, max_batches
        )

    # -- checkpoints and artifacts ----------------------------------------------------------

    def meta(self) -> dict:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "index": self.index,
            "best_val": self.best_val,
            "interval": self.interval,
            "last_finite_norm": self.last_finite_norm,
            "skipped_steps": self.skipped_steps,
            "schedule": self.schedule.state_dict(),
            "early_stopping": self.early,
            "sample_rng": self.sample_rng.bit_generator.state,
            "model_rng": self.model.rng.bit_generator.state,
            "run": self.run.meta,
        }

    def save(self, best: bool) -> None:
        """Write ``last.npz`` (and ``best.npz``); never a checkpoint with non-finite parameters."""
        if not self.params_finite():
            raise diverged(
                f"by step {self.step}: the parameters are no longer finite", self.last_finite_norm
            )
        run_dir = Path(self.run.run_dir)
        for name, is_best in [(LAST, False)] + ([(BEST, True)] if best else []):
            path = run_dir / name
            save_checkpoint(path, self.model.params, self.opt.state_dict(), self.state, self.meta())
            if not is_best:
                self.checkpoint_step = self.step
            self.hook.on_checkpoint(run=self.run, step=self.step, path=path, best=is_best)

    def _record_profile(self) -> None:
        """Keep the last step's dL/dh_t profile in ``grad_profile.json`` (label -> norms)."""
        profile = self.model.state_grad_norms[-1]
        if profile is None or self.last_step_skipped:
            return
        self.profiles[f"step {self.step}"] = [float(v) for v in profile]
        path = Path(self.run.run_dir) / PROFILES_FILE
        write_text_atomically(path, json.dumps(self.profiles), durable=False)

    def check_checkpoint(self, ckpt: Checkpoint) -> None:
        """Raise CheckpointError unless ``ckpt`` fits this model, optimizer and loop."""
        required = self.meta().keys() - OPTIONAL_META  # newer than some runs' checkpoints
        ckpt.check_fits(self.model.params, self.opt.state_dict(), self.state, required)

    def restore(self, ckpt: Checkpoint) -> None:
        """Continue exactly where ``ckpt`` left off (parameters, optimizer, data, RNGs)."""
        ckpt.load_into(self.model.params)
        self.opt.load_state_dict(ckpt.optim)
        m = ckpt.meta
        self.step, self.epoch, self.index = m["step"], m["epoch"], m["index"]
        self.checkpoint_step = self.step
        self.best_val, self.interval = m["best_val"], with_sums(m["interval"])
        self.last_finite_norm = m["last_finite_norm"]
        self.skipped_steps = m.get("skipped_steps", 0)  # absent in checkpoints of older runs
        self.schedule.load_state_dict(m.get("schedule", {}))
        self.early = m.get("early_stopping", self.early)
        self.sample_rng.bit_generator.state = m["sample_rng"]
        self.model.rng.bit_generator.state = m["model_rng"]
        self.state = [tuple(a.copy() for a in layer) for layer in ckpt.states]
        path = Path(self.run.run_dir) / PROFILES_FILE
        if path.is_file():
            self.profiles = {
                k: v
                for k, v in json.loads(path.read_text()).items()
                if int(k.split()[-1]) <= self.step
            }

    def write_sample(self, label: str) -> str:
        s = self.conf.sample
        codec = cast(TextCodec, self.data)  # checked before the run: it encodes and decodes
        text = sample_text(self.model, codec, s, self.sample_rng)
        path = Path(self.run.run_dir) / "samples" / f"{label}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.hook.on_artifact(run=self.run, path=path, artifact_path="samples")
        return text

    # -- the loop -----------------------------------------------------------------------------

    def evaluate_and_checkpoint(self) -> dict[str, float]:
        m = self.evaluate("val", self.conf.train.eval_batches)
        best = m["val/loss"] < self.best_val
        if best:
            self.best_val = m["val/loss"]
        m["val/best_loss"] = self.best_val
        self.schedule.observe(m["val/loss"])
        if m["val/loss"] < self.early["best"] - self.conf.train.min_delta:
            self.early = {"best": m["val/loss"], "stale": 0}
        else:
            self.early["stale"] += 1
        self.hook.on_evaluation(run=self.run, step=self.step, split="val", metrics=m)
        self._record_profile()
        if self.task.samples_text and self.step < self.conf.train.steps and not self.stopping():
            self.write_sample(f"step_{self.step:07d}")
        self.save(best)
        return m

    def stopping(self) -> bool:
        """True once ``train.patience`` evaluations in a row brought no improvement."""
        return 0 < self.conf.train.patience <= self.early["stale"]

    def stop_early(self) -> None:
        """Tag the run and say why it stops before ``train.steps``."""
        t = self.conf.train
        self.run.tags[EARLY_STOP_TAG] = str(self.step)
        print(
            f"early stopping at step {self.step} of {t.steps}: val/loss has not improved by "
            f"more than train.min_delta={t.min_delta:g} in {self.early['stale']} evaluations "
            f"(train.patience={t.patience}); best val/loss {self.best_val:.4f}",
            file=sys.stderr,
        )

    def train(self) -> float:
        """Run to ``train.steps`` (or an early stop); returns the best validation loss (the
        sweep objective)."""
        t = self.conf.train
        if self.task.samples_text and self.conf.sample.length:
            warn_unseen(cast(TextCodec, self.data), self.conf.sample.prime, "sample.prime")
        if self.step == 0 and self.data.baselines:
            self.hook.on_metrics(
                run=self.run,
                step=0,
                metrics={f"data/{k}": float(v) for k, v in self.data.baselines.items()},
            )
        progress = Progress(total=t.steps, initial=self.step)
        try:
            while self.step < t.steps and not self.stopping():
                start = time.perf_counter()
                with np.errstate(**NONFINITE_QUIETLY):
                    self.train_step()
                self.train_seconds += time.perf_counter() - start
                progress.advance(self.running_loss())
                if self.step % t.log_every == 0 or self.step == t.steps:
                    self.hook.on_metrics(run=self.run, step=self.step, metrics=self.train_metrics())
                    self._reset_interval()
                if self.step % t.eval_every == 0 or self.step == t.steps:
                    with np.errstate(**NONFINITE_QUIETLY):
                        progress.note(self.evaluate_and_checkpoint())
        finally:
            progress.close()
        if self.stopping() and self.step < t.steps:
            self.stop_early()
        return self.best_val

    def finish(self) -> dict[str, float]:
        """Test metrics (best checkpoint), the final sample; returns the test metrics."""
        best = Checkpoint(Path(self.run.run_dir) / BEST)
        best.load_into(self.model.params)
        m = self.evaluate("test")
        self.hook.on_evaluation(run=self.run, step=self.step, split="test", metrics=m)
        if self.task.samples_text:
            self.write_sample("final")
        return m
