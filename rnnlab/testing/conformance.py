"""The cell conformance kit: checks that a cell keeps the contract of ``rnnlab.nn.Cell``.

Every check is a function of a ``CellUnderTest`` that returns quietly or raises
``AssertionError`` saying what broke (``NotApplicable`` when the cell opted out
of an optional feature). ``check_cell`` runs them all; ``cell_conformance_tests``
turns them into a pytest test class with one test per check::

    # test_my_cell.py of a plugin package
    from rnnlab.testing import cell_conformance_tests
    from my_plugin import MyCell

    TestMyCell = cell_conformance_tests(MyCell, options={"forget_bias": 0.5})

Sizes are small (gradients are checked element by element in float64), and all
random draws are seeded, so a failure reproduces exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rnnlab.nn.cell_contract import CellUnderTest, check_shapes
from rnnlab.nn.gradcheck import gradient_errors
from rnnlab.nn.model import CellFactory


class NotApplicable(Exception):
    """The cell legitimately opts out of what a check tests (reported as skipped)."""


# ----------------------------------------------------------------------------- checks


def check_params_and_grads(c: CellUnderTest) -> None:
    """``params``: a non-empty dict of arrays; ``grads``: same keys, shapes and dtypes, all zero."""
    cell = c.make()
    assert isinstance(cell.params, dict) and cell.params, f"{c.name}: params is empty"
    assert set(cell.grads) == set(cell.params), (
        f"{c.name}: grads keys {sorted(cell.grads)} != params keys {sorted(cell.params)}"
    )
    for name, p in cell.params.items():
        g = cell.grads[name]
        assert isinstance(p, np.ndarray), f"{c.name}: params[{name!r}] is not an ndarray"
        assert g.shape == p.shape and g.dtype == p.dtype, (
            f"{c.name}: grads[{name!r}] is {g.dtype}{g.shape}, "
            f"params[{name!r}] is {p.dtype}{p.shape}"
        )
        assert not g.any(), f"{c.name}: grads[{name!r}] does not start at zero"


def check_dtype_preserved(c: CellUnderTest) -> None:
    """A float32 cell computes in float32 throughout, a float64 cell in float64."""
    for dtype in (np.float32, np.float64):
        cell = c.make(dtype)
        state = cell.initial_state(c.batch)
        hs, final = cell.forward(c.inputs(dtype), state)
        dxs, dstate0 = cell.backward(np.ones_like(hs), tuple(np.ones_like(s) for s in final))
        arrays = {
            "hs": hs,
            "dxs": dxs,
            **{f"params[{k!r}]": v for k, v in cell.params.items()},
            **{f"grads[{k!r}]": v for k, v in cell.grads.items()},
            **{f"initial_state[{k}]": v for k, v in enumerate(state)},
            **{f"final_state[{k}]": v for k, v in enumerate(final)},
            **{f"dstate0[{k}]": v for k, v in enumerate(dstate0)},
        }
        wrong = {name: a.dtype.name for name, a in arrays.items() if a.dtype != dtype}
        assert not wrong, f"{c.name} built with {np.dtype(dtype).name}: {wrong}"


def check_deterministic_under_seed(c: CellUnderTest) -> None:
    """The same seed gives the same parameters and outputs; another seed other parameters."""
    a, b, other = c.make(seed=0), c.make(seed=0), c.make(seed=1)
    for name in a.params:
        np.testing.assert_array_equal(
            a.params[name],
            b.params[name],
            err_msg=f"{c.name}: params[{name!r}] differ under one seed",
        )
    assert any(not np.array_equal(a.params[k], other.params[k]) for k in a.params), (
        f"{c.name}: seeds 0 and 1 give identical parameters; initialise from the rng argument"
    )
    xs = c.inputs()
    _, state = c.hidden_like(a)
    first = a.forward(xs, state)
    for outputs in (b.forward(xs, state), a.forward(xs, state)):
        for got, want in zip(_flatten(outputs), _flatten(first), strict=True):
            np.testing.assert_array_equal(
                got, want, err_msg=f"{c.name}: forward is not deterministic"
            )


def check_inputs_not_modified(c: CellUnderTest) -> None:
    """forward leaves ``xs`` and ``state`` untouched, backward ``dhs`` and ``dfinal_state``."""
    cell = c.make()
    xs = c.inputs()
    dhs, state = c.hidden_like(cell)
    _, dfinal = c.hidden_like(cell, seed=3)
    given = {
        "xs": xs,
        "dhs": dhs,
        **{f"state[{k}]": s for k, s in enumerate(state)},
        **{f"dfinal_state[{k}]": d for k, d in enumerate(dfinal)},
    }
    copies = {name: a.copy() for name, a in given.items()}
    cell.forward(xs, state)
    cell.backward(dhs, dfinal)
    for name, a in given.items():
        np.testing.assert_array_equal(a, copies[name], err_msg=f"{c.name} modified {name}")


def check_state_carries_over_chunks(c: CellUnderTest) -> None:
    """Four chunks of 4 steps, each from the previous one's final state, equal one chunk of 16."""
    cell = c.make()
    xs = c.inputs(steps=16)
    _, state0 = c.hidden_like(cell)
    hs_whole, final_whole = cell.forward(xs, state0)
    hs_whole = hs_whole.copy()
    chunks, state = [], state0
    for k in range(4):
        hs, state = cell.forward(xs[4 * k : 4 * (k + 1)], state)
        chunks.append(hs)
    # compared only now, so a chunk whose arrays a later forward overwrote is caught too
    np.testing.assert_allclose(
        np.concatenate(chunks),
        hs_whole,
        rtol=1e-12,
        atol=1e-12,
        err_msg=f"{c.name}: chunked hs differ from one chunk",
    )
    for k, (got, want) in enumerate(zip(state, final_whole, strict=True)):
        np.testing.assert_allclose(
            got, want, rtol=1e-12, atol=1e-12, err_msg=f"{c.name}: chunked final state[{k}] differs"
        )


