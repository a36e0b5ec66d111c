"""The ``Run``: what lifecycle hooks (trackers, callbacks) see of a job."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    """One training job.

    ``config`` is the composed config as plain dicts/lists; ``params`` the same
    flattened with dotted keys (strings, for trackers); ``meta`` is JSON-able,
    saved in every checkpoint and restored on resume (a tracker keeps its
    remote run id there, e.g. ``meta["mlflow_run_id"]``).
    """

    config: dict
    params: dict[str, str]
    run_dir: Path
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    resumed_from_step: int = 0
    #: the ``meta`` of the run whose directory this one was copied from (resumed in the copy):
    #: trackers start a new record here, linked to that run's, and leave that one alone
    copied_from: dict = field(default_factory=dict)
