"""Put the schema and every registered group node into Hydra's ConfigStore."""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any

from hydra.core.config_store import ConfigStore

from rnnlab.config.schema import (
    CellConfig,
    DataConfig,
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrackingConfig,
)
from rnnlab.errors import PluginError
from rnnlab.plugins.registry import Registry

GROUP_BASES = {
    "cell": CellConfig,
    "data": DataConfig,
    "optimizer": OptimizerConfig,
    "schedule": ScheduleConfig,
}


def store_configs(registry: Registry) -> None:
    """Store ``rnnlab_schema`` (``run_schema``), and ``<group>/<name>`` for each registered
    cell, dataset, optimizer and schedule."""
    cs = ConfigStore.instance()
    cs.store(name="rnnlab_schema", node=run_schema(registry))
    for group, base in GROUP_BASES.items():
        for name, reg in registry.entries[group].items():
            config = reg.config or base
            if not issubclass(config, base):
                raise PluginError(
                    f"{group} '{name}' from {reg.plugin.describe()} has config "
                    f"{config.__name__}, which must subclass rnnlab.config.{base.__name__}"
                )
            cs.store(group=group, name=name, node=config(name=name))


@cache
def run_schema(registry: Registry) -> type[RunConfig]:
    """``RunConfig`` whose ``tracking`` node also declares the options of every registered
    tracker (the fields of its config dataclass, after the core's own)."""
    tracking = tracking_schema(registry)
    if tracking is TrackingConfig:
        return RunConfig
    return dataclasses.make_dataclass(
        "RunConfig",
        [("tracking", tracking, dataclasses.field(default_factory=tracking))],
        bases=(RunConfig,),
    )


def tracking_schema(registry: Registry) -> type[TrackingConfig]:
    """``TrackingConfig`` with every tracker's options; an option declared twice (or one
    without a default) is a one-line PluginError naming the plugins."""
    owners = {f.name: "rnnlab itself" for f in dataclasses.fields(TrackingConfig)}
    options: list[tuple[str, Any, Any]] = []
    checks = []
    for reg in registry.entries["tracker"].values():
        if reg.config is None:
            continue
        owner = f"tracker '{reg.name}' from {reg.plugin.describe()}"
        types = typing.get_type_hints(reg.config)
        for f in dataclasses.fields(reg.config):
            if f.name in owners:
                raise PluginError(
                    f"tracking.{f.name} is declared twice: by {owners[f.name]} and by {owner}; "
                    f"rename the option in one of them, or uninstall one"
                )
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise PluginError(
                    f"tracking.{f.name} of {owner} has no default; give every option of a "
                    f"tracker's config a default"
                )
            owners[f.name] = owner
            options.append((f.name, types[f.name], copy_field(f)))
        rule = getattr(reg.config, "check", None)
        if callable(rule):
            checks.append(rule)
    if not options:
        return TrackingConfig

    def check(self: TrackingConfig, prefix: str) -> None:
        for tracker_check in checks:  # a rule across a tracker's options
            tracker_check(self, prefix)

    return dataclasses.make_dataclass(
        "TrackingConfig", options, bases=(TrackingConfig,), namespace={"check": check}
    )


def copy_field(f: dataclasses.Field) -> Any:
    """A new field with the default and metadata (range rules) of ``f``."""
    if f.default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=f.default_factory, metadata=f.metadata)
    return dataclasses.field(default=f.default, metadata=f.metadata)
