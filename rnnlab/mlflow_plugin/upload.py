"""``rnnlab upload RUN_DIR``: send MLflow what it missed while the tracking store was away.

Metric points come from the run's ``metrics.jsonl`` and are compared per metric and
step with what the MLflow run has, so none is sent twice and running the command
again sends nothing. Artifacts and the final status come from ``mlflow_backlog.json``.
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.mlflow_plugin.backlog import BACKLOG_FILE, Backlog
from rnnlab.mlflow_plugin.store import first_line, open_client
from rnnlab.mlflow_plugin.tracker import (
    MAX_METRICS_PER_BATCH,
    chunks,
    metric_steps,
    missing_metrics,
)
from rnnlab.names import METRICS_FILE
from rnnlab.tracking.metrics_file import read_metrics


def upload(run_dir: Path, tracking_uri: str | None = None) -> str:
    """Send the backlog of ``run_dir`` to ``tracking_uri`` (default: the store the run
    logged to); returns a one-line summary."""
    backlog = Backlog.load(run_dir)
    if backlog is None:
        return f"nothing to upload: {run_dir} has no {BACKLOG_FILE}, MLflow missed nothing"
    uri = tracking_uri or backlog.tracking_uri
    from mlflow.exceptions import MlflowException

    client = open_client(uri, create=False)
    try:
        client.get_run(backlog.run_id)
    except MlflowException:
        raise RnnlabError(
            f"MLflow run {backlog.run_id} is not in the tracking store {uri}; "
            f"name the store the run logged to: rnnlab upload {run_dir} "
            f"--tracking-uri URI"
        ) from None
    metrics_path = Path(run_dir) / METRICS_FILE
    records = read_metrics(metrics_path) if metrics_path.is_file() else []
    try:
        have = metric_steps(client, backlog.run_id, {k for _, m in records for k in m})
        missing = missing_metrics(records, have)
        for chunk in chunks(missing, MAX_METRICS_PER_BATCH):
            client.log_batch(backlog.run_id, metrics=chunk)
        artifacts = [(path, dest) for path, dest in backlog.artifacts if Path(path).is_file()]
        for path, dest in artifacts:
            client.log_artifact(backlog.run_id, path, dest)
        if backlog.status is not None:
            if backlog.error:
                client.set_tag(backlog.run_id, "error", backlog.error)
            client.set_terminated(backlog.run_id, backlog.status)
    except Exception as exc:
        raise RnnlabError(
            f"upload to {uri} failed ({first_line(str(exc)) or type(exc).__name__}); "
            f"run it again once the store works: nothing is sent twice"
        ) from None
    summary = (
        f"uploaded {len(missing)} metric points and {len(artifacts)} artifacts to MLflow "
        f"run {backlog.run_id} at {uri}"
    )
    if backlog.status is None:
        return (
            f"{summary}; the run has not ended (still training, or killed: resume it), "
            f"upload again after it ends"
        )
    Backlog.remove(run_dir)
    return f"{summary}; status {backlog.status}"
