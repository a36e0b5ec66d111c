"""Find the run directory that ``resume=`` or ``rnnlab sample`` refers to."""

from __future__ import annotations

import re
from pathlib import Path

from rnnlab.errors import RnnlabError

MLFLOW_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def find_run_dir(reference: str) -> Path:
    """``reference`` is a run directory, or an MLflow run id whose run was made by rnnlab."""
    path = Path(reference).expanduser()
    if path.is_dir():
        if not (path / "config.yaml").is_file():
            raise RnnlabError(
                f"{path} is not an rnnlab run directory (no config.yaml); give "
                f"the directory of a run, e.g. outputs/<date>/<time>-<cell>-<data>"
            )
        return path
    if MLFLOW_RUN_ID.match(reference):
        from rnnlab.tracking.lookup import run_dir_of_mlflow_run

        return run_dir_of_mlflow_run(reference)
    raise RnnlabError(
        f"'{reference}' is neither a run directory nor an MLflow run id; give "
        f"a path under outputs/ or the 32-character id shown in mlflow ui"
    )
