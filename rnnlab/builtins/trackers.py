"""The built-in tracker ``metrics_file`` (a local JSON-lines file); ``mlflow`` is registered by
rnnlab's MLflow plugin (``rnnlab.mlflow_plugin``)."""

from rnnlab.plugins.hookspecs import Register, hookimpl
from rnnlab.tracking.metrics_file import MetricsFileTracker


@hookimpl
def register_trackers(register: Register) -> None:
    register("metrics_file", MetricsFileTracker)
