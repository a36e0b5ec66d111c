"""Runs left RUNNING by a process that was killed hard (SIGKILL, out of memory, power loss
of a worker) are marked KILLED the next time this host opens their experiment."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from rnnlab.names import HOST_TAG, PID_TAG
from rnnlab.processes import process_alive

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


def reap_abandoned_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark KILLED the RUNNING runs of this host whose process is gone; returns their ids."""
    host = socket.gethostname()
    reaped = []
    for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'"):
        tags = run.data.tags
        if tags.get(HOST_TAG) == host and PID_TAG in tags and not process_alive(tags[PID_TAG]):
            client.set_terminated(run.info.run_id, "KILLED")
            reaped.append(run.info.run_id)
    return reaped
