"""The long-lag tasks: the adding problem and the temporal order problem."""

import numpy as np
import pytest

from rnnlab.data import DataError
from rnnlab.data.adding import AddingDataset
from rnnlab.data.temporal_order import TemporalOrderDataset, X


def test_adding_target_is_the_sum_of_the_two_marked_values():
    data = AddingDataset(length=20, train_size=64, val_size=16, test_size=16, seed=3)
    x, y = data.batch("val", 0, 0, 16, 20)
    assert x.shape == (20, 16, 2) and y.shape == (16, 1) and x.dtype == np.float32
    assert np.all(x[:, :, 1].sum(axis=0) == 2)
    assert np.all(x[:10, :, 1].sum(axis=0) == 1)  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=0), rtol=1e-6)


def test_adding_baseline_is_the_mse_of_always_predicting_one():
    data = AddingDataset(length=10, train_size=32, val_size=20000, test_size=8, seed=0)
    assert data.baselines["predict_one_mse"] == pytest.approx(1 / 6, abs=0.01)
    assert data.task == "regress" and data.input_size == 2 and data.vocab_size is None


def test_temporal_order_class_is_the_order_of_the_two_relevant_symbols():
    data = TemporalOrderDataset(length=50, train_size=64, val_size=32, test_size=32, seed=1)
    x, y = data.batch("val", 0, 0, 32, 50)
    assert x.shape == (50, 32) and y.shape == (32,)
    for column, label in zip(x.T, y, strict=True):
        relevant = column[column >= X] - X
        assert len(relevant) == 2 and label == 2 * relevant[0] + relevant[1]
        assert 5 <= np.flatnonzero(column >= X)[0] < 10


def test_long_lag_tasks_are_deterministic_under_a_seed():
    a, b = AddingDataset(10, 16, 8, 8, seed=5), AddingDataset(10, 16, 8, 8, seed=5)
    np.testing.assert_array_equal(
        a.batch("train", 2, 0, 8, 10)[0], b.batch("train", 2, 0, 8, 10)[0]
    )


@pytest.mark.parametrize(
    "make", [lambda: AddingDataset(length=1), lambda: TemporalOrderDataset(length=5)]
)
def test_too_short_sequences_are_refused(make):
    with pytest.raises(DataError, match=r"data\.length"):
        make()
