"""The tags and ``meta`` keys the runner gives a ``Run`` (which lives in ``rnnlab.plugins.run``,
the plugin contract, and is re-exported here for trackers that import it from this module)."""

from __future__ import annotations

from rnnlab.plugins.run import Run

__all__ = ["COPIED_FROM_TAG", "HOST_TAG", "OVERRIDES_TAG", "PID_TAG", "RUN_DIR_META", "Run"]

#: tags every run carries: where its process runs (to find runs killed hard) and its overrides
HOST_TAG, PID_TAG, OVERRIDES_TAG = "rnnlab.host", "rnnlab.pid", "rnnlab.overrides"
#: tag of a run resumed in a copy of another run's directory: that directory
COPIED_FROM_TAG = "rnnlab.copied_from"
#: ``meta`` key: the resolved directory the run trains in (a copy or a move changes it)
RUN_DIR_META = "run_dir"
