"""Optimizer state round trips, its validation, the L2 penalty's scope, norms and clipping."""

import io

import numpy as np
import pytest

from rnnlab.nn import (
    SGD,
    Adagrad,
    Adam,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
    grad_norms,
    l2_penalty,
)

OPTIMIZERS = {
    "sgd_momentum": lambda params: SGD(params, lr=0.1, momentum=0.9, nesterov=True),
    "adagrad": lambda params: Adagrad(params, lr=0.5, initial_accumulator_value=0.1),
    "adam": lambda params: Adam(params, lr=0.05),
}


def make_params(rng):
    return {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}


def gradient_stream(steps: int):
    rng = np.random.default_rng(7)
    return [{"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)} for _ in range(steps)]


def through_npz(state: dict) -> dict:
    """``state`` after a save to and a load from an .npz file, as a checkpoint stores it."""
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("store", [dict, through_npz], ids=["in_memory", "npz"])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_continuing_from_a_state_dict_equals_an_uninterrupted_run(kind, store):
    grads = gradient_stream(5)
    params = make_params(np.random.default_rng(0))
    opt = OPTIMIZERS[kind](params)
    for g in grads[:2]:
        opt.step(g)
    saved_params = {k: p.copy() for k, p in params.items()}
    saved_state = store(opt.state_dict())
    for g in grads[2:]:  # the uninterrupted run goes on
        opt.step(g)

    resumed_params = saved_params
    resumed = OPTIMIZERS[kind](resumed_params)
    resumed.load_state_dict(saved_state)
    for g in grads[2:]:
        resumed.step(g)
    for name in params:
        np.testing.assert_array_equal(resumed_params[name], params[name], err_msg=name)


def test_state_dict_holds_the_buffers_and_the_step_count():
    opt = Adam(make_params(np.random.default_rng(0)))
    opt.step(gradient_stream(1)[0])
    state = opt.state_dict()
    assert sorted(state) == ["b/m", "b/v", "steps", "w/m", "w/v"]
    assert int(state["steps"]) == 1


def test_load_state_dict_rejects_other_keys():
    opt = SGD(make_params(np.random.default_rng(0)), lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["v/momentum"] = state.pop("w/momentum")
    with pytest.raises(ValueError, match="keys"):
        opt.load_state_dict(state)


def test_load_state_dict_rejects_state_of_another_optimizer():
    params = make_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match="keys"):
        Adagrad(params, lr=0.1).load_state_dict(Adam(params).state_dict())


def test_load_state_dict_rejects_other_shapes():
    opt = Adagrad(make_params(np.random.default_rng(0)), lr=0.1)
    state = opt.state_dict()
    state["w/sum"] = np.zeros((2, 3))
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(state)


def test_l2_penalty_skips_1d_params_unless_biases_are_included():
    params = {"w": np.full((2, 2), 2.0), "b": np.full(3, 1.0)}
    grads = {k: np.zeros_like(p) for k, p in params.items()}
    assert l2_penalty(params, grads, coef=0.5) == pytest.approx(0.25 * 16)
    np.testing.assert_array_equal(grads["w"], np.full((2, 2), 1.0))
    np.testing.assert_array_equal(grads["b"], np.zeros(3))

    grads = {k: np.zeros_like(p) for k, p in params.items()}
    assert l2_penalty(params, grads, coef=0.5, include_biases=True) == pytest.approx(0.25 * 19)
    np.testing.assert_array_equal(grads["b"], np.full(3, 0.5))


def test_nesterov_without_momentum_is_refused_by_the_sgd_config_in_one_line():
    from rnnlab.config.run_config import make_run_config
    from rnnlab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^optimizer.nesterov=true needs optimizer.momentum > 0"):
        make_run_config(optimizer="sgd", **{"optimizer.nesterov": True})


def test_norms_of_all_gradients_and_of_each():
    grads = {"w": np.array([[3.0, 0.0], [0.0, 0.0]]), "b": np.array([4.0])}
    assert global_norm(grads) == pytest.approx(5.0)
    assert grad_norms(grads) == pytest.approx({"w": 3.0, "b": 4.0})


def test_clip_grad_norm_leaves_small_gradients_alone():
    grads = {"w": np.array([0.3, -0.4])}
    assert clip_grad_norm(grads, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(grads["w"], [0.3, -0.4])


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_float32_parameters_stay_float32(kind):
    params = {k: p.astype(np.float32) for k, p in make_params(np.random.default_rng(0)).items()}
    opt = OPTIMIZERS[kind](params)
    grads = {k: g.astype(np.float32) for k, g in gradient_stream(1)[0].items()}
    clip_grad_norm(grads, 0.1)
    clip_grad_value(grads, 0.05)
    opt.step(grads)
    assert all(p.dtype == np.float32 for p in params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert all(a.dtype == np.float32 for k, a in opt.state_dict().items() if k != "steps")
