"""The two-step difference toy (rnnlab.data.difference) and its batching."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.data import DataError, DifferenceDataset


@pytest.fixture(scope="module")
def dataset():
    return DifferenceDataset(train_size=1000, val_size=250, test_size=130, seed=3)


def all_batches(ds, split, batch_size, epoch=0):
    return [
        ds.batch(split, epoch, i, batch_size, bptt=2)
        for i in range(ds.num_batches(split, batch_size, bptt=2))
    ]


def examples(batches):
    """The (first digit, second digit, label) rows of a list of batches, in order."""
    return np.concatenate([np.column_stack([x.T, y]) for x, y in batches])


def test_describes_a_two_step_token_classification(dataset):
    assert dataset.task == "classify"
    assert (dataset.vocab_size, dataset.input_size) == (10, None)
    assert (dataset.seq_len, dataset.output_size) == (2, 2)


def test_batches_are_time_major_int32_token_ids_and_labels(dataset):
    x, y = dataset.batch("train", 0, 0, 32, bptt=1)
    assert x.shape == (2, 32) and y.shape == (32,)
    assert x.dtype == y.dtype == np.int32


def test_digits_are_one_to_nine_and_the_label_is_first_minus_second_positive(dataset):
    rows = examples(all_batches(dataset, "train", 100))
    assert set(np.unique(rows[:, :2])) == set(range(1, 10))
    np.testing.assert_array_equal(rows[:, 2], (rows[:, 0] - rows[:, 1] > 0).astype(int))


def test_same_seed_gives_the_same_examples_and_another_seed_different_ones():
    a, b, c = (DifferenceDataset(200, 50, 50, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(
        examples(all_batches(a, "val", 50)), examples(all_batches(b, "val", 50))
    )
    assert not np.array_equal(
        examples(all_batches(a, "val", 50)), examples(all_batches(c, "val", 50))
    )


def test_train_examples_do_not_depend_on_the_val_and_test_sizes():
    a, b = DifferenceDataset(200, 50, 50, seed=5), DifferenceDataset(200, 70, 10, seed=5)
    np.testing.assert_array_equal(
        examples(all_batches(a, "train", 20)), examples(all_batches(b, "train", 20))
    )


def test_epoch_order_is_a_function_of_seed_and_epoch(dataset):
    again = DifferenceDataset(train_size=1000, val_size=250, test_size=130, seed=3)
    for epoch in (0, 4):
        np.testing.assert_array_equal(
            examples(all_batches(dataset, "train", 64, epoch)),
            examples(all_batches(again, "train", 64, epoch)),
        )


def test_a_batch_asked_for_out_of_sequence_equals_the_one_seen_in_a_pass(dataset):
    in_pass = all_batches(dataset, "train", 64, epoch=2)
    np.testing.assert_array_equal(
        examples([dataset.batch("train", 2, 7, 64, 2)]), examples(in_pass[7:8])
    )


def test_each_epoch_shuffles_the_train_split_differently(dataset):
    first, second = (examples(all_batches(dataset, "train", 1000, e)) for e in (0, 1))
    assert not np.array_equal(first, second)
    assert sorted(map(tuple, first.tolist())) == sorted(map(tuple, second.tolist()))


def test_train_drops_the_last_partial_batch(dataset):
    assert dataset.num_batches("train", 64, bptt=2) == 1000 // 64
    assert {len(y) for _, y in all_batches(dataset, "train", 64)} == {64}


@pytest.mark.parametrize("split, size", [("val", 250), ("test", 130)])
def test_one_pass_over_val_or_test_covers_every_example_once_in_a_fixed_order(dataset, split, size):
    passes = [examples(all_batches(dataset, split, 64, epoch)) for epoch in (0, 3)]
    assert len(passes[0]) == size  # 64 does not divide size: the last batch is partial
    np.testing.assert_array_equal(passes[0], passes[1])
    single = examples(all_batches(dataset, split, 1))
    np.testing.assert_array_equal(passes[0], single)


def test_bptt_does_not_change_the_batches(dataset):
    for a, b in zip(
        dataset.batch("train", 1, 3, 16, bptt=1), dataset.batch("train", 1, 3, 16, 9), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_majority_baseline_is_the_val_accuracy_of_the_most_common_train_label(dataset):
    train_labels = examples(all_batches(dataset, "train", 1000))[:, 2]
    val_labels = examples(all_batches(dataset, "val", 250))[:, 2]
    assert np.bincount(train_labels).argmax() == 0  # P(first > second) = 36/81 < 1/2
    assert dataset.baselines == {"majority_acc": pytest.approx(np.mean(val_labels == 0))}


def test_default_sizes_are_8000_4000_4000():
    ds = DifferenceDataset()
    assert [ds.size(split) for split in ("train", "val", "test")] == [8000, 4000, 4000]


def test_an_empty_split_raises_data_error():
    with pytest.raises(DataError, match=r"data.val_size is 0; every split needs at least 1"):
        DifferenceDataset(train_size=100, val_size=0, test_size=10)


def test_a_batch_larger_than_the_train_split_raises_data_error(dataset):
    with pytest.raises(
        DataError,
        match=r"the train split has 1000 examples, fewer than one "
        r"batch of 2000; lower train.batch_size",
    ):
        dataset.num_batches("train", 2000, bptt=2)


def test_a_batch_index_past_the_end_raises_index_error(dataset):
    with pytest.raises(IndexError, match="batch 4 of split 'val' does not exist; it has 4"):
        dataset.batch("val", 0, 4, 64, bptt=2)
