"""A 2-layer character LM computes what torch's Embedding + RNN/LSTM/GRU + Linear +
cross-entropy compute: loss, logits, final state and every gradient, to float64 round-off.

tests/golden/model.npz holds torch's weights, tokens, initial states and results
(see tests/golden/make_model_golden.py); torch itself is not needed here.
"""

from pathlib import Path

import numpy as np
import pytest

from rnnlab.nn import GRUCell, LSTMCell, RecurrentModel, RNNCell, softmax_cross_entropy

GOLDEN = np.load(Path(__file__).parent / "golden" / "model.npz")
CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def assert_close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=what)


@pytest.fixture(params=sorted(CELLS))
def run(request):
    """Torch's arrays for the case, and the model with torch's weights after forward, backward."""
    case = request.param
    golden = {k.split(".", 1)[1]: GOLDEN[k] for k in GOLDEN.files if k.startswith(case + ".")}
    layers, _, H = golden["h0"].shape
    V, E = golden["param.embed.weight"].shape
    model = RecurrentModel(
        CELLS[case],
        vocab_size=V,
        embed_size=E,
        hidden_size=H,
        output_size=V,
        layers=layers,
        rng=np.random.default_rng(0),
        dtype=np.float64,
    )
    assert sorted(model.params) == sorted(k[6:] for k in golden if k.startswith("param."))
    for name, p in model.params.items():
        assert p.shape == golden[f"param.{name}"].shape, name
        p[...] = golden[f"param.{name}"]
    state_names = ["h", "c"][: model.cells[0].num_states]
    state0 = [tuple(golden[f"{s}0"][layer] for s in state_names) for layer in range(layers)]
    logits, final = model.forward(golden["ids"], state0)
    loss, dlogits = softmax_cross_entropy(logits.reshape(-1, V), golden["targets"].reshape(-1))
    model.backward(dlogits.reshape(logits.shape))
    ours = {"loss": loss, "logits": logits}
    for i, s in enumerate(state_names):
        ours[f"{s}_final"] = np.stack([layer[i] for layer in final])
    return golden, ours, model


def test_loss_logits_and_final_state_match_torch(run):
    golden, ours, _ = run
    for key in ours:
        assert_close(ours[key], golden[key], key)


def test_every_parameter_gradient_matches_torch(run):
    golden, _, model = run
    for name, g in model.grads.items():
        assert_close(g, golden[f"grad.{name}"], name)
