"""The MLflow tracker's options, ``tracking.experiment`` and ``tracking.tracking_uri``."""

from __future__ import annotations

from dataclasses import dataclass

from rnnlab.config.checks import checked, no_password


@dataclass
class MlflowConfig:
    #: the MLflow experiment runs are filed under (a sweep's jobs too)
    experiment: str = "rnnlab"
    #: None: MLFLOW_TRACKING_URI if set, else MLflow's default (sqlite:///mlflow.db in the cwd)
    tracking_uri: str | None = checked(None, no_password(), optional=True)