def check_parameter_gradients(c: CellUnderTest) -> None:
    """Every parameter's gradient matches central finite differences (float64)."""
    case = _GradientCase(c)
    case.assert_matches("parameter", case.cell.params, case.cell.grads)


def check_input_gradients(c: CellUnderTest) -> None:
    """The gradient of the inputs ``xs`` matches central finite differences (float64)."""
    case = _GradientCase(c)
    case.assert_matches("input", {"xs": case.xs}, {"xs": case.dxs})


def check_initial_state_gradients(c: CellUnderTest) -> None:
    """The gradient of every initial-state array matches central finite differences (float64)."""
    case = _GradientCase(c)
    names = [f"state[{k}]" for k in range(len(case.state))]
    case.assert_matches(
        "initial-state",
        dict(zip(names, case.state, strict=True)),
        dict(zip(names, case.dstate0, strict=True)),
    )


def check_missing_final_state_grad_is_zero(c: CellUnderTest) -> None:
    """``backward(dhs)`` equals ``backward(dhs, zeros)``."""

    def gradients(dfinal_zeros: bool) -> list[np.ndarray]:
        cell = c.make()
        dhs, state = c.hidden_like(cell)
        cell.forward(c.inputs(), state)
        dfinal = tuple(np.zeros_like(s) for s in state) if dfinal_zeros else None
        return _flatten(cell.backward(dhs, dfinal)) + list(cell.grads.values())

    for got, want in zip(gradients(False), gradients(True), strict=True):
        np.testing.assert_array_equal(
            got, want, err_msg=f"{c.name}: backward(dhs, None) != backward(dhs, zeros)"
        )


def check_backward_accumulates(c: CellUnderTest) -> None:
    """Two forward/backward passes add up in ``grads``; ``zero_grad`` clears them."""
    cell = c.make()
    xs = c.inputs()
    dhs, state = c.hidden_like(cell)
    cell.forward(xs, state)
    cell.backward(dhs)
    once = {k: g.copy() for k, g in cell.grads.items()}
    assert any(g.any() for g in once.values()), f"{c.name}: backward left all grads at zero"
    cell.forward(xs, state)
    cell.backward(dhs)
    for name, g in cell.grads.items():
        np.testing.assert_allclose(
            g,
            2 * once[name],
            rtol=1e-12,
            atol=1e-14,
            err_msg=f"{c.name}: grads[{name!r}] was overwritten, not accumulated",
        )
    cell.zero_grad()
    nonzero = [name for name, g in cell.grads.items() if g.any()]
    assert not nonzero, f"{c.name}: zero_grad left {nonzero} non-zero"


def check_state_grad_norms(c: CellUnderTest) -> None:
    """``state_grad_norms[t]`` is the norm of the total dL/dh_t, recurrent part included.

    The expected value comes from splitting the chunk after step t: the second
    part's ``dstate0[0]`` is the gradient reaching h_t through the recurrence.
    """
    cell = c.make()
    T = c.steps
    xs = c.inputs()
    dhs, state0 = c.hidden_like(cell)
    _, dfinal = c.hidden_like(cell, seed=3)
    cell.forward(xs, state0)
    cell.backward(dhs, dfinal)
    norms = cell.state_grad_norms
    if norms is None:
        raise NotApplicable(f"{c.name} does not provide state_grad_norms")
    norms = np.asarray(norms)
    assert norms.shape == (T,), f"{c.name}: state_grad_norms shape {norms.shape}, expected {(T,)}"
    assert np.isfinite(norms).all(), f"{c.name}: state_grad_norms not finite: {norms}"
    expected = np.empty(T)
    for t in range(T):
        if t == T - 1:
            through_recurrence = dfinal[0]
        else:
            _, state_t = cell.forward(xs[: t + 1], state0)
            cell.forward(xs[t + 1 :], state_t)
            through_recurrence = cell.backward(dhs[t + 1 :], dfinal)[1][0]
        expected[t] = np.linalg.norm(dhs[t] + through_recurrence)
    np.testing.assert_allclose(
        norms, expected, rtol=1e-10, err_msg=f"{c.name}: state_grad_norms != |dL/dh_t|"
    )


