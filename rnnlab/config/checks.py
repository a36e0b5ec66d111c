"""Range checks declared on config dataclass fields, run after Hydra composes.

Types and unknown keys are checked by OmegaConf (structured configs); ranges
are declared with ``checked(default, rule)`` and checked by ``validate``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from rnnlab.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """A predicate on a value and the words that say what is allowed."""

    test: Callable[[Any], bool]
    allowed: str
    #: leave the value out of the error message (it may hold a secret)
    hide_value: bool = False


def positive() -> Rule:
    return Rule(lambda v: v > 0, "a number > 0")


def non_negative() -> Rule:
    return Rule(lambda v: v >= 0, "a number >= 0")


def at_least(low: float) -> Rule:
    return Rule(lambda v: v >= low, f"a number >= {low}")


def between(low: float, high: float) -> Rule:
    return Rule(lambda v: low <= v <= high, f"a number in [{low}, {high}]")


def below(high: float) -> Rule:
    return Rule(lambda v: 0 <= v < high, f"a number in [0, {high})")


def fraction(include_one: bool = False) -> Rule:
    """A number in (0, 1), or (0, 1] with ``include_one``."""
    if include_one:
        return Rule(lambda v: 0 < v <= 1, "a number in (0, 1]")
    return Rule(lambda v: 0 < v < 1, "a number in (0, 1)")


def one_of(*choices: object) -> Rule:
    return Rule(lambda v: v in choices, "one of " + ", ".join(map(str, choices)))


def no_password() -> Rule:
    """A URI without a password in it (it would be saved with the run's config and params)."""
    return Rule(
        lambda v: urlparse(v).password is None,
        "a URI without a password: give it in MLFLOW_TRACKING_PASSWORD (and the user "
        "in MLFLOW_TRACKING_USERNAME)",
        hide_value=True,
    )


def checked(default: Any, rule: Rule, optional: bool = False) -> Any:
    """A dataclass field with a default and a range rule (``None`` passes if optional)."""
    return field(default=default, metadata={"rule": rule, "optional": optional})


def unknown_key(key: str) -> ConfigError:
    return ConfigError(f"unknown key {key}; check the spelling (rnnlab --cfg job prints every key)")


def check_value(key: str, value: Any, rule: Rule, shown: Any = None, separator: str = "=") -> None:
    """Raise ConfigError naming ``key`` and what ``rule`` allows unless ``value`` passes it
    (``shown``: the value to print, if not ``value`` itself)."""
    if (isinstance(value, float) and not math.isfinite(value)) or not rule.test(value):
        text = "" if rule.hide_value else f"{separator}{(value if shown is None else shown)!r}"
        raise ConfigError(f"{key}{text} is not allowed: use {rule.allowed}")


def validate(obj: Any, prefix: str = "") -> None:
    """Check every ruled field of the dataclass ``obj`` (recursively), then its ``check(prefix)``
    method if it has one (rules across fields); raise ConfigError.

    A key added with ``+key=value`` that the dataclass does not declare is refused too
    (OmegaConf keeps it as an extra attribute, and nothing would read it).
    """
    fields = dataclasses.fields(obj)
    unknown = sorted(set(vars(obj)) - {f.name for f in fields})
    if unknown:
        raise unknown_key(f"{prefix}{unknown[0]}")
    for f in fields:
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            validate(value, key + ".")
            continue
        rule = f.metadata.get("rule")
        if rule is None or (value is None and f.metadata.get("optional")):
            continue
        check_value(key, value, rule)
    check = getattr(obj, "check", None)
    if callable(check):  # a rule across fields; its message names them under this group
        check(prefix)
