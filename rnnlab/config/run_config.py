"""A run's config as validated dataclasses: from Hydra's composition, or from Python.

``to_run_config`` turns a composed ``DictConfig`` into a ``RunConfig`` (types, unknown keys and
ranges checked; one-line errors); ``make_run_config`` builds one without Hydra, e.g. in a
notebook, with the same defaults and the same checks as the ``rnnlab`` command.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

from rnnlab.config.checks import validate
from rnnlab.config.composed import run_schema
from rnnlab.config.error_lines import one_line
from rnnlab.config.schema import RunConfig
from rnnlab.config.store import GROUP_BASES
from rnnlab.errors import RnnlabError
from rnnlab.plugins.registry import Registry, get_registry


def to_run_config(cfg: DictConfig) -> RunConfig:
    """The composed config as validated dataclasses (types, unknown keys, ranges)."""
    try:
        obj = OmegaConf.to_object(cfg)
    except Exception as exc:  # OmegaConf raises many types for a wrong key or value
        raise RnnlabError(one_line(exc)) from None
    validate(obj)
    return cast(RunConfig, obj)


def config_dict(conf: RunConfig) -> dict[str, Any]:
    """``conf`` as plain dicts and lists (what ``config.yaml`` holds and trackers see)."""
    return cast(dict, OmegaConf.to_container(OmegaConf.structured(conf), resolve=True))


def schema_for(choices: Mapping[str, str], registry: Registry) -> DictConfig:
    """The structured ``RunConfig`` whose groups are the registered dataclasses of ``choices``
    (group -> option name, e.g. ``{"cell": "lstm"}``): its defaults, checked on merge."""
    schema = OmegaConf.structured(run_schema(registry))  # with the trackers' options
    for group, name in choices.items():
        config = registry.get(group, name).config or GROUP_BASES[group]
        schema[group] = OmegaConf.structured(config(name=name))
    return schema


def shipped_config() -> DictConfig:
    """The shipped top-level ``conf/config.yaml``, unresolved."""
    return cast(DictConfig, OmegaConf.load(str(files("rnnlab.conf") / "config.yaml")))


def default_choices() -> dict[str, str]:
    """Each group's option when none is given: the defaults list of the shipped
    ``conf/config.yaml`` (``{"cell": "lstm", "data": "chars", ...}``)."""
    entries = [e for e in shipped_config().defaults if isinstance(e, DictConfig)]
    return {str(k): str(v) for e in entries for k, v in e.items() if k in GROUP_BASES}


def default_run_dir(conf: RunConfig) -> Path:
    """Where the ``rnnlab`` command puts a new run of ``conf``: the shipped config's
    ``hydra.run.dir`` (``outputs/<date>/<time>-<cell>-<data>``), resolved now."""
    from hydra.core.utils import setup_globals  # registers the ${now:...} resolver

    setup_globals()
    pattern = shipped_config().hydra.run.dir
    node = OmegaConf.merge(config_dict(conf), {"hydra": {"run": {"dir": pattern}}})
    return Path(node.hydra.run.dir)


def nested(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``{"train.steps": 5}`` -> ``{"train": {"steps": 5}}`` (nested dicts pass as they are)."""
    tree: dict[str, Any] = {}
    for key, value in settings.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def make_run_config(
    settings: Mapping[str, Any] | None = None, /, registry: Registry | None = None, **more: Any
) -> RunConfig:
    """A validated ``RunConfig`` from Python, without Hydra, as ``rnnlab KEY=VALUE`` makes it.

    Keys are those of the command line: a group's option by name (``cell="gru"``; the groups
    not given take the command's defaults), any other value by its dotted key
    (``{"train.steps": 50}``) or as a nested dict (``train={"steps": 50}``)::

        make_run_config({"cell": "gru", "data": "difference", "train.steps": 50})
        make_run_config(cell="gru", model={"hidden_size": 32})

    A wrong key, type or range raises ``RnnlabError`` with the command's one-line message.
    """
    registry = registry or get_registry()
    given = {**(settings or {}), **more}
    choices = default_choices()
    for group in GROUP_BASES:
        if isinstance(given.get(group), str):
            choices[group] = given.pop(group)
    values = nested(given)
    for group in GROUP_BASES:
        node = values.get(group)
        if isinstance(node, Mapping) and "name" in node:
            choices[group] = str(node["name"])
    schema = schema_for(choices, registry)
    try:
        merged = OmegaConf.merge(schema, values)
    except Exception as exc:  # OmegaConf raises many types for a wrong key or value
        raise RnnlabError(one_line(exc)) from None
    return to_run_config(cast(DictConfig, merged))
