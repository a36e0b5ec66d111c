"""Properties of the NumPy engine over random shapes, lengths, batch sizes and seeds (hypothesis).

For every built-in cell: outputs and gradients are finite and shaped as the contract says;
gradients of parameters, inputs and the initial state match central finite differences on
small float64 cases; running a sequence in chunks (carrying the state across) gives the
same outputs and final state as running it at once, for a cell and for the whole model.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.nn import GRUCell, LSTMCell, RecurrentModel, RNNCell, gradient_errors

CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
FAST = settings(max_examples=25, deadline=None)

cells = st.sampled_from(sorted(CELLS))
seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def cases(draw, max_steps=8, max_batch=4, max_size=6):
    """(cell name, T, N, input size, hidden size, seed)."""
    return (
        draw(cells),
        draw(st.integers(1, max_steps)),
        draw(st.integers(1, max_batch)),
        draw(st.integers(1, max_size)),
        draw(st.integers(1, max_size)),
        draw(seeds),
    )


def make(name, input_size, hidden_size, seed, dtype=np.float64):
    return CELLS[name](input_size, hidden_size, np.random.default_rng(seed), dtype)


def random_inputs(seed, *shape, dtype=np.float64):
    return np.random.default_rng([seed, 1]).standard_normal(shape).astype(dtype)


def random_state(cell, batch, seed):
    rng = np.random.default_rng([seed, 2])
    return tuple(
        rng.standard_normal((batch, cell.hidden_size)).astype(cell.dtype)
        for _ in range(cell.num_states)
    )


@FAST
@given(cases(), dtypes)
def test_outputs_and_gradients_are_finite_and_shaped_by_the_contract(case, dtype):
    name, T, N, I, H, seed = case
    cell = make(name, I, H, seed, dtype)
    hs, final = cell.forward(random_inputs(seed, T, N, I, dtype=dtype), random_state(cell, N, seed))
    assert hs.shape == (T, N, H) and hs.dtype == dtype and np.isfinite(hs).all()
    assert len(final) == cell.num_states
    assert all(s.shape == (N, H) and np.isfinite(s).all() for s in final)
    dxs, dstate0 = cell.backward(random_inputs(seed + 1, T, N, H, dtype=dtype), None)
    assert dxs.shape == (T, N, I) and np.isfinite(dxs).all()
    assert all(d.shape == (N, H) and np.isfinite(d).all() for d in dstate0)
    for key, grad in cell.grads.items():
        assert grad.shape == cell.params[key].shape and np.isfinite(grad).all()
    assert cell.state_grad_norms.shape == (T,) and np.isfinite(cell.state_grad_norms).all()


@settings(max_examples=15, deadline=None)
@given(cases(max_steps=3, max_batch=2, max_size=3))
def test_gradients_match_finite_differences(case):
    name, T, N, I, H, seed = case
    cell = make(name, I, H, seed)
    xs = random_inputs(seed, T, N, I)
    state = random_state(cell, N, seed)
    rng = np.random.default_rng([seed, 3])
    weight_hs = rng.standard_normal((T, N, H))
    weight_final = [rng.standard_normal((N, H)) for _ in state]

    def loss():
        hs, final = cell.forward(xs, state)
        return float(
            (hs * weight_hs).sum()
            + sum((s * w).sum() for s, w in zip(final, weight_final, strict=True))
        )

    cell.zero_grad()
    cell.forward(xs, state)
    dxs, dstate0 = cell.backward(weight_hs, tuple(weight_final))
    arrays = {
        **{f"param {k}": v for k, v in cell.params.items()},
        "xs": xs,
        **{f"state {i}": s for i, s in enumerate(state)},
    }
    analytic = {
        **{f"param {k}": v.copy() for k, v in cell.grads.items()},
        "xs": dxs,
        **{f"state {i}": d for i, d in enumerate(dstate0)},
    }
    errors = gradient_errors(loss, arrays, analytic)
    assert max(errors.values()) < 1e-6, errors


@FAST
@given(cases(max_steps=12), st.data())
def test_a_cell_run_in_chunks_equals_one_run(case, data):
    name, T, N, I, H, seed = case
    cuts = sorted(data.draw(st.sets(st.integers(1, T - 1), max_size=3)) if T > 1 else set())
    cell = make(name, I, H, seed)
    xs = random_inputs(seed, T, N, I)
    state = random_state(cell, N, seed)
    whole, whole_final = cell.forward(xs, state)
    whole = whole.copy()
    pieces = []
    for chunk in np.split(xs, cuts):
        hs, state = cell.forward(chunk, state)
        pieces.append(hs.copy())
    np.testing.assert_allclose(np.concatenate(pieces), whole, rtol=1e-12, atol=1e-12)
    for carried, at_once in zip(state, whole_final, strict=True):
        np.testing.assert_allclose(carried, at_once, rtol=1e-12, atol=1e-12)


@FAST
@given(
    cells,
    st.integers(2, 12),
    st.integers(1, 4),
    st.integers(2, 6),
    st.integers(1, 3),
    seeds,
    st.data(),
)
def test_a_language_model_run_in_bptt_chunks_equals_one_run(name, T, N, vocab, layers, seed, data):
    """What the trainer does: chunks of ``bptt`` steps with the final state carried over."""
    bptt = data.draw(st.integers(1, T))
    model = RecurrentModel(
        lambda i, h, rng, dtype: CELLS[name](i, h, rng, dtype),
        vocab_size=vocab,
        embed_size=3,
        hidden_size=4,
        output_size=vocab,
        layers=layers,
        rng=np.random.default_rng(seed),
        dtype=np.float64,
    )
    ids = np.random.default_rng([seed, 4]).integers(0, vocab, (T, N))
    whole, whole_final = model.forward(ids, model.initial_state(N), train=False)
    whole = whole.copy()
    state, pieces = model.initial_state(N), []
    for start in range(0, T, bptt):
        out, state = model.forward(ids[start : start + bptt], state, train=False)
        pieces.append(out.copy())
    assert whole.shape == (T, N, vocab) and np.isfinite(whole).all()
    np.testing.assert_allclose(np.concatenate(pieces), whole, rtol=1e-12, atol=1e-12)
    for layer_carried, layer_at_once in zip(state, whole_final, strict=True):
        for carried, at_once in zip(layer_carried, layer_at_once, strict=True):
            np.testing.assert_allclose(carried, at_once, rtol=1e-12, atol=1e-12)


@FAST
@given(cells, st.integers(2, 10), st.integers(1, 4), seeds, st.data())
def test_truncating_the_gradient_does_not_change_the_forward_pass(name, T, N, seed, data):
    """A classifier with ``bptt < T`` sees the same outputs; only its gradient is cut."""
    bptt = data.draw(st.integers(1, T - 1))

    def model():
        return RecurrentModel(
            lambda i, h, rng, dtype: CELLS[name](i, h, rng, dtype),
            input_size=3,
            hidden_size=4,
            output_size=2,
            head="last",
            rng=np.random.default_rng(seed),
            dtype=np.float64,
        )

    xs = random_inputs(seed, T, N, 3)
    full, truncated = model(), model()
    out_full, final_full = full.forward(xs, full.initial_state(N))
    out_cut, final_cut = truncated.forward(xs, truncated.initial_state(N), bptt=bptt)
    np.testing.assert_allclose(out_cut, out_full, rtol=1e-12, atol=1e-12)
    for a, b in zip(final_cut[0], final_full[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
