"""The copy (memory) task and the per-step task it uses ("classify_steps"): shapes,
determinism, the recall mask, baselines, and how the task scores and truncates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnlab.data.base import unpack
from rnnlab.data.copy_task import CopyDataset
from rnnlab.nn.gru import GRUCell
from rnnlab.nn.model import RecurrentModel
from rnnlab.runner.evaluation import evaluate, train_pass
from rnnlab.tasks import StepClassification
from rnnlab.tracking.metrics_file import read_metrics

SMALL = dict(delay=4, symbols=3, alphabet=5, train_size=40, val_size=12, test_size=12)


def small(seed: int = 0, **changes: int) -> CopyDataset:
    return CopyDataset(**{**SMALL, **changes}, seed=seed)


def test_batches_are_time_major_with_a_target_and_a_mask_per_step():
    data = small()
    x, y, mask = unpack(data.batch("train", 0, 0, 8, 64))
    steps = 2 * 3 + 4 + 1
    assert x.shape == y.shape == mask.shape == (steps, 8)
    assert x.dtype == y.dtype == np.int32 and mask.dtype == bool
    assert data.seq_len == steps and data.vocab_size == 7 and data.output_size == 5
    assert data.task == "classify_steps"


def test_the_symbols_come_first_then_blanks_the_marker_and_the_recall_steps():
    x, y, mask = unpack(small().batch("val", 0, 0, 12, 64))
    shown = x[:3]
    assert ((shown >= 1) & (shown <= 5)).all()
    assert (x[3:7] == 0).all() and (x[7] == 6).all() and (x[8:] == 0).all()
    assert (mask[8:]).all() and not mask[:8].any()
    np.testing.assert_array_equal(y[8:], shown - 1)  # classes 0..4 of symbols 1..5


def test_examples_are_a_function_of_the_seed():
    a, b, c = small(seed=1), small(seed=1), small(seed=2)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(a.batch(split, 3, 1, 4, 8)[0], b.batch(split, 3, 1, 4, 8)[0])
    assert not np.array_equal(a.batch("val", 0, 0, 12, 8)[0], c.batch("val", 0, 0, 12, 8)[0])


def test_the_baselines_are_those_of_a_model_that_remembers_nothing():
    assert small(alphabet=5).baselines == {
        "memoryless_acc": 0.2,
        "memoryless_loss": pytest.approx(math.log(5)),
    }


def test_only_the_masked_steps_are_scored():
    task, rng = StepClassification(), np.random.default_rng(0)
    out = rng.standard_normal((4, 3, 5)).astype(np.float32)
    y = rng.integers(0, 5, (4, 3))
    mask = np.zeros((4, 3), bool)
    mask[2:] = True
    loss, grad = task.loss(out, y, mask)
    changed = out.copy()
    changed[:2] += 10  # outputs at unscored steps do not matter
    assert task.loss(changed, y, mask)[0] == loss
    assert not grad[:2].any() and grad[2:].any()
    expected, _ = task.loss(out[2:], y[2:], None)
    assert loss == pytest.approx(expected)
    sums = task.tally(out, y, mask, loss)
    assert sums["count"] == 6
    assert task.metrics("val", sums)["val/acc"] == sums["correct"] / 6


def model_for(data: CopyDataset) -> RecurrentModel:
    return RecurrentModel(
        cell_factory=GRUCell,
        vocab_size=data.vocab_size,
        embed_size=4,
        input_size=None,
        hidden_size=8,
        layers=1,
        output_size=data.output_size,
        head="per_step",
        rng=np.random.default_rng(0),
        dtype=np.float64,
    )


@pytest.mark.parametrize(("bptt", "reaches_symbols"), [(11, True), (6, False)])
def test_bptt_cuts_the_gradient_between_chunks_of_a_sequence(bptt, reaches_symbols):
    # 11 steps: symbols at 0-2, recall at 8-10; chunks of 6 put the recall steps in the
    # second chunk, so no gradient reaches the inputs the symbols were embedded from
    data = small()
    model, task = model_for(data), StepClassification()
    batch = unpack(data.batch("train", 0, 0, 8, bptt))
    model.zero_grad()
    loss, sums, _ = train_pass(model, task, batch, model.initial_state(8), bptt)
    symbol_rows = model.embed.grads["weight"][1:6]
    assert bool(np.abs(symbol_rows).sum() > 0) == reaches_symbols
    assert sums["count"] == 3 * 8 and loss == pytest.approx(sums["loss"] / sums["count"])


def test_an_evaluation_scores_the_recall_steps_of_every_sequence():
    data = small()
    m = evaluate(model_for(data), data, StepClassification(), "val", 5, 64)
    assert sorted(m) == ["val/acc", "val/loss"]
    assert 0 <= m["val/acc"] <= 1 and m["val/loss"] > 0


@pytest.mark.slow
def test_a_copy_run_logs_its_recall_accuracy_and_baselines(run_rnnlab, tmp_path):
    proc = run_rnnlab(
        "data=copy",
        "data.delay=3",
        "data.symbols=2",
        "data.alphabet=4",
        "data.train_size=64",
        "data.val_size=16",
        "data.test_size=16",
        "model.hidden_size=8",
        "train.batch_size=16",
        "train.steps=6",
        "train.eval_every=3",
        "train.log_every=3",
        "tracking.trackers=[metrics_file]",
        "hydra.run.dir=copy",
    )
    assert proc.returncode == 0, proc.stderr
    assert "test/acc" in proc.stderr
    logged = {k for _, m in read_metrics(tmp_path / "copy/metrics.jsonl") for k in m}
    assert {"data/memoryless_acc", "data/memoryless_loss", "train/acc"} <= logged
    assert {"val/acc", "val/loss", "test/acc", "speed/seqs_per_s"} <= logged
    assert not (tmp_path / "copy/samples").exists()  # no text samples for this task
