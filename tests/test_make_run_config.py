"""make_run_config: the config the rnnlab command composes, built from Python without Hydra."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from rnnlab.cli import CONF_DIR
from rnnlab.config import make_run_config
from rnnlab.config.run_config import to_run_config
from rnnlab.config.store import store_configs
from rnnlab.errors import RnnlabError
from rnnlab.plugins.registry import get_registry


def composed(*overrides: str):
    store_configs(get_registry())
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return to_run_config(compose("config", overrides=list(overrides)))


def test_without_settings_it_is_the_commands_default_run():
    assert make_run_config() == composed()


def test_group_names_dotted_keys_and_nested_dicts_set_what_overrides_would():
    built = make_run_config(
        {"cell": "gru", "optimizer": "sgd", "optimizer.momentum": 0.5},
        data="difference",
        train={"steps": 50},
    )
    assert built == composed(
        "cell=gru", "optimizer=sgd", "optimizer.momentum=0.5", "data=difference", "train.steps=50"
    )


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"model.hiden_size": 3}, "unknown key model.hiden_size; check the spelling"),
        ({"train.steps": "many"}, "train.steps: Value 'many' of type 'str' could not be converted"),
        ({"train.steps": 0}, "train.steps=0 is not allowed: use a number > 0"),
        ({"cell": "nope"}, "unknown cell 'nope'; available: gru, lstm, rnn"),
    ],
)
def test_a_mistake_raises_the_commands_one_line_error(settings, message):
    with pytest.raises(RnnlabError) as raised:
        make_run_config(settings)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)
