"""Run names that tell runs apart: the cell, then what was chosen for this run.

A single run is named by its cell, its data and the settings its overrides changed
(``lstm chars lr=0.03 bptt=32``); a sweep's job by its cell and the settings the sweep varies
(``lstm lr=0.03 bptt=32``). Group choices show as their name (``adam``), other settings as
``key=value`` with the key's last part, or the whole key where two last parts coincide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: config groups: a choice shows as its name
GROUPS = ("cell", "data", "optimizer", "schedule")
#: settings that do not change what a run learns, left out of its name
UNNAMED = ("tracking.", "hydra.", "sample.", "threads", "resume", "train.log_every")


def override_keys(overrides: Sequence[str]) -> list[str]:
    """The keys ``overrides`` set (``+x=1`` -> ``x``), in order, without duplicates."""
    keys = [o.split("=", 1)[0].lstrip("+~") for o in overrides if "=" in o]
    return list(dict.fromkeys(keys))


def lookup(config: dict, key: str) -> Any:
    """The value at the dotted ``key`` of ``config``; a group's value is its ``name``."""
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value["name"] if isinstance(value, dict) and "name" in value else value


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Each key by its last part, or whole where two keys share a last part."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: part if last.count(part) == 1 else k for k, part in zip(keys, last, strict=True)}


def run_name(config: dict, overrides: Sequence[str], swept: Sequence[str] | None = None) -> str:
    """The name of a run with the resolved ``config`` (plain dicts) started with ``overrides``;
    ``swept``: the keys its sweep varies (None for a single run)."""
    if swept is None:
        keys = [k for k in override_keys(overrides) if not k.startswith(UNNAMED)]
        keys = ["cell", "data", *keys]
    else:
        keys = ["cell", *swept]
    keys = list(dict.fromkeys(keys))
    settings = [k for k in keys if k not in GROUPS]
    short = short_keys(settings)
    parts = []
    for key in keys:
        value = lookup(config, key)
        if value is None:
            continue
        parts.append(str(value) if key in GROUPS else f"{short[key]}={value}")
    return " ".join(parts)
