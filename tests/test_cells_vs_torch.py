"""The cells compute what torch.nn.RNN/LSTM/GRU compute, to float64 round-off.

tests/golden/cells.npz holds torch's weights, inputs, initial states, outputs
and gradients of a random linear loss (see tests/golden/make_cell_golden.py);
torch itself is not needed here. The step-level StepLSTM is held to torch's
LSTM too, so StepCell's sequence forward/backward is proven on real numbers, and so
are the compiled LSTM and GRU (cell.kernel=numba; in float64 they use libm's tanh).
"""

from pathlib import Path

import numpy as np
import pytest
from step_lstm import StepLSTM

from rnnlab.kernels.gru import NumbaGRUCell
from rnnlab.kernels.lstm import NumbaLSTMCell
from rnnlab.nn import GRUCell, LSTMCell, RNNCell

GOLDEN = np.load(Path(__file__).parent / "golden" / "cells.npz")

#: case -> (golden case, cell factory with its options)
CASES = {
    "rnn_tanh": ("rnn_tanh", lambda I, H, rng: RNNCell(I, H, rng, np.float64, nonlinearity="tanh")),
    "rnn_relu": ("rnn_relu", lambda I, H, rng: RNNCell(I, H, rng, np.float64, nonlinearity="relu")),
    "lstm": ("lstm", lambda I, H, rng: LSTMCell(I, H, rng, np.float64)),
    "lstm_numba": ("lstm", lambda I, H, rng: NumbaLSTMCell(I, H, rng, np.float64)),
    "gru": ("gru", lambda I, H, rng: GRUCell(I, H, rng, np.float64)),
    "gru_numba": ("gru", lambda I, H, rng: NumbaGRUCell(I, H, rng, np.float64)),
    "step_lstm": ("lstm", lambda I, H, rng: StepLSTM(I, H, rng, np.float64)),
}


def assert_close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=what)


@pytest.fixture(params=sorted(CASES))
def run(request):
    """Torch's arrays for the case, and the cell's outputs and gradients on the same inputs."""
    golden_case, make = CASES[request.param]
    golden = {
        k.split(".", 1)[1]: GOLDEN[k] for k in GOLDEN.files if k.startswith(golden_case + ".")
    }
    _, _, I = golden["xs"].shape
    H = golden["h0"].shape[1]
    cell = make(I, H, np.random.default_rng(0))
    for name, p in cell.params.items():
        assert p.shape == golden[name].shape, name
        p[...] = golden[name]
    state_names = ["h", "c"][: cell.num_states]
    hs, final = cell.forward(golden["xs"], tuple(golden[f"{s}0"] for s in state_names))
    dxs, dstate0 = cell.backward(golden["dhs"], tuple(golden[f"d{s}_final"] for s in state_names))
    ours = {"hs": hs, "grad.xs": dxs, **{f"grad.{k}": g for k, g in cell.grads.items()}}
    for s, final_s, dstate0_s in zip(state_names, final, dstate0, strict=True):
        ours[f"{s}_final"], ours[f"grad.{s}0"] = final_s, dstate0_s
    return golden, ours, cell


def test_forward_outputs_and_final_state_match_torch(run):
    golden, ours, cell = run
    for key in ["hs", "h_final", "c_final"][: 1 + cell.num_states]:
        assert_close(ours[key], golden[key], key)


def test_parameter_gradients_match_torch(run):
    golden, ours, cell = run
    for name in cell.params:
        assert_close(ours[f"grad.{name}"], golden[f"grad.{name}"], name)


def test_input_and_initial_state_gradients_match_torch(run):
    golden, ours, cell = run
    for key in ["grad.xs", "grad.h0", "grad.c0"][: 1 + cell.num_states]:
        assert_close(ours[key], golden[key], key)
