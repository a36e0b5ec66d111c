"""Loading plugins from the ``rnnlab`` entry-point group, with failure isolation.

Environment:
- ``RNNLAB_DISABLE_PLUGIN_AUTOLOAD=1`` loads only rnnlab's own plugins;
- ``RNNLAB_PLUGINS=name,name`` loads only the listed entry points (rnnlab's
  own always load).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

import pluggy

from rnnlab.plugins import hookspecs

GROUP = "rnnlab"
OWN_DISTRIBUTION = "rnnlab"


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin came from: its entry point and distribution."""

    name: str
    distribution: str
    version: str
    module: str

    def describe(self) -> str:
        return f"entry point '{self.name}' of {self.distribution} {self.version}"


@dataclass(frozen=True)
class PluginFailure:
    plugin: PluginInfo
    error: str


class LoadedPlugins:
    """The plugin manager with what was loaded and what failed to load."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.loaded: list[PluginInfo] = []
        self.failures: list[PluginFailure] = []

    def info_for(self, plugin_name: str) -> PluginInfo:
        for info in self.loaded:
            if info.name == plugin_name:
                return info
        return PluginInfo(plugin_name, "(registered in code)", "", plugin_name)


def _wanted(ep: EntryPoint, dist_name: str) -> bool:
    if dist_name == OWN_DISTRIBUTION:
        return True
    if os.environ.get("RNNLAB_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    allow = os.environ.get("RNNLAB_PLUGINS")
    if allow is not None:
        return ep.name in {n.strip() for n in allow.split(",") if n.strip()}
    return True


def load_plugins() -> LoadedPlugins:
    """Import every wanted entry point of the group; a failing one is recorded, not raised."""
    plugins = LoadedPlugins()
    for ep in sorted(
        entry_points(group=GROUP),
        key=lambda e: (e.dist is None or e.dist.name != OWN_DISTRIBUTION, e.name),
    ):
        dist = ep.dist
        info = PluginInfo(
            ep.name, dist.name if dist else "?", dist.version if dist else "?", ep.value
        )
        if not _wanted(ep, info.distribution):
            continue
        try:
            plugin = ep.load()
            plugins.pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not take rnnlab down
            plugins.failures.append(PluginFailure(info, f"{type(exc).__name__}: {exc}"))
            continue
        plugins.loaded.append(info)
    if not any(info.distribution == OWN_DISTRIBUTION for info in plugins.loaded):
        raise RuntimeError(
            "rnnlab's built-in plugins are not installed (no 'rnnlab' entry points); "
            "install the package with 'pip install .' or 'pip install -e .'"
        )
    return plugins


@lru_cache(maxsize=1)
def get_plugins() -> LoadedPlugins:
    """The process-wide plugins, loaded once."""
    return load_plugins()
