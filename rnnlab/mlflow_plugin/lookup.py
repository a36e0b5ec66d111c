"""Map an MLflow run id back to the rnnlab run directory it was trained in."""

from __future__ import annotations

import re
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.mlflow_plugin.store import first_line, open_client, resolve_tracking_uri, store_failed
from rnnlab.names import RUN_DIR_TAG

MLFLOW_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
#: what ``find_run_dir`` accepts, for the error about a reference nothing recognises
REFERENCE_HELP = "an MLflow run id (the 32-character id shown in mlflow ui)"


def find_run_dir(reference: str) -> Path | None:
    """The run directory of the MLflow run ``reference``; None if it is not an MLflow run id."""
    return run_dir_of_mlflow_run(reference) if MLFLOW_RUN_ID.match(reference) else None


def run_dir_of_mlflow_run(run_id: str) -> Path:
    """The ``rnnlab.run_dir`` tag of ``run_id`` in the current tracking store."""
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(None)
    client = open_client(uri, create=False)
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise RnnlabError(
            f"MLflow run {run_id} not found in the tracking store {uri}: "
            f"{first_line(str(exc))}; run from the directory that holds mlflow.db or set "
            f"MLFLOW_TRACKING_URI"
        ) from None
    except Exception as exc:
        raise store_failed(uri, "reading the run", exc) from None
    run_dir = run.data.tags.get(RUN_DIR_TAG)
    if not run_dir or not Path(run_dir).is_dir():
        raise RnnlabError(
            f"MLflow run {run_id} has no rnnlab run directory on this machine "
            f"(tag {RUN_DIR_TAG}={run_dir!r}); give the run directory instead"
        )
    return Path(run_dir)
