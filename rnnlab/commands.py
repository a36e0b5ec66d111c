"""Subcommands: ``rnnlab NAME ARGS...`` runs the command a plugin registered as NAME
(``register_commands``; rnnlab's own ``plugins``, ``sample`` and ``evaluate`` included)."""

from __future__ import annotations

import re

from rnnlab.plugins.registry import Registration, Registry

#: a first argument that names a command rather than an override (``key=value``, ``~key``)
COMMAND_WORD = re.compile(r"^[A-Za-z][\w-]*$")


def find_command(argv: list[str], registry: Registry) -> Registration | None:
    """The command ``argv`` starts with; None when it is training (overrides and options).

    A word that is no registered command fails with one PluginError listing the commands
    (or naming the plugin that should have provided it and failed, or a conflict).
    """
    if not argv or not COMMAND_WORD.match(argv[0]):
        return None
    return registry.find("command", argv[0])


def commands_help(registry: Registry) -> str:
    """One line per registered command, for ``rnnlab --help``."""
    return "\n".join(
        f"  rnnlab {name:<9} {reg.help}".rstrip()
        for name, reg in sorted(registry.entries["command"].items())
    )
