"""The conformance kit catches the bugs it is meant to catch, and plugs into pytest."""

import numpy as np
import pytest
from step_lstm import StepLSTM

from rnnlab.testing import CHECKS, NotApplicable, check_cell
from rnnlab.testing.conformance import CellUnderTest

pytest_plugins = ["pytester"]


class ClassicLSTMBug(StepLSTM):
    """Backward uses h' where it needs tanh(c'), as in ``1 - h'**2`` for tanh'(c')."""

    def step(self, x, state):
        h_new, new_state, cache = super().step(x, state)
        return h_new, new_state, (*cache[:-1], h_new)


class IgnoresState(StepLSTM):
    def forward(self, xs, state):
        return super().forward(xs, self.initial_state(xs.shape[1]))


class IgnoresSeed(StepLSTM):
    def __init__(self, input_size, hidden_size, rng, dtype=np.float32):
        super().__init__(input_size, hidden_size, np.random.default_rng(), dtype)


class OverwritesGrads(StepLSTM):
    def backward(self, dhs, dfinal_state=None):
        self.zero_grad()
        return super().backward(dhs, dfinal_state)


class UpcastsOutputs(StepLSTM):
    def forward(self, xs, state):
        hs, final = super().forward(xs, state)
        return hs.astype(np.float64), final


class OverwritesGivenState(StepLSTM):
    def forward(self, xs, state):
        hs, final = super().forward(xs, state)
        state[0][...] = final[0]
        return hs, final


class NormsWithoutRecurrence(StepLSTM):
    """Reports |dhs[t]| only, missing the gradient that arrives through h_{t+1}."""

    def backward(self, dhs, dfinal_state=None):
        result = super().backward(dhs, dfinal_state)
        self.state_grad_norms = np.linalg.norm(dhs, axis=(1, 2))
        return result


class WithoutStateGradNorms(StepLSTM):
    def backward(self, dhs, dfinal_state=None):
        result = super().backward(dhs, dfinal_state)
        self.state_grad_norms = None
        return result


class CrashesInBackward(StepLSTM):
    def backward(self, dhs, dfinal_state=None):
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    "broken, check",
    [
        (ClassicLSTMBug, "parameter_gradients"),
        (ClassicLSTMBug, "input_gradients"),
        (ClassicLSTMBug, "initial_state_gradients"),
        (IgnoresState, "state_carries_over_chunks"),
        (IgnoresState, "initial_state_gradients"),
        (IgnoresSeed, "deterministic_under_seed"),
        (OverwritesGrads, "backward_accumulates"),
        (UpcastsOutputs, "dtype_preserved"),
        (OverwritesGivenState, "inputs_not_modified"),
        (NormsWithoutRecurrence, "state_grad_norms"),
    ],
)
def test_a_broken_cell_fails_its_check(broken, check):
    with pytest.raises(AssertionError, match=broken.__name__):
        CHECKS[check](CellUnderTest(broken))


def test_gradient_failures_name_the_arrays_and_their_errors():
    with pytest.raises(AssertionError, match=r"weight_hh': '\d\.\de-0[1-3]'"):
        CHECKS["parameter_gradients"](CellUnderTest(ClassicLSTMBug))


def test_check_cell_reports_every_failing_check_at_once():
    with pytest.raises(AssertionError) as failure:
        check_cell(ClassicLSTMBug)
    report = str(failure.value)
    assert "fails 3 conformance check(s)" in report
    for check in ("parameter_gradients", "input_gradients", "initial_state_gradients"):
        assert f"\n{check}: " in report


def test_check_cell_reports_crashes_as_failures_and_keeps_checking():
    with pytest.raises(AssertionError) as failure:
        check_cell(CrashesInBackward)
    report = str(failure.value)
    assert "\nshapes: RuntimeError: boom" in report
    assert "\ndeterministic_under_seed: " not in report  # forward-only checks still pass


def test_a_cell_without_state_grad_norms_is_not_applicable_not_failing():
    with pytest.raises(NotApplicable):
        CHECKS["state_grad_norms"](CellUnderTest(WithoutStateGradNorms))
    assert check_cell(WithoutStateGradNorms) == ["state_grad_norms"]


@pytest.fixture
def plugin_pytester(pytester, monkeypatch):
    """A pytester whose runs load rnnlab's pytest plugin explicitly (and no installed plugins)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return lambda *args: pytester.runpytest("-p", "rnnlab.testing.pytest_plugin", *args)


def test_generated_class_has_one_marked_test_per_check(pytester, plugin_pytester):
    pytester.makepyfile(
        test_plugin_cell="""
        import numpy as np
        from rnnlab.nn import RNNCell
        from rnnlab.testing import cell_conformance_tests

        class NoNormsRNN(RNNCell):
            def backward(self, dhs, dfinal_state=None):
                result = super().backward(dhs, dfinal_state)
                self.state_grad_norms = None
                return result

        TestNoNormsRNN = cell_conformance_tests(NoNormsRNN, options={"nonlinearity": "relu"})

        def test_unrelated():
            pass
    """
    )
    result = plugin_pytester("-m", "cell_conformance", "-rs")
    result.assert_outcomes(passed=len(CHECKS) - 1, skipped=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*NoNormsRNN(nonlinearity='relu') does not provide state_grad_norms*"]
    )


def test_fixture_runs_the_whole_kit_per_option_set(pytester, plugin_pytester):
    pytester.makepyfile(
        test_options="""
        import pytest
        from rnnlab.nn import LSTMCell

        @pytest.mark.parametrize("forget_bias", [0.0, 1.0])
        def test_lstm_conforms(cell_conformance, forget_bias):
            assert cell_conformance(LSTMCell, forget_bias=forget_bias) == []
    """
    )
    plugin_pytester("-m", "cell_conformance").assert_outcomes(passed=2)
