"""``mlflow_backlog.json``: what the MLflow tracker could not send while its store was away.

Kept in the run directory from the first failed call on: the MLflow run id and store,
the artifacts not logged, and the run's final status and error once it ends. Metric
points need no copy here: ``metrics.jsonl`` holds them all. ``rnnlab upload`` (and a
resume) send what MLflow lacks and then delete the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.files import write_text_atomically

BACKLOG_FILE = "mlflow_backlog.json"


@dataclass
class Backlog:
    run_id: str
    tracking_uri: str
    #: ``[path, artifact_path]`` pairs not logged
    artifacts: list[list[str]] = field(default_factory=list)
    #: FINISHED, FAILED or KILLED once the run has ended; None while it runs (or was killed hard)
    status: str | None = None
    error: str | None = None

    @staticmethod
    def path(run_dir: str | os.PathLike) -> Path:
        return Path(run_dir) / BACKLOG_FILE

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> Backlog | None:
        """The backlog of ``run_dir``, or None when MLflow missed nothing."""
        path = cls.path(run_dir)
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError):
            raise RnnlabError(
                f"{path} is not an rnnlab MLflow backlog; if you edited it, restore "
                f"it, or delete it to give up sending what MLflow missed"
            ) from None

    def save(self, run_dir: str | os.PathLike) -> None:
        """Replace the backlog file atomically."""
        write_text_atomically(self.path(run_dir), json.dumps(asdict(self)), durable=True)

    @classmethod
    def remove(cls, run_dir: str | os.PathLike) -> None:
        cls.path(run_dir).unlink(missing_ok=True)
