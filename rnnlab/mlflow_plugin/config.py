"""The MLflow tracker's options: ``tracking.experiment``, ``tracking.tracking_uri``,
``tracking.log_model`` and ``tracking.register_model``."""

from __future__ import annotations

from dataclasses import dataclass

from rnnlab.config.checks import checked, no_password
from rnnlab.errors import ConfigError


@dataclass
class MlflowConfig:
    #: the MLflow experiment runs are filed under (a sweep's jobs too)
    experiment: str = "rnnlab"
    #: None: MLFLOW_TRACKING_URI if set, else MLflow's default (sqlite:///mlflow.db in the cwd)
    tracking_uri: str | None = checked(None, no_password(), optional=True)
    #: log the best checkpoint of a finished run as the MLflow model ``model`` (about 1.5 s)
    log_model: bool = True
    #: register that model in the MLflow Model Registry under this name
    register_model: str | None = None

    def check(self, prefix: str) -> None:
        if self.register_model and not self.log_model:
            raise ConfigError(
                f"{prefix}register_model={self.register_model} needs the model logged: "
                f"drop {prefix}log_model=false"
            )
