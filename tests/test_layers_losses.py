"""Embedding, Linear, Dropout and the losses: gradients by finite differences, dtypes, stability."""

import numpy as np
import pytest

from rnnlab.nn import Dropout, Embedding, Linear, max_gradient_error, mse, softmax_cross_entropy

TOLERANCE = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_embedding_gradient_scatter_adds_repeated_ids(rng):
    embed = Embedding(6, 3, rng, np.float64)
    ids = np.array([[1, 4, 1], [1, 0, 4]])  # id 1 three times, id 4 twice; 2, 3, 5 unused
    weights = rng.standard_normal((2, 3, 3))
    loss = lambda: float(np.sum(weights * embed.forward(ids)))  # noqa: E731
    embed.backward(ids, weights)
    assert max_gradient_error(loss, embed.params, embed.grads) < TOLERANCE
    assert not embed.grads["weight"][[2, 3, 5]].any()


def test_embedding_backward_accumulates_over_calls(rng):
    embed = Embedding(4, 2, rng, np.float64)
    ids = np.array([[3, 1], [3, 3]])
    dout = rng.standard_normal((2, 2, 2))
    embed.backward(ids, dout)
    once = embed.grads["weight"].copy()
    embed.backward(ids, dout)
    np.testing.assert_allclose(embed.grads["weight"], 2 * once, rtol=1e-15)


def test_embedding_forward_gathers_rows(rng):
    embed = Embedding(5, 2, rng)
    ids = np.array([[3, 0], [3, 4]])
    out = embed.forward(ids)
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out[1, 0], embed.params["weight"][3])


def test_linear_gradients_of_weight_bias_and_input(rng):
    layer = Linear(4, 3, rng, np.float64)
    x = rng.standard_normal((5, 4))
    weights = rng.standard_normal((5, 3))
    loss = lambda: float(np.sum(weights * np.tanh(layer.forward(x))))  # noqa: E731
    y = layer.forward(x)
    dx = layer.backward(weights * (1 - np.tanh(y) ** 2))
    arrays = {**layer.params, "x": x}
    analytic = {**layer.grads, "x": dx}
    assert max_gradient_error(loss, arrays, analytic) < TOLERANCE


def test_linear_backward_accumulates_over_calls(rng):
    layer = Linear(2, 2, rng, np.float64)
    x, dy = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    layer.forward(x)
    layer.backward(dy)
    once = {k: g.copy() for k, g in layer.grads.items()}
    layer.backward(dy)
    for name, g in layer.grads.items():
        np.testing.assert_allclose(g, 2 * once[name], err_msg=name)


def test_softmax_cross_entropy_gradient(rng):
    logits = rng.standard_normal((6, 4)) * 3
    targets = np.array([0, 3, 3, 1, 2, 0])
    _, grad = softmax_cross_entropy(logits, targets)
    loss = lambda: softmax_cross_entropy(logits, targets)[0]  # noqa: E731
    assert max_gradient_error(loss, {"logits": logits}, {"logits": grad}) < TOLERANCE


def test_softmax_cross_entropy_is_the_mean_negative_log_probability():
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    loss, _ = softmax_cross_entropy(logits, np.array([1, 2]))
    assert loss == pytest.approx(-(np.log(0.25) + np.log(0.8)) / 2, rel=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [5e3, 5e3, -2e4]])
    loss, grad = softmax_cross_entropy(logits, np.array([0, 1]))
    assert loss == pytest.approx(np.log(2) / 2, rel=1e-12)  # row 0 is certain; row 1 is 50/50
    np.testing.assert_allclose(grad, [[0, 0, 0], [0.25, -0.25, 0]], atol=1e-15)


def test_mse_gradient(rng):
    pred = rng.standard_normal((4, 3))
    target = rng.standard_normal((4, 3))
    loss, grad = mse(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2), rel=1e-12)
    assert (
        max_gradient_error(lambda: mse(pred, target)[0], {"pred": pred}, {"pred": grad}) < TOLERANCE
    )


def test_mse_accepts_a_flat_target_for_a_column_of_predictions(rng):
    pred = rng.standard_normal((5, 1))
    target = rng.standard_normal(5)
    loss, grad = mse(pred, target)
    assert loss == pytest.approx(np.mean((pred[:, 0] - target) ** 2), rel=1e-12)
    assert grad.shape == pred.shape


def test_float32_inputs_give_float32_gradients(rng):
    embed = Embedding(5, 3, rng)
    layer = Linear(3, 4, rng)
    ids = np.array([[0, 2], [2, 4]])
    logits = layer.forward(embed.forward(ids).reshape(4, 3))
    _, dlogits = softmax_cross_entropy(logits, np.array([0, 1, 2, 3]))
    _, dpred = mse(logits, np.zeros((4, 4)))  # a float64 target does not promote
    dx = layer.backward(dlogits)
    embed.backward(ids, dx.reshape(2, 2, 3))
    assert logits.dtype == np.float32
    for name, array in {
        "dlogits": dlogits,
        "dpred": dpred,
        "dx": dx,
        "embed": embed.grads["weight"],
        **layer.grads,
    }.items():
        assert array.dtype == np.float32, name


def test_dropout_zeroes_or_scales_each_unit_by_the_inverse_keep_rate(rng):
    drop = Dropout(0.25, rng)
    x = rng.uniform(1, 2, (200, 50)).astype(np.float32)
    out = drop.forward(x, train=True)
    dropped = out == 0
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[~dropped], x[~dropped] / np.float32(0.75), rtol=1e-6)
    assert dropped.mean() == pytest.approx(0.25, abs=0.02)
    assert out.mean() == pytest.approx(x.mean(), rel=0.02)  # inverted: the mean is preserved


def test_dropout_is_the_identity_when_not_training(rng):
    drop = Dropout(0.5, rng)
    x = rng.standard_normal((4, 3))
    assert drop.forward(x, train=False) is x
    dout = rng.standard_normal((4, 3))
    assert drop.backward(dout) is dout


def test_dropout_backward_reuses_the_forward_mask(rng):
    drop = Dropout(0.5, rng)
    x = rng.uniform(1, 2, (8, 6))
    out = drop.forward(x, train=True)
    dout = rng.standard_normal((8, 6))
    dx = drop.backward(dout)
    np.testing.assert_allclose(dx, dout * out / x, rtol=1e-15)
    np.testing.assert_array_equal(drop.backward(dout), dx)  # no new draw


def test_dropout_masks_from_one_seed_are_the_same_in_float32_and_float64():
    x = np.ones((40, 25))
    out64 = Dropout(0.3, np.random.default_rng(5)).forward(x, train=True)
    out32 = Dropout(0.3, np.random.default_rng(5)).forward(x.astype(np.float32), train=True)
    np.testing.assert_array_equal(out64 == 0, out32 == 0)


@pytest.mark.parametrize("p", [1.0, -0.1])
def test_dropout_rejects_a_rate_outside_0_to_1(rng, p):
    with pytest.raises(ValueError, match="dropout rate"):
        Dropout(p, rng)
