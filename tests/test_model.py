"""RecurrentModel: gradients by finite differences for every head, input kind and option,
truncated BPTT, state carry-over, gradient profiles, dtypes, and params/grads as the layers'
own arrays. Parametrized tests run the built-in cells and a StepCell written in this module."""

import numpy as np
import pytest

from rnnlab.nn import (
    GRUCell,
    LSTMCell,
    RecurrentModel,
    RNNCell,
    StepCell,
    l2_penalty,
    max_gradient_error,
    mse,
    softmax_cross_entropy,
)


class TanhStepRNN(StepCell):
    """``h' = tanh(x W + h U + b)`` written as single steps, as a plugin author may write a cell."""

    def __init__(self, input_size, hidden_size, rng, dtype=np.float32):
        super().__init__(input_size, hidden_size, rng, dtype)
        self.params = {
            "w": 0.5 * rng.standard_normal((input_size, hidden_size)),
            "u": 0.5 * rng.standard_normal((hidden_size, hidden_size)),
            "b": 0.1 * rng.standard_normal(hidden_size),
        }
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}
        self.init_grads()

    def step(self, x, state):
        (h,) = state
        h_new = np.tanh(x @ self.params["w"] + h @ self.params["u"] + self.params["b"])
        return h_new, (h_new,), (x, h, h_new)

    def step_backward(self, dstate, cache):
        x, h, h_new = cache
        dpre = dstate[0] * (1 - h_new * h_new)
        self.grads["w"] += x.T @ dpre
        self.grads["u"] += h.T @ dpre
        self.grads["b"] += dpre.sum(axis=0)
        return dpre @ self.params["w"].T, (dpre @ self.params["u"].T,)


class ProfilelessRNN(TanhStepRNN):
    """A cell that does not report ``state_grad_norms``."""

    def backward(self, dhs, dfinal_state=None):
        grads = super().backward(dhs, dfinal_state)
        self.state_grad_norms = None
        return grads


CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell, "step_rnn": TanhStepRNN}
V, E, H, CLASSES = 5, 3, 4, 3  # vocabulary, embedding, hidden units, classes
T, N = 5, 2
TOLERANCE = 1e-6


def make_model(cell="lstm", *, dtype=np.float64, seed=0, **options) -> RecurrentModel:
    """A 2-layer token-input LM model unless ``options`` say otherwise."""
    kwargs = dict(hidden_size=H, output_size=V, vocab_size=V, embed_size=E, layers=2)
    kwargs.update(options)
    return RecurrentModel(CELLS[cell], rng=np.random.default_rng(seed), dtype=dtype, **kwargs)


def cross_entropy(out, targets):
    """Mean cross-entropy of logits (..., C) against ``targets`` (...,); gradient shaped as out."""
    loss, dout = softmax_cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1))
    return loss, dout.reshape(out.shape)


def random_state(model, rng):
    """A random (not zero) initial state for every layer, so the carried state is exercised."""
    return [tuple(rng.standard_normal(s.shape) for s in layer) for layer in model.initial_state(N)]


def gradient_error(
    model, inputs, targets, state, loss_fn=cross_entropy, before_forward=None, **forward_options
) -> float:
    """Worst relative error of ``model.backward``'s parameter gradients against finite
    differences."""
    before_forward = before_forward or (lambda: None)

    def loss():
        before_forward()
        return loss_fn(model.forward(inputs, state, **forward_options)[0], targets)[0]

    before_forward()
    out, _ = model.forward(inputs, state, **forward_options)
    model.zero_grad()
    model.backward(loss_fn(out, targets)[1])
    analytic = {name: g.copy() for name, g in model.grads.items()}
    return max_gradient_error(loss, model.params, analytic)


@pytest.fixture
def rng():
    return np.random.default_rng(1)


@pytest.fixture
def tokens(rng):
    return rng.integers(0, V, (T, N))


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_language_model_gradients(cell, rng, tokens):
    model = make_model(cell)
    targets = rng.integers(0, V, (T, N))
    assert gradient_error(model, tokens, targets, random_state(model, rng)) < TOLERANCE


