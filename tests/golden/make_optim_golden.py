"""Write tests/golden/optim.npz: torch's gradient clipping and optimizers on fixed numbers, float64.

Run once with the dev venv (torch is a dev-time oracle only; tests read the npz):

    python tests/golden/make_optim_golden.py   # in a venv with torch==2.13.0 and numpy

Two parameters (``weight`` (3, 4), ``bias`` (4,)) start at ``init.<name>`` and see
a different gradient ``grads.<step>.<name>`` at each of the STEPS steps; the
gradients' global norms straddle MAX_NORM (one lies within torch's 1e-6 guard
below it). The file holds, under these keys:

- ``clip_norm.<step>.<name>`` and ``clip_norm.<step>.norm``: each step's gradients
  after ``clip_grad_norm_(max_norm=MAX_NORM)`` and the total norm it returned;
- ``clip_value.<name>``: step 0's gradients after ``clip_grad_value_(CLIP_VALUE)``;
- ``<case>.<step>.<name>``: the parameters after each step of the optimizer in
  ``cases`` (a JSON string: case -> torch.optim class name and keyword arguments,
  which rnnlab's optimizers accept under the same names), with its gradients
  clipped by global norm first when the case says ``"clip": true``.
"""

import json
from pathlib import Path

import numpy as np
import torch

STEPS = 4
MAX_NORM = 1.0
CLIP_VALUE = 0.3
#: global norm of each step's gradient: clipped, not clipped, just inside the guard, clipped
NORMS = (3.0, 0.5, MAX_NORM - 5e-7, 2.0)
SHAPES = {"weight": (3, 4), "bias": (4,)}
CASES = {
    "sgd": {"optimizer": "SGD", "options": {"lr": 0.1}, "clip": True},
    "sgd_momentum": {"optimizer": "SGD", "options": {"lr": 0.1, "momentum": 0.9}, "clip": True},
    "sgd_nesterov": {
        "optimizer": "SGD",
        "options": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        "clip": True,
    },
    "adagrad": {"optimizer": "Adagrad", "options": {"lr": 0.5}, "clip": True},
    "adagrad_accumulator": {
        "optimizer": "Adagrad",
        "options": {"lr": 0.5, "eps": 1e-6, "initial_accumulator_value": 0.1},
        "clip": True,
    },
    "adam": {
        "optimizer": "Adam",
        "options": {"lr": 0.05, "betas": [0.8, 0.99], "eps": 1e-6},
        "clip": False,
    },
    "rmsprop_char_rnn": {
        "optimizer": "RMSprop",
        "options": {"lr": 0.002, "alpha": 0.95, "eps": 1e-8},
        "clip": True,
    },
    "rmsprop_centered_momentum": {
        "optimizer": "RMSprop",
        "options": {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.8, "centered": True},
        "clip": False,
    },
}


def holding(grads: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Parameters whose ``.grad`` are copies of ``grads`` (for torch's clipping functions)."""
    params = {
        name: torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        for name, g in grads.items()
    }
    for name, p in params.items():
        p.grad = torch.tensor(grads[name])
    return params


def main() -> None:
    rng = np.random.default_rng(0)
    out = {"cases": np.array(json.dumps(CASES))}
    init = {name: rng.standard_normal(shape) for name, shape in SHAPES.items()}
    steps = []
    for norm in NORMS:
        g = {name: rng.standard_normal(shape) for name, shape in SHAPES.items()}
        scale = norm / np.sqrt(sum(np.sum(a * a) for a in g.values()))
        steps.append({name: a * scale for name, a in g.items()})
    out.update({f"init.{name}": a for name, a in init.items()})
    out.update({f"grads.{step}.{name}": a for step, g in enumerate(steps) for name, a in g.items()})

    for step, g in enumerate(steps):
        held = holding(g)
        norm = torch.nn.utils.clip_grad_norm_(list(held.values()), MAX_NORM)
        out[f"clip_norm.{step}.norm"] = norm.numpy()
        out.update({f"clip_norm.{step}.{name}": p.grad.numpy() for name, p in held.items()})
    held = holding(steps[0])
    torch.nn.utils.clip_grad_value_(list(held.values()), CLIP_VALUE)
    out.update({f"clip_value.{name}": p.grad.numpy() for name, p in held.items()})

    for case, spec in CASES.items():
        params = {name: torch.tensor(a, requires_grad=True) for name, a in init.items()}
        opt = getattr(torch.optim, spec["optimizer"])(list(params.values()), **spec["options"])
        for step, g in enumerate(steps):
            for name, p in params.items():
                p.grad = torch.tensor(g[name])
            if spec["clip"]:
                torch.nn.utils.clip_grad_norm_(list(params.values()), MAX_NORM)
            opt.step()
            out.update(
                {f"{case}.{step}.{name}": p.detach().numpy().copy() for name, p in params.items()}
            )

    out.update({"max_norm": np.array(MAX_NORM), "clip_value": np.array(CLIP_VALUE)})
    path = Path(__file__).with_name("optim.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(out)} arrays)")


if __name__ == "__main__":
    main()
