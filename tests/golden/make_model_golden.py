"""Write tests/golden/model.npz: a 2-layer character LM in torch, forward and gradients in float64.

Run once with the dev venv (torch is a dev-time oracle only; tests read the npz):

    /work/venv/bin/python tests/golden/make_model_golden.py

The model is ``nn.Embedding(V, E)`` -> ``nn.RNN/LSTM/GRU(E, H, num_layers=2)`` ->
``nn.Linear(H, V)``, with the mean ``F.cross_entropy`` over all T*N steps. For
each case the file holds, under ``<case>.<name>``: token ids ``ids`` and
``targets`` (T, N), the initial state ``h0`` (and ``c0``) (layers, N, H), the
``loss``, the ``logits`` (T, N, V), the final ``h_final`` (``c_final``), and for
every parameter, named as rnnlab's RecurrentModel names it (``embed.weight``,
``cells.<layer>.weight_ih``, ``head.bias``, ...), its value ``param.<name>`` and
its gradient ``grad.<name>``.
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

V, E, H, T, N, LAYERS = 5, 3, 4, 4, 2, 2
CASES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def case_arrays(recurrent_class) -> dict[str, np.ndarray]:
    embed = torch.nn.Embedding(V, E).double()
    recurrent = recurrent_class(E, H, num_layers=LAYERS).double()
    head = torch.nn.Linear(H, V).double()
    is_lstm = recurrent_class is torch.nn.LSTM
    ids = torch.randint(0, V, (T, N))
    targets = torch.randint(0, V, (T, N))
    state = [torch.randn(LAYERS, N, H, dtype=torch.float64) for _ in range(2 if is_lstm else 1)]

    hs, final = recurrent(embed(ids), tuple(state) if is_lstm else state[0])
    logits = head(hs)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    loss.backward()

    params = {"embed.weight": embed.weight, "head.weight": head.weight, "head.bias": head.bias}
    params.update(
        {
            f"cells.{layer}.{name}": getattr(recurrent, f"{name}_l{layer}")
            for layer in range(LAYERS)
            for name in CELL_PARAMS
        }
    )
    final = final if is_lstm else (final,)
    out = {"ids": ids, "targets": targets, "loss": loss, "logits": logits}
    for name, s0, s in zip(["h", "c"], state, final, strict=True):
        out[f"{name}0"], out[f"{name}_final"] = s0, s
    for name, p in params.items():
        out[f"param.{name}"], out[f"grad.{name}"] = p, p.grad
    return {k: v.detach().numpy() for k, v in out.items()}


def main() -> None:
    torch.manual_seed(0)
    arrays = {
        f"{case}.{k}": v for case, make in CASES.items() for k, v in case_arrays(make).items()
    }
    path = Path(__file__).with_name("model.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
