"""The optimizer contract, checked on a small instance before anything trains.

An optimizer plugin is ``build(params, config)`` returning an object with ``step(grads)``
(updates the arrays of ``params`` in place), an ``lr`` attribute (set by the schedule before
every step), and ``state_dict()`` / ``load_state_dict(state)`` (a dict of arrays, kept in
checkpoints). One that breaks it would otherwise fail mid-run, or at the first checkpoint, with
an AttributeError that names neither the optimizer nor its plugin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab.errors import ConfigError, PluginError
from rnnlab.plugins.registry import Registration

#: what an optimizer must have, as the message names it
REQUIRED = {
    "step": "step(grads)",
    "state_dict": "state_dict()",
    "load_state_dict": "load_state_dict(state)",
}


class BrokenContract(Exception):
    """What an optimizer lacks or does wrong (the middle of the one-line error)."""


def probe_params(dtype: np.dtype) -> dict[str, np.ndarray]:
    """A weight matrix (2, 3) and a bias (3,) of ``dtype``."""
    return {"weight": np.ones((2, 3), dtype), "bias": np.zeros(3, dtype)}


def checked_state(state: object) -> dict[str, np.ndarray]:
    """``state`` as a dict of arrays (what a checkpoint stores), or BrokenContract."""
    if not isinstance(state, dict):
        raise BrokenContract(f"state_dict() returns a {type(state).__name__}, not a dict of arrays")
    arrays = {}
    for key, value in state.items():
        array = np.asarray(value)
        if not isinstance(key, str) or array.dtype == object:
            raise BrokenContract(
                f"state_dict()[{key!r}] is a {type(value).__name__}, not an array (a checkpoint "
                f"keeps only named arrays)"
            )
        arrays[key] = array
    return arrays


def exercise(build: Any, config: Any, dtype: np.dtype) -> None:
    """Build the optimizer over ``probe_params``, take a step, and round-trip its state through
    a second instance; BrokenContract saying what broke."""
    params = probe_params(dtype)
    originals = dict(params)
    optimizer = build(params, config)
    lacking = [
        words for name, words in REQUIRED.items() if not callable(getattr(optimizer, name, None))
    ]
    if not hasattr(optimizer, "lr"):
        lacking.append("an lr attribute")
    if lacking:
        raise BrokenContract(f"{type(optimizer).__name__} lacks {', '.join(lacking)}")
    optimizer.lr = config.lr
    optimizer.step({k: np.full_like(v, 0.1) for k, v in params.items()})
    replaced = [k for k in params if params[k] is not originals[k]]
    if replaced:
        raise BrokenContract(
            f"step(grads) replaced params[{replaced[0]!r}] instead of updating it in place "
            f"(write p -= ..., or p[...] = ...)"
        )
    state = checked_state(optimizer.state_dict())
    twin = build({k: v.copy() for k, v in params.items()}, config)
    twin.load_state_dict(state)
    restored = checked_state(twin.state_dict())
    differ = sorted(
        set(state) ^ set(restored)
        | {k for k in set(state) & set(restored) if not np.array_equal(state[k], restored[k])}
    )
    if differ:
        raise BrokenContract(
            f"load_state_dict(state_dict()) does not restore the state (differs at {differ[0]!r})"
        )


def check_optimizer_contract(reg: Registration, config: Any, dtype: np.dtype) -> None:
    """Exercise the optimizer of ``reg`` on a small problem; PluginError (one line naming its
    plugin, what it lacks and the fix) if it breaks the contract. A ConfigError its build
    raises (a value it refuses) passes through."""
    try:
        exercise(reg.obj, config, dtype)
    except ConfigError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split())
        detail = (
            text if isinstance(exc, BrokenContract) else f"it raised {type(exc).__name__}: {text}"
        )
        raise PluginError(
            f"optimizer '{reg.name}' from {reg.plugin.describe()} breaks the optimizer contract: "
            f"{detail}; fix the optimizer (README: Plugin guide, Writing an optimizer)"
        ) from None
