"""A sweep in MLflow: one parent run, the jobs as its children, a summary at the end.

The parent process creates the store, the experiment and the parent run
before any job starts, and passes their ids to the jobs through the
environment (``Sweep.job_env``: concurrent first use of a new sqlite store corrupts it, and
concurrent ``set_experiment`` files runs under "Default").
"""

from __future__ import annotations

import math
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.mlflow_plugin.abandoned_runs import reap_abandoned_runs
from rnnlab.mlflow_plugin.env import EXPERIMENT_ID_ENV, PARENT_RUN_ENV
from rnnlab.mlflow_plugin.links import children_filter, runs_link, serve_hint
from rnnlab.mlflow_plugin.store import (
    open_client,
    quiet_store_logs,
    resolve_tracking_uri,
    store_failed,
)
from rnnlab.mlflow_plugin.tracker import ensure_experiment, experiment_name
from rnnlab.names import HOST_TAG, OVERRIDES_TAG, PID_TAG, SWEEP_DIR_TAG, SWEPT_KEYS_ENV
from rnnlab.plugins.sweep_context import Sweep
from rnnlab.runner.run_name import run_name

OBJECTIVE = "val/best_loss"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"


@dataclass
class JobResult:
    run_id: str
    name: str
    overrides: str
    status: str
    objective: float
    error: str


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    quiet_store_logs()
    return MlflowClient(tracking_uri=uri)


def start_sweep(sweep: Sweep) -> str:
    """Create the parent run; hand the store, experiment and parent ids to the jobs."""
    tracking = sweep.config["tracking"]
    uri = resolve_tracking_uri(tracking.get("tracking_uri"))
    name = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    tags = {
        SWEEP_DIR_TAG: str(sweep.sweep_dir),
        OVERRIDES_TAG: " ".join(sweep.overrides),
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
    }
    try:
        client = open_client(uri, create=True)
        data = None if "data" in sweep.swept else sweep.config["data"]["name"]
        experiment_id = os.environ.get(EXPERIMENT_ID_ENV) or ensure_experiment(
            client, experiment_name(tracking, data), uri
        )
        reap_abandoned_runs(client, experiment_id)
        parent = client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
    except RnnlabError:
        raise
    except Exception as exc:
        raise store_failed(uri, "at sweep start", exc) from None
    sweep.job_env.update(
        {TRACKING_URI_ENV: uri, EXPERIMENT_ID_ENV: experiment_id, PARENT_RUN_ENV: parent}
    )
    return parent


def record_failed_job(config: dict, overrides: str, error: str) -> None:
    """Make sure a job that failed before its run started is a FAILED child of the sweep."""
    client = _client(os.environ[TRACKING_URI_ENV])
    experiment_id, parent = os.environ[EXPERIMENT_ID_ENV], os.environ[PARENT_RUN_ENV]
    for run in client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent}'"):
        if run.data.tags.get(OVERRIDES_TAG) == overrides:
            return
    swept = [k for k in os.environ.get(SWEPT_KEYS_ENV, "").split(",") if k]
    name = f"{run_name(config, overrides.split(), swept)} (failed)"
    tags = {"mlflow.parentRunId": parent, OVERRIDES_TAG: overrides, "error": error[:8000]}
    run_id = client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
    client.set_terminated(run_id, "FAILED")


def job_results(client, experiment_id: str, parent_id: str) -> list[JobResult]:
    """The parent's children, best objective first (failed jobs last)."""
    runs = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")
    results = [
        JobResult(
            r.info.run_id,
            r.info.run_name,
            r.data.tags.get(OVERRIDES_TAG, ""),
            r.info.status,
            r.data.metrics.get(OBJECTIVE, math.nan),
            r.data.tags.get("error", ""),
        )
        for r in runs
    ]
    return sorted(
        results, key=lambda j: (j.status != "FINISHED", math.isnan(j.objective), j.objective)
    )


def summary_table(results: list[JobResult]) -> str:
    """A Markdown table of the jobs: rank, run, overrides, status, objective."""
    lines = [f"| # | run | overrides | status | {OBJECTIVE} |", "| --- | --- | --- | --- | --- |"]
    for i, j in enumerate(results, 1):
        value = "" if math.isnan(j.objective) else f"{j.objective:.4f}"
        status = j.status + (f": {j.error}" if j.error else "")
        lines.append(f"| {i} | {j.name} | {j.overrides} | {status} | {value} |")
    return "\n".join(lines) + "\n"


def end_interrupted_sweep(sweep: Sweep, parent_id: str) -> None:
    """The sweep stopped before its end (Ctrl-C): its parent run ends KILLED."""
    _client(sweep.job_env[TRACKING_URI_ENV]).set_terminated(parent_id, "KILLED")


def finish_sweep(sweep: Sweep, parent_id: str) -> list[JobResult]:
    """Close the sweep: reap dead jobs, write the summary to the parent, set its status."""
    client = _client(sweep.job_env[TRACKING_URI_ENV])
    experiment_id = sweep.job_env[EXPERIMENT_ID_ENV]
    for run in client.search_runs(
        [experiment_id],
        f"tags.mlflow.parentRunId = '{parent_id}' and attributes.status = 'RUNNING'",
    ):
        client.set_terminated(run.info.run_id, "KILLED")
    results = job_results(client, experiment_id, parent_id)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweep_summary.md"
        path.write_text(summary_table(results))
        client.log_artifact(parent_id, str(path))
    finished = [j for j in results if j.status == "FINISHED" and not math.isnan(j.objective)]
    if finished:
        best = finished[0]
        client.set_tag(parent_id, "best_run", best.run_id)
        client.set_tag(parent_id, "best_run_name", best.name)
        client.set_tag(parent_id, "best_overrides", best.overrides)
        client.log_metric(parent_id, OBJECTIVE, best.objective)
    failed = any(j.status != "FINISHED" for j in results)
    client.set_terminated(parent_id, "FAILED" if failed else "FINISHED")
    return results


def sweep_links(sweep: Sweep, parent_id: str) -> str:
    """Where to look at the sweep in the MLflow UI: its jobs' runs table and their charts."""
    uri, experiment_id = sweep.job_env[TRACKING_URI_ENV], sweep.job_env[EXPERIMENT_ID_ENV]
    jobs = children_filter(parent_id)
    return (
        f"the sweep's runs in MLflow, best first: "
        f"{runs_link(uri, experiment_id, jobs, best_first=OBJECTIVE)}\n"
        f"their charts: {runs_link(uri, experiment_id, jobs, 'CHART', OBJECTIVE)}"
        f"{serve_hint(uri)}"
    )
