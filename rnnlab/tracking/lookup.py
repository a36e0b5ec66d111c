"""Map an MLflow run id back to the rnnlab run directory it was trained in."""

from __future__ import annotations

import os
from pathlib import Path

from rnnlab.errors import RnnlabError

RUN_DIR_TAG = "rnnlab.run_dir"


def run_dir_of_mlflow_run(run_id: str) -> Path:
    """The ``rnnlab.run_dir`` tag of ``run_id`` in the current tracking store."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        run = MlflowClient(tracking_uri=uri).get_run(run_id)
    except MlflowException as exc:
        raise RnnlabError(
            f"MLflow run {run_id} not found in the tracking store "
            f"({uri or 'default sqlite:///mlflow.db'}): {str(exc).splitlines()[0]}; "
            f"run from the directory that holds mlflow.db or set "
            f"MLFLOW_TRACKING_URI"
        ) from None
    run_dir = run.data.tags.get(RUN_DIR_TAG)
    if not run_dir or not Path(run_dir).is_dir():
        raise RnnlabError(
            f"MLflow run {run_id} has no rnnlab run directory on this machine "
            f"(tag {RUN_DIR_TAG}={run_dir!r}); give the run directory instead"
        )
    return Path(run_dir)
