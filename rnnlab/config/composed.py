"""The run schema composed with the plugins' options: ``tracking`` holds every registered
tracker's options besides the core's own.

The composed classes are made at run time; this module serves them by name
(``rnnlab.config.composed.RunConfig``) for this process's plugins, so that pickle finds
them when a launcher sends a job's config to another process.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any, TypeVar

from rnnlab.config import schema
from rnnlab.errors import PluginError
from rnnlab.plugins.registry import Registry, get_registry

T = TypeVar("T", bound=type)


def __getattr__(name: str) -> type:
    if name == "RunConfig":
        return run_schema(get_registry())
    if name == "TrackingConfig":
        return tracking_schema(get_registry())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def importable(cls: T) -> T:
    """``cls``, named as this module serves it."""
    cls.__module__ = __name__
    return cls


@cache
def run_schema(registry: Registry) -> type[schema.RunConfig]:
    """The ``RunConfig`` whose ``tracking`` node also declares the options of every registered
    tracker (the fields of its config dataclass, after the core's own)."""
    tracking = tracking_schema(registry)
    if tracking is schema.TrackingConfig:
        return schema.RunConfig
    return importable(
        dataclasses.make_dataclass(
            "RunConfig",
            [("tracking", tracking, dataclasses.field(default_factory=tracking))],
            bases=(schema.RunConfig,),
        )
    )


@cache
def tracking_schema(registry: Registry) -> type[schema.TrackingConfig]:
    """The ``TrackingConfig`` with every tracker's options; an option declared twice (or one
    without a default) is a one-line PluginError naming the plugins."""
    owners = {f.name: "rnnlab itself" for f in dataclasses.fields(schema.TrackingConfig)}
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
        return schema.TrackingConfig

    def check(self: schema.TrackingConfig, prefix: str) -> None:
        for tracker_check in checks:  # a rule across a tracker's options
            tracker_check(self, prefix)

    return importable(
        dataclasses.make_dataclass(
            "TrackingConfig", options, bases=(schema.TrackingConfig,), namespace={"check": check}
        )
    )


def copy_field(f: dataclasses.Field) -> Any:
    """A new field with the default and metadata (range rules) of ``f``."""
    if f.default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=f.default_factory, metadata=f.metadata)
    return dataclasses.field(default=f.default, metadata=f.metadata)
