"""The built-in trackers: ``metrics_file`` (a local JSON-lines file) and ``mlflow``."""

from rnnlab.plugins.hookspecs import hookimpl
from rnnlab.tracking.metrics_file import MetricsFileTracker
from rnnlab.tracking.mlflow_tracker import MlflowTracker


@hookimpl
def register_trackers(register):
    register("metrics_file", MetricsFileTracker)
    register("mlflow", MlflowTracker)
