"""What the plugins register: cells, datasets, optimizers, schedules, tasks, trackers
and commands by name."""

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
    "command": "register_commands",
}


@dataclass(frozen=True)
class Registration:
    kind: str
    name: str
    obj: Any
    config: type | None
    plugin: PluginInfo
    #: one line saying what it does (commands: ``rnnlab --help`` lists it)
    help: str = ""


class Registry:
    """Registrations of every kind, each attributed to the plugin that made it."""

    def __init__(self, plugins: LoadedPlugins):
        self.plugins = plugins
        self.entries: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
        #: (kind, name) -> the line naming both plugins that register it
        self.conflicts: dict[tuple[str, str], str] = {}
        #: (kind, name) -> the line saying how its registration breaks the contract
        self.broken: dict[tuple[str, str], str] = {}
        for kind, hook_name in KINDS.items():
            hook = getattr(plugins.pm.hook, hook_name)
            for impl in reversed(hook.get_hookimpls()):  # registration order
                self._collect(kind, impl)

    def _collect(self, kind: str, impl: HookImpl) -> None:
        plugin = self.plugins.info_for(impl.plugin_name)

        def register(name: str, obj: Any, config: type | None = None, help: str = "") -> None:
            if config is not None and not dataclasses.is_dataclass(config):
                raise TypeError(f"config for {kind} '{name}' must be a dataclass")
            existing = self.entries[kind].get(name)
            if existing is not None:
                self.conflicts[kind, name] = (
                    f"{kind} '{name}' is registered twice: by {existing.plugin.describe()} "
                    f"and by {plugin.describe()}; uninstall one of them or disable it with "
                    f"RNNLAB_PLUGINS"
                )
                return
            if kind == "command" and not callable(obj):
                self.broken[kind, name] = (
                    f"command '{name}' from {plugin.describe()} is not callable (it is a "
                    f"{type(obj).__name__}); register a function of the argument list: "
                    f"register('{name}', run, help='...')"
                )
            self.entries[kind][name] = Registration(kind, name, obj, config, plugin, help)

        try:
            impl.function(register=register)
        except Exception as exc:  # a broken registration hook is a plugin failure
            self.plugins.failures.append(PluginFailure(plugin, f"{type(exc).__name__}: {exc}"))

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def check_conflicts(self) -> None:
        for conflict in self.conflicts.values():
            raise PluginError(conflict)

    def get(self, kind: str, name: str) -> Registration:
        """The registration ``name`` of ``kind``, or a one-line error listing what exists."""
        self.check_conflicts()
        return self.find(kind, name)

    def find(self, kind: str, name: str) -> Registration:
        """Like ``get``, but failing on a conflict about this name only, not on one elsewhere."""
        if (kind, name) in self.conflicts:
            raise PluginError(self.conflicts[kind, name])
        if (kind, name) in self.broken:
            raise PluginError(self.broken[kind, name])
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
