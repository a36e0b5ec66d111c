"""The engine's batch-parallel threads give the single-thread results (rows never interact),
for the NumPy cells and the compiled ones (``cell.kernel=numba``)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.kernels.gru import NumbaGRUCell
from rnnlab.kernels.lstm import NumbaLSTMCell
from rnnlab.nn import GRUCell, LSTMCell, RecurrentModel, RNNCell, parallel, softmax_cross_entropy


@pytest.fixture
def engine_threads():
    """Set the engine's thread count for one test; back to 1 afterwards."""
    yield parallel.set_num_threads
    parallel.set_num_threads(1)


def train_step(cell_class, hidden: int, threads: int) -> dict[str, np.ndarray]:
    """One forward and backward of a char-LM (uneven blocks: 7 streams), in float64; at H=256
    the weight-gradient, head and per-token sums are large enough to be split too."""
    parallel.set_num_threads(threads)
    rng = np.random.default_rng(0)
    model = RecurrentModel(
        cell_class,
        vocab_size=11,
        embed_size=11,
        hidden_size=hidden,
        output_size=11,
        rng=np.random.default_rng(1),
        dtype=np.float64,
    )
    ids = rng.integers(0, 11, (32, 7))
    state = [tuple(rng.standard_normal((7, hidden)) for _ in s) for s in model.initial_state(7)]
    logits, final = model.forward(ids, state)
    _, dlogits = softmax_cross_entropy(logits.reshape(-1, 11), np.roll(ids, -1, 0).reshape(-1))
    model.backward(dlogits.reshape(logits.shape))
    out = {f"grad {k}": g.copy() for k, g in model.grads.items()}
    out.update({f"final {i}": s for i, s in enumerate(final[0])})
    out["logits"], out["norms"] = logits, model.state_grad_norms[0]
    return out


@pytest.mark.parametrize("cell_class", [RNNCell, LSTMCell, GRUCell, NumbaLSTMCell, NumbaGRUCell])
@pytest.mark.parametrize("hidden", [5, 256])
def test_two_and_three_threads_match_one(engine_threads, cell_class, hidden):
    want = train_step(cell_class, hidden, 1)
    for threads in (2, 3):
        got = train_step(cell_class, hidden, threads)
        for name, value in want.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-12, atol=1e-14, err_msg=name)


def test_the_loss_matches_one_thread(engine_threads):
    rng = np.random.default_rng(0)
    logits, targets = rng.standard_normal((4096, 64)), rng.integers(0, 64, 4096)
    want = softmax_cross_entropy(logits, targets)
    engine_threads(2)
    assert len(parallel.blocks(4096, 64)) == 2
    loss, dlogits = softmax_cross_entropy(logits, targets)
    np.testing.assert_allclose(loss, want[0], rtol=1e-13)
    np.testing.assert_array_equal(dlogits, want[1])


def test_row_blocks_cover_the_rows_in_order():
    assert parallel.row_blocks(7, 3) == [slice(0, 2), slice(2, 4), slice(4, 7)]
    assert parallel.row_blocks(1, 4) == [slice(0, 1)]


def test_thread_count_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        parallel.set_num_threads(0)


def test_the_pool_threads_follow_the_callers_errstate(engine_threads):
    engine_threads(2)
    states = parallel.run_blocks(lambda rows: np.geterr()["over"], parallel.row_blocks(2))
    assert states == ["warn", "warn"]
    with np.errstate(over="ignore"):
        states = parallel.run_blocks(lambda rows: np.geterr()["over"], parallel.row_blocks(2))
    assert states == ["ignore", "ignore"]
