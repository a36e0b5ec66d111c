"""Write tests/golden/cells.npz: torch.nn.RNN/LSTM/GRU forward and gradients in float64.

Run once with the dev venv (torch is a dev-time oracle only; tests read the npz):

    /work/venv/bin/python tests/golden/make_cell_golden.py

For each case the file holds, under ``<case>.<name>``: the parameters (torch's
own init), the inputs ``xs`` (T, N, I) and initial state ``h0`` (and ``c0``),
the loss weights ``dhs`` (for hs) and ``dh_final`` (and ``dc_final``) of the
linear loss ``sum(dhs * hs) + sum(dh_final * h_T) (+ sum(dc_final * c_T))``,
the outputs ``hs``, ``h_final`` (``c_final``), and the gradient ``grad.<x>`` of
that loss for every parameter, ``xs`` and initial-state array.
"""

from pathlib import Path

import numpy as np
import torch

T, N, I, H = 5, 3, 4, 6
CASES = {
    "rnn_tanh": lambda: torch.nn.RNN(I, H, nonlinearity="tanh"),
    "rnn_relu": lambda: torch.nn.RNN(I, H, nonlinearity="relu"),
    "lstm": lambda: torch.nn.LSTM(I, H),
    "gru": lambda: torch.nn.GRU(I, H),
}
PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def case_arrays(make_module) -> dict[str, np.ndarray]:
    module = make_module().double()
    is_lstm = isinstance(module, torch.nn.LSTM)
    xs = torch.randn(T, N, I, dtype=torch.float64, requires_grad=True)
    state = [
        torch.randn(1, N, H, dtype=torch.float64, requires_grad=True)
        for _ in range(2 if is_lstm else 1)
    ]
    hs, final = module(xs, tuple(state) if is_lstm else state[0])
    final = final if is_lstm else (final,)
    dhs = torch.randn_like(hs)
    dfinal = [torch.randn_like(s) for s in final]
    loss = (dhs * hs).sum() + sum((d * s).sum() for d, s in zip(dfinal, final, strict=True))
    loss.backward()

    state_names = ["h", "c"][: len(state)]
    out = {"xs": xs, "dhs": dhs, "hs": hs}
    for name, s0, d, s in zip(state_names, state, dfinal, final, strict=True):
        out[f"{name}0"], out[f"d{name}_final"], out[f"{name}_final"] = s0[0], d[0], s[0]
        out[f"grad.{name}0"] = s0.grad[0]
    out["grad.xs"] = xs.grad
    for p in PARAMS:
        weight = getattr(module, f"{p}_l0")
        out[p], out[f"grad.{p}"] = weight, weight.grad
    return {k: v.detach().numpy() for k, v in out.items()}


def main() -> None:
    torch.manual_seed(0)
    arrays = {
        f"{case}.{k}": v for case, make in CASES.items() for k, v in case_arrays(make).items()
    }
    path = Path(__file__).with_name("cells.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
