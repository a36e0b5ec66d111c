"""The built-in cells pass the same conformance kit as any plugin cell, and chunk correctly."""

import numpy as np
import pytest
from step_lstm import StepLSTM

from rnnlab.nn import GRUCell, LSTMCell, RNNCell
from rnnlab.testing import cell_conformance_tests

TestRNNTanh = cell_conformance_tests(RNNCell, options={"nonlinearity": "tanh"})
TestRNNReLU = cell_conformance_tests(RNNCell, options={"nonlinearity": "relu"})
TestLSTM = cell_conformance_tests(LSTMCell, options={"forget_bias": 1.0})
TestGRU = cell_conformance_tests(GRUCell)
TestStepCellLSTM = cell_conformance_tests(StepLSTM)

BUILT_IN = {
    "rnn_tanh": lambda rng: RNNCell(3, 5, rng, np.float64, nonlinearity="tanh"),
    "rnn_relu": lambda rng: RNNCell(3, 5, rng, np.float64, nonlinearity="relu"),
    "lstm": lambda rng: LSTMCell(3, 5, rng, np.float64),
    "gru": lambda rng: GRUCell(3, 5, rng, np.float64),
}


@pytest.fixture(params=sorted(BUILT_IN))
def make_cell(request):
    """A float64 built-in cell (input 3, hidden 5) from a fixed seed; each call a fresh copy."""
    return lambda: BUILT_IN[request.param](np.random.default_rng(0))


@pytest.fixture
def sequence():
    """64 steps of inputs for 2 streams, a random initial (h, c) and a loss on the last 16 steps."""
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((64, 2, 3))
    state0 = (rng.standard_normal((2, 5)), rng.standard_normal((2, 5)))
    dhs_last_chunk = np.zeros((64, 2, 5))
    dhs_last_chunk[48:] = rng.standard_normal((16, 2, 5))
    return xs, state0, dhs_last_chunk


