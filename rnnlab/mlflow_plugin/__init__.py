"""rnnlab's MLflow plugin: the tracker, sweeps' parent runs, report and upload."""