#: check name -> check; the order is the order of the generated tests
CHECKS: dict[str, Callable[[CellUnderTest], None]] = {
    "params_and_grads": check_params_and_grads,
    "shapes": check_shapes,
    "dtype_preserved": check_dtype_preserved,
    "deterministic_under_seed": check_deterministic_under_seed,
    "inputs_not_modified": check_inputs_not_modified,
    "state_carries_over_chunks": check_state_carries_over_chunks,
    "parameter_gradients": check_parameter_gradients,
    "input_gradients": check_input_gradients,
    "initial_state_gradients": check_initial_state_gradients,
    "missing_final_state_grad_is_zero": check_missing_final_state_grad_is_zero,
    "backward_accumulates": check_backward_accumulates,
    "state_grad_norms": check_state_grad_norms,
}


# ----------------------------------------------------------------------------- runners


def check_cell(
    factory: CellFactory, options: Mapping[str, Any] | None = None, **sizes
) -> list[str]:
    """Run every check on ``factory``; raise one ``AssertionError`` listing every failure or crash.

    ``sizes`` override ``CellUnderTest`` fields (``input_size``, ``hidden_size``,
    ``batch``, ``steps``, ``gradient_tolerance``). Returns the names of the
    checks that did not apply (e.g. a cell without ``state_grad_norms``).
    """
    subject = CellUnderTest(factory, dict(options or {}), **sizes)
    failures, not_applicable = [], []
    for name, check in CHECKS.items():
        try:
            check(subject)
        except NotApplicable:
            not_applicable.append(name)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
        except Exception as exc:  # a crash is a failure too; keep checking the rest
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    if failures:
        raise AssertionError(
            f"{subject.name} fails {len(failures)} conformance check(s):\n" + "\n".join(failures)
        )
    return not_applicable


def cell_conformance_tests(
    factory: CellFactory, options: Mapping[str, Any] | None = None, **sizes
) -> type:
    """A pytest test class with one ``test_<check>`` per conformance check of ``factory``.

    Assign it to a ``Test*`` name in a test module so pytest collects it::

        TestMyCell = cell_conformance_tests(MyCell, options={"forget_bias": 0.5})

    ``sizes`` are as for ``check_cell``. The class attribute ``cell_under_test``
    holds the ``CellUnderTest``; with rnnlab's pytest plugin active the tests
    carry the ``cell_conformance`` marker.
    """
    subject = CellUnderTest(factory, dict(options or {}), **sizes)
    namespace: dict[str, Any] = {
        "cell_under_test": subject,
        "__doc__": f"Conformance of {subject.name} to the cell contract.",
    }
    for name, check in CHECKS.items():
        namespace[f"test_{name}"] = _pytest_method(name, check, subject)
    class_name = f"Test{getattr(factory, '__name__', 'Cell')}Conformance"
    return type(class_name, (), namespace)


def _pytest_method(name: str, check: Callable[[CellUnderTest], None], subject: CellUnderTest):
    def test(self):
        try:
            check(subject)
        except NotApplicable as exc:
            import pytest

            pytest.skip(str(exc))

    test.__name__ = test.__qualname__ = f"test_{name}"
    test.__doc__ = check.__doc__
    return test


# ----------------------------------------------------------------------------- helpers


class _GradientCase:
    """A float64 cell with the loss ``sum(dhs * hs) + sum_k sum(dfinal[k] * final[k])``.

    A random linear functional of everything forward returns, so its gradient
    w.r.t. ``(hs, final_state)`` is exactly ``(dhs, dfinal)``: backward is called
    with them, and finite differences of the loss must agree.
    """

    def __init__(self, c: CellUnderTest):
        self.subject = c
        self.cell = cell = c.make(np.float64)
        self.xs = c.inputs()
        self.dhs, self.state = c.hidden_like(cell)
        _, self.dfinal = c.hidden_like(cell, seed=3)
        cell.forward(self.xs, self.state)
        self.dxs, self.dstate0 = cell.backward(self.dhs, self.dfinal)

    def loss(self) -> float:
        hs, final = self.cell.forward(self.xs, self.state)
        return float(
            np.sum(self.dhs * hs)
            + sum(np.sum(d * s) for d, s in zip(self.dfinal, final, strict=True))
        )

    def assert_matches(
        self, kind: str, arrays: Mapping[str, np.ndarray], analytic: Mapping[str, np.ndarray]
    ) -> None:
        c = self.subject
        errors = gradient_errors(self.loss, arrays, analytic)
        bad = {name: f"{err:.1e}" for name, err in errors.items() if not err < c.gradient_tolerance}
        assert not bad, (
            f"{c.name}: {kind} gradients disagree with finite differences "
            f"(relative error, tolerance {c.gradient_tolerance:.0e}): {bad}"
        )


def _flatten(outputs) -> list[np.ndarray]:
    """``(array, (array, ...))`` -> ``[array, array, ...]``."""
    first, rest = outputs
    return [first, *rest]
