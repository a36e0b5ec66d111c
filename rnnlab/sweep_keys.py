"""The settings a sweep varies: its sweep overrides (``cell=rnn,gru``, ``seed=range(5)``) and
its sweeper's ``params`` (an experiment config's grid, an Optuna search space)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser

#: the environment variable that hands them to the jobs, comma-separated
SWEPT_KEYS_ENV = "RNNLAB_SWEPT_KEYS"


def swept_keys(overrides: Sequence[str], sweeper_params: Iterable[str] = ()) -> list[str]:
    """The keys that vary from job to job, in the order they were given."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    keys = [o.key_or_group for o in parsed if o.is_sweep_override()]
    return list(dict.fromkeys([*keys, *sweeper_params]))
