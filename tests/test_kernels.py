"""cell.kernel=numba: the compiled time loops of the LSTM and the GRU give the NumPy cells'
results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from threadpoolctl import threadpool_info

from rnnlab.kernels.gru import NumbaGRUCell
from rnnlab.kernels.loops import gate_sigmoid, gate_tanh
from rnnlab.kernels.lstm import NumbaLSTMCell
from rnnlab.nn import GRUCell, LSTMCell, RecurrentModel, parallel, softmax_cross_entropy
from rnnlab.runner.threads import compute_threads, engine_threads
from rnnlab.testing import cell_conformance_tests
from tests_support import rnnlab_command, without_numba

TestNumbaLSTM = cell_conformance_tests(NumbaLSTMCell, options={"forget_bias": 1.0})
TestNumbaGRU = cell_conformance_tests(NumbaGRUCell)

#: each compiled cell and the NumPy cell it must match
PAIRS = {"lstm": (LSTMCell, NumbaLSTMCell), "gru": (GRUCell, NumbaGRUCell)}


def relative_gap(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("hidden", [7, 64])
def test_float32_results_match_the_numpy_cell(name, hidden):
    rng = np.random.default_rng(0)
    T, N, I = 9, 5, 6
    states = PAIRS[name][0].num_states
    xs = rng.standard_normal((T, N, I)).astype(np.float32)
    state = tuple(rng.standard_normal((N, hidden)).astype(np.float32) for _ in range(states))
    dhs = rng.standard_normal((T, N, hidden)).astype(np.float32)
    dfinal = tuple(rng.standard_normal((N, hidden)).astype(np.float32) for _ in range(states))
    results = []
    for cell_class in PAIRS[name]:
        cell = cell_class(I, hidden, np.random.default_rng(1))
        hs, final = cell.forward(xs, state)
        dxs, dstate = cell.backward(dhs, dfinal)
        results.append(
            {"hs": hs, "dxs": dxs, "norms": cell.state_grad_norms}
            | {f"final {i}": s for i, s in enumerate(final)}
            | {f"dstate {i}": s for i, s in enumerate(dstate)}
            | {f"grad {k}": g for k, g in cell.grads.items()}
        )
    want, got = results
    for key in want:
        assert got[key].dtype == want[key].dtype, key
        assert relative_gap(got[key], want[key]) < 2e-5, key


@pytest.mark.parametrize("cell", sorted(PAIRS))
def test_a_char_model_trains_as_with_the_numpy_cell(cell):
    """Token inputs reach the kernel through the folded embedding; three training steps."""
    ids = np.random.default_rng(0).integers(0, 20, (33, 8))

    def train(cell_class):
        model = RecurrentModel(
            cell_class,
            vocab_size=20,
            embed_size=20,
            hidden_size=32,
            output_size=20,
            layers=2,
            rng=np.random.default_rng(1),
        )
        state = model.initial_state(8)
        losses = []
        for _ in range(3):
            model.zero_grad()
            logits, state = model.forward(ids[:-1], state)
            loss, dlogits = softmax_cross_entropy(logits.reshape(-1, 20), ids[1:].reshape(-1))
            model.backward(dlogits.reshape(logits.shape))
            for name, param in model.params.items():
                param -= 0.1 * model.grads[name]
            losses.append(loss)
        return losses, model.params

    (want_losses, want), (got_losses, got) = (train(c) for c in PAIRS[cell])
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-5)
    for name in want:
        assert relative_gap(got[name], want[name]) < 1e-4, name


@njit
def activations_of(x):
    """``gate_tanh`` and ``gate_sigmoid`` of each element of ``x``, as the kernels compile them."""
    tanh, sigmoid = np.empty_like(x), np.empty_like(x)
    for k in range(x.size):
        tanh[k], sigmoid[k] = gate_tanh(x[k]), gate_sigmoid(x[k])
    return tanh, sigmoid


def test_the_float32_tanh_and_sigmoid_are_within_a_few_ulp():
    x = np.concatenate([np.linspace(-20, 20, 200_001), [0.0, 1e-30, -1e-8]]).astype(np.float32)
    tanh, sigmoid = activations_of(x)
    wide = x.astype(np.float64)
    assert np.abs(tanh - np.tanh(wide)).max() < 4 * np.finfo(np.float32).eps
    assert np.abs(sigmoid - 1 / (1 + np.exp(-wide))).max() < 4 * np.finfo(np.float32).eps
    tanh, sigmoid = activations_of(np.array([np.inf, -np.inf, np.nan], np.float32))
    np.testing.assert_allclose(tanh[:2], [1, -1], atol=1e-6)
    np.testing.assert_allclose(sigmoid[:2], [1, 0], atol=1e-6)
    assert np.isnan(tanh[2]) and np.isnan(sigmoid[2])


def test_float64_uses_libms_tanh():
    x = np.linspace(-20, 20, 10_001)
    tanh, _ = activations_of(x)
    np.testing.assert_allclose(tanh, np.tanh(x), rtol=0, atol=2 * np.finfo(np.float64).eps)


@pytest.mark.parametrize("cell_class", [NumbaLSTMCell, NumbaGRUCell])
def test_a_nan_comes_out_as_nan_for_the_runner_to_see(cell_class):
    cell = cell_class(3, 8, np.random.default_rng(0))
    xs = np.ones((4, 3, 3), np.float32)
    xs[1, 2, 0] = np.nan
    hs, _ = cell.forward(xs, cell.initial_state(3))
    assert np.isfinite(hs[:, :2]).all() and np.isfinite(hs[0, 2]).all()
    assert np.isnan(hs[1:, 2]).all()


def test_a_kernel_cell_computes_on_the_engines_threads_with_the_blas_on_one():
    assert NumbaLSTMCell.engine_threads and NumbaGRUCell.engine_threads
    assert not LSTMCell.engine_threads and not GRUCell.engine_threads
    with compute_threads(2):
        with engine_threads(2):
            assert parallel.get_num_threads() == 2
            assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}
        assert parallel.get_num_threads() == 1
    assert parallel.get_num_threads() == 1


def test_numba_is_loaded_only_when_a_run_asks_for_the_kernel(tmp_path):
    code = (
        "import sys, numpy as np, rnnlab.cli, rnnlab.runner.job\n"
        "from rnnlab.builtins.cells import gru, lstm\n"
        "lstm(3, 4, np.random.default_rng(0)), gru(3, 4, np.random.default_rng(0))\n"
        "print('numba' in sys.modules)\n"
        "gru(3, 4, np.random.default_rng(0), kernel='numba')\n"
        "print('numba' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


@pytest.fixture(scope="module")
def gru_runs(tmp_path_factory) -> Path:
    """A folder with two runs of the installed command, the same GRU model and data on
    2 threads: ``numpy`` (the default engine) and ``numba`` (``cell.kernel=numba``)."""
    folder = tmp_path_factory.mktemp("kernels")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db"}
    common = [
        "cell=gru",
        "data=chars",
        "model.hidden_size=16",
        "bptt=8",
        "train.steps=20",
        "train.eval_every=10",
        "train.eval_batches=2",
        "sample.length=5",
        "threads=2",
    ]
    for kernel in ("numpy", "numba"):
        subprocess.run(
            [rnnlab_command(), *common, f"cell.kernel={kernel}", f"hydra.run.dir={kernel}"],
            cwd=folder,
            env=env,
            check=True,
            capture_output=True,
        )
    return folder


@pytest.mark.slow
def test_rnnlab_with_the_numba_kernel_trains_like_the_numpy_engine(gru_runs):
    def metrics(kernel):
        lines = (gru_runs / kernel / "metrics.jsonl").read_text().splitlines()
        return {
            (rec["step"], k): v
            for rec in map(json.loads, lines)
            for k, v in rec["metrics"].items()
            if k.startswith(("train/loss", "val/", "test/"))
        }

    want, got = metrics("numpy"), metrics("numba")
    assert got.keys() == want.keys()
    assert any(k == "test/loss" for _, k in want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-4), key


@pytest.mark.slow
def test_a_run_trained_with_the_kernel_is_sampled_and_evaluated_without_numba(
    run_rnnlab, gru_runs, tmp_path
):
    env = without_numba(tmp_path / "no-numba")
    run = str(gru_runs / "numba")
    sampled = run_rnnlab("sample", run, "--prime", "The ", env=env)
    assert sampled.returncode == 0, sampled.stderr
    assert sampled.stdout.startswith("The ")
    evaluated = run_rnnlab("evaluate", run, env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "test/loss" in evaluated.stdout
