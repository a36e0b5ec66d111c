"""Environment variables a sweep's parent sets for its jobs (no MLflow import here)."""

#: file runs under this experiment id instead of ``tracking.experiment``
EXPERIMENT_ID_ENV = "MLFLOW_EXPERIMENT_ID"
#: make each run a child of this run
PARENT_RUN_ENV = "MLFLOW_PARENT_RUN_ID"
