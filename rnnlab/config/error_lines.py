"""Hydra's and OmegaConf's errors about a config, folded into one line that names the fix."""

from __future__ import annotations

import itertools

from rnnlab.config.checks import unknown_key

#: what to write instead, for OmegaConf's messages about a value of the wrong type
TYPE_FIXES = {
    "converted to Float": "use a number",
    "converted to Integer": "use a whole number",
    "converted to Boolean": "use true or false",
    "is not a ListConfig, list or tuple": "use a list, e.g. [a,b]",
    "to string": "use a single value",
}


def available_options(lines: list[str]) -> list[str]:
    """The options Hydra lists under 'Available options in <group>:' when one is not found."""
    start = next(
        (i + 1 for i, ln in enumerate(lines) if ln.startswith("Available options in")), None
    )
    if start is None:
        return []
    return list(
        itertools.takewhile(lambda ln: not ln.startswith("Config search path"), lines[start:])
    )


def one_line(exc: BaseException) -> str:
    """A Hydra/OmegaConf error folded into one line that names the key and the fix."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    lines = [ln.strip() for ln in str(cause).splitlines() if ln.strip()]
    key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("full_key:")), "")
    head = lines[0].rstrip(".") if lines else type(exc).__name__
    if key and head.startswith("Key ") and " not in " in head:
        return str(unknown_key(key))
    if head.startswith("Ambiguous value"):
        return f"{head}: add -m to sweep over the values, or write [a,b] for a list"
    fix = next((fix for words, fix in TYPE_FIXES.items() if words in head), None)
    options = available_options(lines)
    if options:
        fix = "available: " + ", ".join(options)
    if key and key not in head:
        head = f"{key}: {head}"
    return f"{head}; {fix}" if fix else head
