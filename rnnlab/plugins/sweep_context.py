"""The ``Sweep``: what the sweep hooks see of an ``rnnlab -m`` sweep."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Sweep:
    """One sweep, in the process that launches its jobs.

    ``config`` is the sweep's composed config as plain dicts/lists (without ``hydra``), before
    the swept values are applied: its ``tracking`` settings hold for every job. A plugin sets
    ``job_env`` entries in ``on_sweep_start`` to hand environment variables to every job
    (wherever a launcher runs it), and keeps its own state for the later sweep hooks in
    ``meta`` (e.g. a parent run's id).
    """

    sweep_dir: Path
    #: the sweep's command-line overrides, e.g. ``["cell=rnn,lstm", "train.steps=100"]``
    overrides: list[str]
    config: dict[str, Any]
    job_env: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