def test_four_chunks_of_16_carry_the_state_of_one_chunk_of_64(make_cell, sequence):
    xs, state0, _ = sequence
    cell = make_cell()
    state0 = state0[: cell.num_states]
    hs_whole, final_whole = cell.forward(xs, state0)
    hs_whole = hs_whole.copy()
    chunks, state = [], state0
    for k in range(4):
        hs, state = cell.forward(xs[16 * k : 16 * (k + 1)], state)
        chunks.append(hs)
    np.testing.assert_allclose(np.concatenate(chunks), hs_whole, rtol=1e-12, atol=1e-12)
    for got, want in zip(state, final_whole, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_truncation_drops_exactly_the_gradient_through_the_chunk_boundary(make_cell, sequence):
    """Loss on the last of 4 chunks of 16: full BPTT over 64 steps = truncated + boundary part.

    The truncated gradient is what the last chunk's backward computes from its
    carried-over (detached) initial state h_48. What truncation drops is exactly
    the boundary gradient dL/dh_48 pushed back through steps 0..47: it is all
    that the earlier chunks' inputs receive under full BPTT, and it is not small.
    """
    xs, state0, dhs = sequence
    full, last_chunk, before = make_cell(), make_cell(), make_cell()
    state0 = state0[: full.num_states]
    full.forward(xs, state0)
    dxs_full, _ = full.backward(dhs)

    _, state_48 = before.forward(xs[:48], state0)
    last_chunk.forward(xs[48:], state_48)
    dxs_truncated, dstate_48 = last_chunk.backward(dhs[48:])

    np.testing.assert_allclose(dxs_truncated, dxs_full[48:], rtol=1e-10, atol=1e-12)
    # the dropped part: dL/dh_48 (and dL/dc_48) through the first 48 steps
    dxs_dropped, _ = before.backward(np.zeros_like(dhs[:48]), dstate_48)
    for name, g in full.grads.items():
        dropped = before.grads[name]
        np.testing.assert_allclose(last_chunk.grads[name] + dropped, g, rtol=1e-10, atol=1e-12)
        assert np.abs(dropped).max() > 1e-3 * np.abs(g).max(), name
    np.testing.assert_allclose(dxs_dropped, dxs_full[:48], rtol=1e-10, atol=1e-12)
    assert np.abs(dxs_full[32:48]).max() > 1e-3 * np.abs(dxs_full[48:]).max()


def test_lstm_effective_forget_bias_is_the_option():
    cell = LSTMCell(3, 5, np.random.default_rng(0), forget_bias=2.5)
    forget = slice(5, 10)
    effective = cell.params["bias_ih"] + cell.params["bias_hh"]
    np.testing.assert_array_equal(effective[forget], 2.5)
    assert np.abs(effective[:5]).max() < 2 / np.sqrt(5)


@pytest.mark.parametrize("cell_class, rows", [(RNNCell, 1), (LSTMCell, 4), (GRUCell, 3)])
def test_parameters_have_pytorch_names_shapes_and_init_range(cell_class, rows):
    cell = cell_class(3, 100, np.random.default_rng(0))
    shapes = {name: p.shape for name, p in cell.params.items()}
    assert shapes == {
        "weight_ih": (rows * 100, 3),
        "weight_hh": (rows * 100, 100),
        "bias_ih": (rows * 100,),
        "bias_hh": (rows * 100,),
    }
    weights = cell.params["weight_hh"]
    assert 0.098 < np.abs(weights).max() <= 0.1  # uniform(-1/sqrt(H), 1/sqrt(H)), H = 100
    assert abs(weights.mean()) < 0.001


def test_rnn_rejects_an_unknown_nonlinearity():
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNCell(3, 5, np.random.default_rng(0), nonlinearity="sigmoid")


def test_hidden_outputs_are_read_only_because_backward_reads_them(make_cell, sequence):
    xs, state0, _ = sequence
    cell = make_cell()
    hs, final = cell.forward(xs, state0[: cell.num_states])
    with pytest.raises(ValueError, match="read-only"):
        hs[0] = 0.0
    assert final[0].flags.writeable  # the final state is the caller's (e.g. to reset a stream)


def test_embedded_token_inputs_match_the_embedded_vectors_fed_to_forward(make_cell, sequence):
    """forward_embedded/backward_embedded (the input projection as a row gather of a
    per-token table) compute what embedding rows fed to forward/backward compute."""
    _, state0, dhs = sequence
    rng = np.random.default_rng(2)
    embedding = rng.standard_normal((7, 3))
    ids = rng.integers(0, 6, size=(64, 2))  # token 6 never occurs: its gradient row stays 0
    dense, embedded = make_cell(), make_cell()
    state0 = state0[: dense.num_states]
    hs_dense, final_dense = dense.forward(embedding[ids], state0)
    hs_embedded, final_embedded = embedded.forward_embedded(ids, embedding, state0)
    np.testing.assert_allclose(hs_embedded, hs_dense, rtol=1e-12, atol=1e-12)
    for got, want in zip(final_embedded, final_dense, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)

    dxs, dstate_dense = dense.backward(dhs)
    dembedding, dstate_embedded = embedded.backward_embedded(dhs)
    want = np.zeros_like(embedding)
    np.add.at(want, ids.ravel(), dxs.reshape(-1, 3))
    np.testing.assert_allclose(dembedding, want, rtol=1e-10, atol=1e-12)
    assert not dembedding[6].any()
    for got, want_state in zip(dstate_embedded, dstate_dense, strict=True):
        np.testing.assert_allclose(got, want_state, rtol=1e-10, atol=1e-12)
    for name, g in dense.grads.items():
        np.testing.assert_allclose(embedded.grads[name], g, rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(embedded.state_grad_norms, dense.state_grad_norms, rtol=1e-10)


@pytest.mark.parametrize("cell_class", [RNNCell, LSTMCell, GRUCell])
@pytest.mark.parametrize("hidden", [5, 256])
def test_recurrent_backward_multiplies_by_the_recurrent_weight(cell_class, hidden):
    """Both forms (plain below H=256, through a transposed weight copy from 256 on)."""
    rng = np.random.default_rng(0)
    cell = cell_class(3, hidden, rng, np.float64)
    dpre = rng.standard_normal((2, cell.num_gates * hidden))
    out = np.empty((2, hidden))
    assert cell.recurrent_backward()(2)(dpre, out) is out
    np.testing.assert_allclose(out, dpre @ cell.params["weight_hh"], rtol=1e-12, atol=1e-12)


def test_a_wide_lstm_matches_the_step_by_step_lstm(sequence):
    """At H=256 (the transposed-weight backward) the LSTM equals StepLSTM in every gradient."""
    xs, _, _ = sequence
    rng = np.random.default_rng(3)
    chunk = LSTMCell(3, 256, np.random.default_rng(0), np.float64)
    steps = StepLSTM(3, 256, np.random.default_rng(0), np.float64)
    for name, p in steps.params.items():
        p[...] = chunk.params[name]
    state0 = (rng.standard_normal((2, 256)), rng.standard_normal((2, 256)))
    dhs = rng.standard_normal((16, 2, 256))
    hs_chunk, _ = chunk.forward(xs[:16], state0)
    hs_steps, _ = steps.forward(xs[:16], state0)
    np.testing.assert_allclose(hs_chunk, hs_steps, rtol=1e-10, atol=1e-12)
    dxs_chunk, dstate_chunk = chunk.backward(dhs)
    dxs_steps, dstate_steps = steps.backward(dhs)
    np.testing.assert_allclose(dxs_chunk, dxs_steps, rtol=1e-10, atol=1e-12)
    for got, want in zip(dstate_chunk, dstate_steps, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for name, g in steps.grads.items():
        np.testing.assert_allclose(chunk.grads[name], g, rtol=1e-10, atol=1e-12, err_msg=name)


def test_backward_drops_the_forward_cache_so_the_next_chunk_is_not_allocated_beside_it(
    make_cell, sequence
):
    xs, state0, dhs = sequence
    cell = make_cell()

    def kept():
        return {
            name
            for name, v in vars(cell).items()
            if isinstance(v, np.ndarray) and v.size >= xs.shape[0]
        }

    cell.forward(xs, state0[: cell.num_states])
    assert kept()  # the forward cache
    cell.backward(dhs)
    assert kept() == {"state_grad_norms"}
