"""What the plugins register: cells, datasets, optimizers, schedules, tasks and
trackers by name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pluggy import HookImpl

from rnnlab.errors import PluginError
from rnnlab.plugins.manager import LoadedPlugins, PluginFailure, PluginInfo, get_plugins

KINDS = {
    "cell": "register_cells",
    "data": "register_datasets",
    "optimizer": "register_optimizers",
    "schedule": "register_schedules",
    "task": "register_tasks",
    "tracker": "register_trackers",
}


@dataclass(frozen=True)
class Registration:
    kind: str
    name: str
    obj: Any
    config: type | None
    plugin: PluginInfo


class Registry:
    """Registrations of every kind, each attributed to the plugin that made it."""

    def __init__(self, plugins: LoadedPlugins):
        self.plugins = plugins
        self.entries: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
        self.conflicts: list[str] = []
        for kind, hook_name in KINDS.items():
            hook = getattr(plugins.pm.hook, hook_name)
            for impl in reversed(hook.get_hookimpls()):  # registration order
                self._collect(kind, impl)

    def _collect(self, kind: str, impl: HookImpl) -> None:
        plugin = self.plugins.info_for(impl.plugin_name)

        def register(name: str, obj: Any, config: type | None = None) -> None:
            if config is not None and not dataclasses.is_dataclass(config):
                raise TypeError(f"config for {kind} '{name}' must be a dataclass")
            existing = self.entries[kind].get(name)
            if existing is not None:
                self.conflicts.append(
                    f"{kind} '{name}' is registered twice: by {existing.plugin.describe()} "
                    f"and by {plugin.describe()}; uninstall one of them or disable it with "
                    f"RNNLAB_PLUGINS"
                )
                return
            self.entries[kind][name] = Registration(kind, name, obj, config, plugin)

        try:
            impl.function(register=register)
        except Exception as exc:  # a broken registration hook is a plugin failure
            self.plugins.failures.append(PluginFailure(plugin, f"{type(exc).__name__}: {exc}"))

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def check_conflicts(self) -> None:
        if self.conflicts:
            raise PluginError(self.conflicts[0])

    def get(self, kind: str, name: str) -> Registration:
        """The registration ``name`` of ``kind``, or a one-line error listing what exists."""
        self.check_conflicts()
        if name in self.entries[kind]:
            return self.entries[kind][name]
        for failure in self.plugins.failures:
            if failure.plugin.name == name:
                raise PluginError(
                    f"{kind} '{name}' is unavailable: {failure.plugin.describe()} failed to "
                    f"load ({failure.error})"
                )
        available = ", ".join(self.names(kind)) or "none"
        hint = ""
        if self.plugins.failures:
            hint = "; plugins that failed to load: " + ", ".join(
                f"{f.plugin.describe()} ({f.error})" for f in self.plugins.failures
            )
        raise PluginError(f"unknown {kind} '{name}'; available: {available}{hint}")


@lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The process-wide registry over ``get_plugins()``."""
    return Registry(get_plugins())
