"""A model's loss on a dataset's batches as its task defines it: one training pass, and a
split's metrics."""

from __future__ import annotations

import numpy as np

from rnnlab.data.base import Dataset, unpack
from rnnlab.nn.cell import State
from rnnlab.nn.model import RecurrentModel
from rnnlab.tasks import PER_STEP, Sums, Task, add_sums


def chunked(task: Task) -> bool:
    """Whether ``task``'s sequences train in chunks of ``bptt`` steps (a per-step head with
    ``bptt`` truncating within a sequence)."""
    return task.truncates_within_sequence and task.head == PER_STEP


def forward(
    model: RecurrentModel, task: Task, x: np.ndarray, state: list[State], train: bool, bptt: int
) -> tuple[np.ndarray, list[State]]:
    """``model.forward`` on a whole batch; with a ``last``/``flatten`` head and ``bptt``
    truncating within a sequence, gradients flow back the last ``bptt`` steps only."""
    last_steps = task.truncates_within_sequence and task.head != PER_STEP
    return model.forward(x, state, train=train, bptt=bptt if last_steps else None)


def train_pass(
    model: RecurrentModel,
    task: Task,
    batch: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    state: list[State],
    bptt: int,
) -> tuple[float, Sums, list[State]]:
    """Forward and backward of one training ``batch`` ``(x, y, mask)`` from ``state``: its
    mean loss over the scored targets, its sums (``Task.tally``) and the final state; the
    gradients accumulate into ``model.grads``. A chunked task (``chunked``) runs the batch in
    chunks of ``bptt`` steps, the state carried across with the gradient cut, each chunk's
    gradient weighted by its share of the scored targets."""
    x, y, mask = batch
    if not chunked(task):
        out, final = forward(model, task, x, state, True, bptt)
        loss, dout = task.loss(out, y, mask)
        sums = task.tally(out, y, mask, loss)
        del out  # the outputs (T*N*C logits for a language model) are not held through backward
        model.backward(dout)
        return loss, sums, final
    total, loss, sums = task.count(y, mask), 0.0, {}
    for start in range(0, len(x), bptt):
        steps = slice(start, start + bptt)
        part = None if mask is None else mask[steps]
        out, state = model.forward(x[steps], state, train=True)
        scored = task.count(y[steps], part)
        if not scored:  # no target here: nothing to backpropagate
            continue
        part_loss, dout = task.loss(out, y[steps], part)
        add_sums(sums, task.tally(out, y[steps], part, part_loss))
        del out
        model.backward(dout * (scored / total))
        loss += part_loss * scored / total
    return loss, sums, state


def evaluate(
    model: RecurrentModel,
    dataset: Dataset,
    task: Task,
    split: str,
    batch_size: int,
    bptt: int,
    max_batches: int = 0,
) -> dict[str, float]:
    """``task``'s metrics (``<split>/loss``, ``<split>/bpc`` | ``/acc`` | ``/mse`` ...) over the
    first ``max_batches`` batches of ``split`` (0: all); the state carries across batches
    when the task says so, else every batch starts fresh."""
    n = dataset.num_batches(split, batch_size, bptt)
    if max_batches:
        n = min(n, max_batches)
    sums: Sums = {}
    state = model.initial_state(batch_size)
    for i in range(n):
        x, y, mask = unpack(dataset.batch(split, 0, i, batch_size, bptt))
        if not task.carries_state:
            state = model.initial_state(x.shape[1])
        out, state = forward(model, task, x, state, False, bptt)
        loss, _ = task.loss(out, y, mask)
        add_sums(sums, task.tally(out, y, mask, loss))
    return task.metrics(split, sums)
