"""Plugin discovery, failure isolation and name conflicts."""

import pytest

from rnnlab.errors import PluginError
from rnnlab.plugins.manager import load_plugins
from rnnlab.plugins.registry import Registry

BROKEN = {"broken_plugin": "raise ImportError('libfoo.so: cannot open shared object file')"}

SECOND_LSTM = {
    "other_lstm": """
    from rnnlab import hookimpl
    from rnnlab.nn.lstm import LSTMCell

    @hookimpl
    def register_cells(register):
        register("lstm", LSTMCell)
"""
}


def registry() -> Registry:
    return Registry(load_plugins())


def test_builtins_are_registered_through_rnnlabs_own_entry_points():
    reg = registry()
    assert {info.distribution for info in reg.plugins.loaded} >= {"rnnlab"}
    assert set(reg.names("cell")) >= {"rnn", "lstm", "gru"}
    assert set(reg.names("data")) >= {"chars", "difference"}
    assert set(reg.names("optimizer")) >= {"sgd", "adagrad", "adam"}
    assert set(reg.names("tracker")) >= {"mlflow", "metrics_file"}
    assert reg.get("cell", "lstm").plugin.distribution == "rnnlab"


def test_plugin_that_raises_on_import_leaves_rnnlab_usable(plugin_dist):
    plugin_dist("rnnlab-broken", {"broken": "broken_plugin"}, BROKEN)
    reg = registry()
    assert reg.get("cell", "lstm").name == "lstm"
    [failure] = reg.plugins.failures
    assert failure.plugin.name == "broken" and failure.plugin.distribution == "rnnlab-broken"
    assert "libfoo.so" in failure.error


def test_selecting_a_failed_plugin_names_its_entry_point_and_error(plugin_dist):
    plugin_dist("rnnlab-broken", {"broken": "broken_plugin"}, BROKEN)
    with pytest.raises(PluginError, match=r"entry point 'broken' of rnnlab-broken 0\.1\.0.*libfoo"):
        registry().get("cell", "broken")


def test_unknown_name_lists_what_is_available():
    with pytest.raises(PluginError, match=r"unknown cell 'nope'; available: gru, lstm, .*rnn"):
        registry().get("cell", "nope")


def test_two_plugins_registering_one_name_fail_naming_both(plugin_dist):
    plugin_dist("rnnlab-other", {"other": "other_lstm"}, SECOND_LSTM)
    with pytest.raises(PluginError) as info:
        registry().get("cell", "gru")
    message = str(info.value)
    assert "\n" not in message
    assert "cell 'lstm' is registered twice" in message
    assert "of rnnlab 0.1.0" in message and "entry point 'other' of rnnlab-other 0.1.0" in message


def test_autoload_can_be_disabled(plugin_dist, monkeypatch):
    plugin_dist("rnnlab-other", {"other": "other_lstm"}, SECOND_LSTM)
    monkeypatch.setenv("RNNLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    reg = registry()
    assert {info.distribution for info in reg.plugins.loaded} == {"rnnlab"}
    assert not reg.conflicts


def test_allow_list_loads_only_named_third_party_plugins(plugin_dist, monkeypatch):
    plugin_dist("rnnlab-broken", {"broken": "broken_plugin"}, BROKEN)
    plugin_dist("rnnlab-other", {"other": "other_lstm"}, SECOND_LSTM)
    monkeypatch.setenv("RNNLAB_PLUGINS", "broken")
    reg = registry()
    assert [f.plugin.name for f in reg.plugins.failures] == ["broken"]
    assert not reg.conflicts
