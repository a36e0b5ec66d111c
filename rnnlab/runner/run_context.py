"""The tags and ``meta`` keys the runner gives a ``Run`` (which lives in ``rnnlab.plugins.run``,
the plugin contract, and is re-exported here, with the tags of ``rnnlab.names``, for trackers
that import them from this module)."""

from __future__ import annotations

from rnnlab.names import COPIED_FROM_TAG, HOST_TAG, OVERRIDES_TAG, PID_TAG
from rnnlab.plugins.run import Run

__all__ = ["COPIED_FROM_TAG", "HOST_TAG", "OVERRIDES_TAG", "PID_TAG", "RUN_DIR_META", "Run"]

#: ``meta`` key: the resolved directory the run trains in (a copy or a move changes it)
RUN_DIR_META = "run_dir"
