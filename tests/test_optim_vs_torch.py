"""Clipping and the optimizers do what torch.nn.utils and torch.optim do, step by step, in float64.

tests/golden/optim.npz holds torch's results for fixed parameters and four
different gradients (see tests/golden/make_optim_golden.py); torch itself is
not needed here.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab.nn import SGD, Adagrad, Adam, RMSprop, clip_grad_norm, clip_grad_value

GOLDEN = np.load(Path(__file__).parent / "golden" / "optim.npz")
CASES = json.loads(str(GOLDEN["cases"]))
OPTIMIZERS = {"SGD": SGD, "Adagrad": Adagrad, "Adam": Adam, "RMSprop": RMSprop}
NAMES = ("weight", "bias")
STEPS = 4
MAX_NORM = float(GOLDEN["max_norm"])


def golden(prefix: str) -> dict[str, np.ndarray]:
    """Fresh, writable copies of the arrays ``<prefix>.weight`` and ``<prefix>.bias``."""
    return {name: GOLDEN[f"{prefix}.{name}"].copy() for name in NAMES}


def assert_close(got: dict, want: dict, what: str) -> None:
    for name in NAMES:
        np.testing.assert_allclose(
            got[name], want[name], rtol=1e-8, atol=1e-12, err_msg=f"{what}: {name}"
        )


@pytest.mark.parametrize("step", range(STEPS))
def test_clip_grad_norm_scales_and_returns_the_norm_as_torch(step):
    grads = golden(f"grads.{step}")
    norm = clip_grad_norm(grads, MAX_NORM)
    assert norm == pytest.approx(float(GOLDEN[f"clip_norm.{step}.norm"]), rel=1e-12)
    assert_close(grads, golden(f"clip_norm.{step}"), f"step {step}")


def test_clip_grad_value_clamps_as_torch():
    grads = golden("grads.0")
    clip_grad_value(grads, float(GOLDEN["clip_value"]))
    assert_close(grads, golden("clip_value"), "clip_value")


@pytest.mark.parametrize("case", sorted(CASES))
def test_optimizer_matches_torch_after_every_step(case):
    spec = CASES[case]
    params = golden("init")
    opt = OPTIMIZERS[spec["optimizer"]](params, **spec["options"])
    for step in range(STEPS):
        grads = golden(f"grads.{step}")
        if spec["clip"]:
            clip_grad_norm(grads, MAX_NORM)
        opt.step(grads)
        assert_close(params, golden(f"{case}.{step}"), f"{case} after step {step + 1}")
