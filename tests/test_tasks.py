"""The built-in tasks keep the metric names runs have always logged, and a checkpoint of an
older version (its logging interval without the task's sums) still resumes."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.nn.losses import LN2
from rnnlab.runner.trainer import with_sums
from rnnlab.tasks import Classification, LanguageModel, Regression, Task, add_sums


def evaluation(task: Task, batches: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    sums: dict[str, float] = {}
    for out, y in batches:
        loss, _ = task.loss(out, y, None)
        add_sums(sums, task.tally(out, y, None, loss))
    return task.metrics("val", sums)


def test_a_language_model_reports_loss_and_bits_per_character_weighted_by_tokens():
    rng = np.random.default_rng(0)
    long, short = rng.standard_normal((4, 2, 3)), rng.standard_normal((1, 2, 3))
    ys = [rng.integers(0, 3, (4, 2)), rng.integers(0, 3, (1, 2))]
    m = evaluation(LanguageModel(), [(long, ys[0]), (short, ys[1])])
    losses = [LanguageModel().loss(o, y, None)[0] for o, y in zip([long, short], ys, strict=True)]
    assert m["val/loss"] == pytest.approx((losses[0] * 8 + losses[1] * 2) / 10)
    assert m["val/bpc"] == pytest.approx(m["val/loss"] / LN2)


def test_classification_reports_accuracy_and_regression_mse():
    out = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    assert evaluation(Classification(), [(out, np.array([0, 1, 1]))])["val/acc"] == 2 / 3
    m = evaluation(Regression(), [(np.array([[1.0], [3.0]]), np.array([[0.0], [3.0]]))])
    assert m == {"val/loss": 0.5, "val/mse": 0.5}


def test_the_training_metrics_of_each_task():
    assert LanguageModel().train_metrics(LN2, {}) == {"train/bpc": 1.0}
    assert Classification().train_metrics(0.3, {"count": 4, "correct": 3}) == {"train/acc": 0.75}
    assert Regression().train_metrics(0.3, {"count": 4}) == {}


def test_a_checkpoint_interval_of_an_older_version_becomes_the_task_sums():
    old = {"loss": 1.5, "l2": 0.0, "correct": 3, "examples": 4, "steps": 2}
    assert with_sums(old) == {
        "loss": 1.5,
        "l2": 0.0,
        "steps": 2,
        "sums": {"count": 4, "correct": 3},
    }
    assert with_sums(with_sums(old)) == with_sums(old)
