"""Plugin contract (hookspecs), loading (manager) and what plugins register (registry)."""

from rnnlab.plugins.hookspecs import hookimpl, hookspec
from rnnlab.plugins.registry import Registration, get_registry

__all__ = ["Registration", "get_registry", "hookimpl", "hookspec"]