@pytest.mark.parametrize("head", ["last", "flatten"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_classifier_gradients(cell, head, rng, tokens):
    model = make_model(cell, output_size=CLASSES, head=head, seq_len=T)
    labels = rng.integers(0, CLASSES, N)
    assert gradient_error(model, tokens, labels, model.initial_state(N)) < TOLERANCE


def test_dense_input_regression_gradients(rng):
    model = make_model(
        "gru", vocab_size=None, embed_size=None, input_size=3, output_size=1, head="last"
    )
    xs = rng.standard_normal((T, N, 3))
    target = rng.standard_normal(N)
    assert "embed.weight" not in model.params
    assert gradient_error(model, xs, target, model.initial_state(N), loss_fn=mse) < TOLERANCE


@pytest.mark.parametrize("head", ["per_step", "last", "flatten"])
def test_dropout_gradients_use_the_forward_masks(head, rng, tokens):
    model = make_model("lstm", output_size=CLASSES, head=head, seq_len=T, dropout=0.4)
    targets = rng.integers(0, CLASSES, (T, N) if head == "per_step" else N)
    state = model.initial_state(N)
    seeded = model.rng.bit_generator.state

    def same_masks():
        model.rng.bit_generator.state = seeded

    same_masks()
    with_dropout, _ = model.forward(tokens, state, train=True)
    without, _ = model.forward(tokens, state, train=False)
    assert not np.allclose(with_dropout, without)  # the masks are really in the way
    assert gradient_error(model, tokens, targets, state, before_forward=same_masks) < TOLERANCE


def test_l2_penalty_value_covers_weight_matrices_only():
    model = make_model("gru")
    grads = {name: np.zeros_like(p) for name, p in model.params.items()}
    value = l2_penalty(model.params, grads, coef=0.1)
    matrices = [p for p in model.params.values() if p.ndim == 2]
    assert len(matrices) == 6  # embedding, 2 x (weight_ih, weight_hh), head
    assert value == pytest.approx(0.05 * sum(np.sum(w * w) for w in matrices), rel=1e-12)


def test_l2_penalty_gradient_adds_to_the_data_gradient(rng, tokens):
    model = make_model("rnn")
    targets = rng.integers(0, V, (T, N))
    state = model.initial_state(N)
    coef = 0.1

    def total_loss():
        penalty = l2_penalty(
            model.params, {k: np.zeros_like(p) for k, p in model.params.items()}, coef
        )
        return cross_entropy(model.forward(tokens, state)[0], targets)[0] + penalty

    out, _ = model.forward(tokens, state)
    model.zero_grad()
    model.backward(cross_entropy(out, targets)[1])
    l2_penalty(model.params, model.grads, coef)
    analytic = {name: g.copy() for name, g in model.grads.items()}
    assert max_gradient_error(total_loss, model.params, analytic) < TOLERANCE


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_truncated_bptt_equals_a_forward_backward_of_the_last_steps_from_the_carried_state(
    cell, rng
):
    T_long, k = 7, 3
    tokens = rng.integers(0, V, (T_long, N))
    labels = rng.integers(0, CLASSES, N)
    model = make_model(cell, output_size=CLASSES, head="last")
    state0 = random_state(model, rng)

    out, _ = model.forward(tokens, state0, bptt=k)
    model.zero_grad()
    model.backward(cross_entropy(out, labels)[1])
    truncated = {name: g.copy() for name, g in model.grads.items()}

    _, carried = model.forward(tokens[: T_long - k], state0)
    out_ref, _ = model.forward(tokens[T_long - k :], carried)
    model.zero_grad()
    model.backward(cross_entropy(out_ref, labels)[1])

    np.testing.assert_allclose(out, out_ref, rtol=1e-12)
    for name, g in model.grads.items():
        np.testing.assert_allclose(truncated[name], g, rtol=1e-10, atol=1e-14, err_msg=name)


def test_truncated_bptt_needs_at_least_one_step(tokens):
    model = make_model("gru", output_size=CLASSES, head="last")
    with pytest.raises(ValueError, match="bptt must be at least 1"):
        model.forward(tokens, model.initial_state(N), bptt=0)


def test_truncated_bptt_with_the_flatten_head_trains_the_head_on_every_step(rng):
    T_long, k = 6, 3  # T_long = 2k: the short model can also carry the state over the first k
    tokens = rng.integers(0, V, (T_long, N))
    labels = rng.integers(0, CLASSES, N)
    model = make_model("gru", output_size=CLASSES, head="flatten", seq_len=T_long)
    state0 = model.initial_state(N)

    full, _ = model.forward(tokens, state0)
    model.zero_grad()
    model.backward(cross_entropy(full, labels)[1])
    head_full = model.grads["head.weight"].copy()

    out, _ = model.forward(tokens, state0, bptt=k)
    dout = cross_entropy(out, labels)[1]
    model.zero_grad()
    model.backward(dout)
    np.testing.assert_allclose(out, full, rtol=1e-12)
    np.testing.assert_allclose(model.grads["head.weight"], head_full, rtol=1e-12)

    # The cells see the head only through the columns of the last k steps.
    short = make_model("gru", output_size=CLASSES, head="flatten", seq_len=k)
    for name, p in short.params.items():
        p[...] = model.params[name] if name != "head.weight" else model.params[name][:, -k * H :]
    _, carried = short.forward(tokens[:k], state0)
    short.forward(tokens[T_long - k :], carried)
    short.backward(dout)
    for name, g in short.grads.items():
        if name.startswith(("cells.", "embed.")):
            np.testing.assert_allclose(model.grads[name], g, rtol=1e-10, atol=1e-14, err_msg=name)


def test_params_and_grads_are_the_layers_own_arrays(rng, tokens):
    model = make_model("lstm")
    assert model.params["embed.weight"] is model.embed.params["weight"]
    assert model.params["cells.1.weight_hh"] is model.cells[1].params["weight_hh"]
    assert model.grads["head.bias"] is model.head.grads["bias"]
    assert sorted(model.params) == sorted(model.grads)

    state = model.initial_state(N)
    before, _ = model.forward(tokens, state)
    model.params["head.bias"] += 1.0  # an optimizer's in-place update
    after, _ = model.forward(tokens, state)
    np.testing.assert_allclose(after, before + 1.0, rtol=1e-12)

    model.backward(np.ones_like(after))
    assert model.cells[0].grads["weight_ih"].any()
    model.zero_grad()
    assert not any(g.any() for g in (model.cells[0].grads["weight_ih"], model.head.grads["weight"]))


def test_state_grad_norms_are_each_layers_dl_dh_profile_over_the_kept_steps(rng, tokens):
    model = make_model("gru", output_size=CLASSES, head="last")
    out, _ = model.forward(tokens, model.initial_state(N), bptt=3)
    dout = cross_entropy(out, rng.integers(0, CLASSES, N))[1]
    model.backward(dout)
    profiles = model.state_grad_norms
    assert [p.shape for p in profiles] == [(3,), (3,)]
    # at the last step the top layer's dL/dh is exactly what the head sends down
    assert profiles[-1][-1] == pytest.approx(
        np.linalg.norm(dout @ model.params["head.weight"]), rel=1e-12
    )


def test_state_grad_norms_are_none_for_a_cell_that_reports_none(rng, tokens):
    model = RecurrentModel(
        ProfilelessRNN,
        hidden_size=H,
        output_size=V,
        vocab_size=V,
        embed_size=E,
        layers=2,
        rng=rng,
        dtype=np.float64,
    )
    out, _ = model.forward(tokens, model.initial_state(N))
    model.backward(np.ones_like(out))
    assert model.state_grad_norms == [None, None]


@pytest.mark.parametrize("head", ["per_step", "last", "flatten"])
def test_float32_model_keeps_float32_everywhere(head, rng, tokens):
    model = make_model(
        "gru", dtype=np.float32, output_size=CLASSES, head=head, seq_len=T, dropout=0.2
    )
    out, final = model.forward(
        tokens, model.initial_state(N), bptt=3 if head != "per_step" else None
    )
    model.backward(np.ones_like(out))
    assert out.dtype == np.float32
    assert all(s.dtype == np.float32 for layer in final for s in layer)
    for name in model.params:
        assert model.params[name].dtype == model.grads[name].dtype == np.float32, name


def test_float32_dense_inputs_stay_float32(rng):
    model = make_model(
        "lstm",
        dtype=np.float32,
        vocab_size=None,
        embed_size=None,
        input_size=3,
        output_size=1,
        head="last",
    )
    out, _ = model.forward(
        rng.standard_normal((T, N, 3)).astype(np.float32), model.initial_state(N)
    )
    model.backward(mse(out, np.zeros(N))[1])
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in model.grads.values())


def test_dense_float64_inputs_are_cast_to_a_float32_model(rng):
    model = make_model(
        "step_rnn",
        dtype=np.float32,
        vocab_size=None,
        embed_size=None,
        input_size=3,
        output_size=1,
        head="last",
    )
    out, final = model.forward(rng.standard_normal((T, N, 3)), model.initial_state(N))
    model.backward(mse(out, np.zeros(N))[1])
    assert out.dtype == np.float32
    assert all(s.dtype == np.float32 for layer in final for s in layer)
    assert all(g.dtype == np.float32 for g in model.grads.values())


def test_single_step_sampling_continues_the_sequence(tokens):
    model = make_model("lstm", dropout=0.5)
    prime = tokens[:, :1]
    whole, _ = model.forward(prime, model.initial_state(1), train=False)
    state = model.initial_state(1)
    for t in range(T):
        out, state = model.forward(prime[t : t + 1], state, train=False)
        assert out.shape == (1, 1, V)
        np.testing.assert_allclose(out[0], whole[t], rtol=1e-12)


def test_no_dropout_when_not_training(tokens):
    with_dropout = make_model("rnn", dropout=0.5)
    without = make_model("rnn")
    state = without.initial_state(N)
    np.testing.assert_array_equal(
        with_dropout.forward(tokens, state, train=False)[0],
        without.forward(tokens, state, train=False)[0],
    )


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_two_chunks_of_8_carry_the_state_of_one_chunk_of_16(cell, rng):
    tokens = rng.integers(0, V, (16, N))
    model = make_model(cell)
    state0 = random_state(model, rng)
    whole, final_whole = model.forward(tokens, state0)
    first, state = model.forward(tokens[:8], state0)
    second, final = model.forward(tokens[8:], state)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12)
    for layer, layer_whole in zip(final, final_whole, strict=True):
        for s, s_whole in zip(layer, layer_whole, strict=True):
            np.testing.assert_allclose(s, s_whole, rtol=1e-12)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"head": "middle"}, "head must be one of"),
        ({"head": "flatten"}, "needs seq_len"),
        ({"input_size": 3}, "exactly one of"),
        ({"vocab_size": None, "embed_size": None}, "exactly one of"),
    ],
)
def test_invalid_configurations_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        make_model("rnn", **options)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_after_backward_no_layer_keeps_the_chunks_activations(cell, rng, tokens):
    """So that the next chunk's activations are not allocated beside them."""
    model = make_model(cell, layers=1)
    out, _ = model.forward(tokens, model.initial_state(N))
    model.backward(cross_entropy(out, rng.integers(0, V, (T, N)))[1])
    for layer in [model.embed, model.head, *model.cells]:
        kept = [
            name
            for name, v in vars(layer).items()
            if isinstance(v, np.ndarray) and v.size >= T * N * H
        ]
        assert not kept, (type(layer).__name__, kept)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("steps", [2, T])
def test_token_chunks_below_and_above_the_vocabulary_size_get_exact_gradients(cell, steps, rng):
    """2 x N = 4 tokens < V: embedded vectors into the cell; 5 x N = 10 >= V: the cell's
    per-token projection table. Both are the same function with the same gradients."""
    model = make_model(cell, layers=1)
    inputs, targets = rng.integers(0, V, (steps, N)), rng.integers(0, V, (steps, N))
    assert gradient_error(model, inputs, targets, random_state(model, rng)) < TOLERANCE
