"""The ``mlflow`` tracker: one MLflow run per job, params once, metrics in batches.

It talks to the store through ``MlflowClient`` with explicit run ids (never
MLflow's global active run), so several runs in one process stay apart.
``mlflow`` is imported when a run starts, not when this module is imported.

Environment (set by a sweep's parent process):
- ``MLFLOW_EXPERIMENT_ID``: file the run under this experiment instead of
  ``tracking.experiment``;
- ``MLFLOW_PARENT_RUN_ID``: make the run a child of this run.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from rnnlab.errors import RnnlabError
from rnnlab.plugins.hookspecs import hookimpl
from rnnlab.tracking.metrics_file import METRICS_FILE

from rnnlab.tracking.env import EXPERIMENT_ID_ENV, PARENT_RUN_ENV  # noqa: E402
RUN_ID_META = "mlflow_run_id"
CHECKPOINTS_ARTIFACT_PATH = "checkpoints"
#: metrics held back before a flush: one ``log_batch`` call's worth
FLUSH_AT = 1000
#: seconds to wait for an HTTP tracking server to answer at run start
PROBE_TIMEOUT_S = 10

# MLflow's limits (mlflow.utils.validation)
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000

_WITHOUT_MLFLOW = "or train without MLflow: tracking.trackers=[metrics_file]"


def quiet_store_logs() -> None:
    """Silence the INFO lines MLflow's sqlite store prints when it creates its tables."""
    for name in ("mlflow.store.db.utils", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def resolve_tracking_uri(configured: str | None) -> str:
    """``tracking.tracking_uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's default.

    MLflow 3's default is ``sqlite:///mlflow.db`` in the working directory (returned
    with an absolute path), unless ``./mlruns`` holds data of the old file store.
    """
    if configured:
        return configured
    import mlflow

    return mlflow.get_tracking_uri()


def artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: ``mlruns/<experiment>`` next to a
    local sqlite database; ``None`` (the store decides) for any other store.

    Left to itself, a sqlite store puts artifacts under ``./mlruns`` of whatever the
    working directory is, not next to the database.
    """
    parsed = urlparse(tracking_uri)
    if parsed.scheme != "sqlite" or not parsed.path.startswith("/"):
        return None
    database = Path(unquote(parsed.path[1:])).resolve()
    folder = re.sub(r"[^\w.-]+", "_", experiment).strip("._") or "experiment"
    return str(database.parent / "mlruns" / folder)


def ensure_experiment(client, name: str, tracking_uri: str) -> str:
    """The id of the experiment ``name``, created if missing."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, artifact_location(tracking_uri, name))
        except MlflowException:  # created meanwhile by another process
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        raise RnnlabError(
            f"MLflow experiment '{name}' is deleted in {tracking_uri}; restore it with "
            f"'mlflow experiments restore --experiment-id {experiment.experiment_id}' or "
            f"choose another name: tracking.experiment=...")
    return experiment.experiment_id


def check_reachable(tracking_uri: str) -> None:
    """Fail fast when an HTTP tracking server does not answer.

    The MLflow client would retry a refused connection for minutes before failing;
    any HTTP answer (even an error status) means the server is there.
    """
    import urllib.error
    import urllib.request

    if urlparse(tracking_uri).scheme not in ("http", "https"):
        return
    try:
        urllib.request.urlopen(tracking_uri, timeout=PROBE_TIMEOUT_S).close()
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RnnlabError(f"cannot reach the MLflow tracking server at {tracking_uri} ({reason}); "
                          f"start it (mlflow server --port ...), fix tracking.tracking_uri or "
                          f"MLFLOW_TRACKING_URI, {_WITHOUT_MLFLOW}") from None


def check_artifact(run_dir, path, artifact_path: str | None) -> None:
    """Raise RnnlabError unless ``path`` is a file inside ``run_dir`` and ``artifact_path`` a
    relative folder name that stays inside the MLflow run's artifacts (no ``..``, not absolute)."""
    folder = PurePosixPath(artifact_path or ".")
    if (not Path(path).resolve().is_relative_to(Path(run_dir).resolve()) or folder.is_absolute()
            or ".." in folder.parts or "\\" in str(folder)):
        raise RnnlabError(f"artifact {path} -> '{artifact_path}' is refused: artifacts must be "
                          f"files in the run directory {run_dir}, kept under a relative folder "
                          f"without '..'; fix the plugin that logs it")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class MlflowTracker:
    """Logs a run to MLflow: params at start, metrics in batches, artifacts, final status.

    On resume it reopens ``run.meta["mlflow_run_id"]``, logs no params again, and
    skips metric values at steps the MLflow run already has (logged after the
    checkpoint the run resumes from). If the store fails mid-run, it warns once
    on stderr and stops logging; training goes on and ``metrics.jsonl`` keeps
    every value.
    """

    def __init__(self, run):
        tracking = run.config["tracking"]
        self.uri = resolve_tracking_uri(tracking.get("tracking_uri"))
        self.experiment = tracking["experiment"]
        self.client = None
        self.run_id: str | None = None
        self.pending: list = []
        self.last_logged_step: dict[str, int] = {}
        self.best_checkpoint: Path | None = None
        self.offline = False
        self.fallback = (f"every metric is in {Path(run.run_dir) / METRICS_FILE}"
                         if "metrics_file" in tracking["trackers"] else "metrics are not kept")

    # -- hooks --------------------------------------------------------------------------------

    @hookimpl
    def on_run_start(self, run):
        from mlflow.tracking import MlflowClient

        check_reachable(self.uri)
        quiet_store_logs()
        try:
            self.client = MlflowClient(tracking_uri=self.uri)
            if run.meta.get(RUN_ID_META):
                self._reopen(run)
            else:
                self._create(run)
        except RnnlabError:
            raise
        except Exception as exc:
            raise RnnlabError(f"MLflow tracking store {self.uri} failed at run start "
                              f"({_first_line(str(exc)) or type(exc).__name__}); start the "
                              f"tracking server, fix tracking.tracking_uri or MLFLOW_TRACKING_URI, "
                              f"{_WITHOUT_MLFLOW}") from None

    @hookimpl
    def on_metrics(self, run, step, metrics):
        self._hold(step, metrics)
        if len(self.pending) >= FLUSH_AT:
            self._flush()

    @hookimpl
    def on_evaluation(self, run, step, split, metrics):
        self._hold(step, metrics)
        self._flush()

    @hookimpl
    def on_artifact(self, run, path, artifact_path):
        check_artifact(run.run_dir, path, artifact_path)
        self._send("log_artifact", str(path), artifact_path)

    @hookimpl
    def on_checkpoint(self, run, step, path, best):
        if best:
            self.best_checkpoint = Path(path)
        self._flush()

    @hookimpl
    def on_run_end(self, run, status, error):
        if self.run_id is None:
            return
        self._flush()
        if self.best_checkpoint is not None:
            self._send("log_artifact", str(self.best_checkpoint), CHECKPOINTS_ARTIFACT_PATH)
        if error:
            self._send("set_tag", "error", _first_line(error)[:MAX_TAG_VAL_LENGTH])
        self._send("set_terminated", status)

    # -- the MLflow run -----------------------------------------------------------------------

    def _create(self, run) -> None:
        from mlflow.entities import Param

        experiment_id = os.environ.get(EXPERIMENT_ID_ENV) or ensure_experiment(
            self.client, self.experiment, self.uri)
        tags = self._tags(run)
        if os.environ.get(PARENT_RUN_ENV):
            tags["mlflow.parentRunId"] = os.environ[PARENT_RUN_ENV]
        self.run_id = self.client.create_run(experiment_id, run_name=run.name, tags=tags).info.run_id
        run.meta[RUN_ID_META] = self.run_id
        params = [Param(k, str(v)[:MAX_PARAM_VAL_LENGTH]) for k, v in run.params.items()]
        for chunk in _chunks(params, MAX_PARAMS_TAGS_PER_BATCH):
            self.client.log_batch(self.run_id, params=chunk)

    def _reopen(self, run) -> None:
        from mlflow.entities import RunTag
        from mlflow.exceptions import MlflowException

        self.run_id = run.meta[RUN_ID_META]
        try:
            previous = self.client.get_run(self.run_id)
        except MlflowException:
            raise RnnlabError(
                f"MLflow run {self.run_id} of this checkpoint is not in the tracking store "
                f"{self.uri}; resume with the store the run started in (set "
                f"MLFLOW_TRACKING_URI, or run from the directory holding its mlflow.db)") from None
        self.client.update_run(self.run_id, status="RUNNING")
        tags = [RunTag(k, v) for k, v in self._tags(run).items()]
        for chunk in _chunks(tags, MAX_PARAMS_TAGS_PER_BATCH):
            self.client.log_batch(self.run_id, tags=chunk)
        for key in previous.data.metrics:
            history = self.client.get_metric_history(self.run_id, key)
            self.last_logged_step[key] = max(m.step for m in history)

    @staticmethod
    def _tags(run) -> dict[str, str]:
        tags = {**run.tags, "mlflow.runName": run.name}
        return {k: str(v)[:MAX_TAG_VAL_LENGTH] for k, v in tags.items()}

    # -- sending ------------------------------------------------------------------------------

    def _hold(self, step: int, metrics: dict) -> None:
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        self.pending.extend(
            Metric(key, float(value), timestamp, int(step)) for key, value in metrics.items()
            if step > self.last_logged_step.get(key, -1))

    def _flush(self) -> None:
        pending, self.pending = self.pending, []
        for chunk in _chunks(pending, MAX_METRICS_PER_BATCH):
            self._send("log_batch", metrics=chunk)

    def _send(self, method: str, *args, **kwargs) -> None:
        """Call ``MlflowClient.<method>(run_id, *args, **kwargs)``; after a failure, nothing.

        Once the store has failed, each further call could block for minutes of
        MLflow's HTTP retries, and training matters more than the copy in MLflow.
        """
        if self.offline or self.run_id is None:
            return
        try:
            getattr(self.client, method)(self.run_id, *args, **kwargs)
        except Exception as exc:
            self.offline = True
            print(f"rnnlab: warning: MLflow logging to {self.uri} failed "
                  f"({_first_line(str(exc)) or type(exc).__name__}); training goes on without "
                  f"MLflow, {self.fallback}", file=sys.stderr)
