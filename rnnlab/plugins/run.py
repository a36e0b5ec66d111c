"""The ``Run``: what lifecycle hooks (trackers, callbacks) see of a job."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pluggy import HookRelay

from rnnlab.errors import RnnlabError


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
    #: the plugin manager's hook relay, set by the runner while the run trains
    hook: HookRelay | None = field(default=None, repr=False, compare=False)

    def add_artifact(self, path: str | os.PathLike, artifact_path: str) -> None:
        """Hand the file ``path`` (inside ``run_dir``) to every tracker to keep under the
        folder ``artifact_path``: ``on_artifact`` is called on each, the caller's included.

        For a tracker that writes a file the others should keep; call it from any lifecycle
        hook but ``on_artifact`` itself (that would call back without end).
        """
        if self.hook is None:
            raise RnnlabError(
                f"run {self.name} has no trackers attached (it is not training); "
                f"add artifacts from a lifecycle hook"
            )
        self.hook.on_artifact(run=self, path=Path(path), artifact_path=artifact_path)
