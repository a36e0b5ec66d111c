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

import contextlib
import getpass
import os
import re
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Any

from rnnlab.errors import RnnlabError
from rnnlab.mlflow_plugin.abandoned_runs import reap_abandoned_runs
from rnnlab.mlflow_plugin.backlog import Backlog
from rnnlab.mlflow_plugin.dataset_input import dataset_input, split_facts
from rnnlab.mlflow_plugin.env import EXPERIMENT_ID_ENV, PARENT_RUN_ENV
from rnnlab.mlflow_plugin.links import run_link, serve_hint
from rnnlab.mlflow_plugin.store import (
    check_reachable,
    first_line,
    open_client,
    resolve_tracking_uri,
    sqlite_database,
    store_failed,
)
from rnnlab.names import GIT_COMMIT_TAG, METRICS_FILE, OVERRIDES_TAG
from rnnlab.plugins.hookspecs import hookimpl
from rnnlab.tracking.metrics_file import Record, read_metrics

RUN_ID_META = "mlflow_run_id"
#: tag of an MLflow run resumed in a copy of another run's directory: that run's id
COPIED_FROM_RUN_TAG = "rnnlab.copied_from_run_id"
CHECKPOINTS_ARTIFACT_PATH = "checkpoints"
#: metrics held back before a flush: one ``log_batch`` call's worth
FLUSH_AT = 1000
#: the same at a checkpoint, to see whether a server that failed is back
RECONNECT_PROBE_S = 2

# MLflow's limits (mlflow.utils.validation)
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000


def artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: ``mlruns/<experiment>`` next to a
    local sqlite database; ``None`` (the store decides) for any other store.

    Left to itself, a sqlite store puts artifacts under ``./mlruns`` of whatever the
    working directory is, not next to the database.
    """
    database = sqlite_database(tracking_uri)
    if database is None:
        return None
    database = database.resolve()
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
            f"choose another name: tracking.experiment=..."
        )
    return experiment.experiment_id


def experiment_name(tracking: dict, data_name: str | None) -> str:
    """``tracking.experiment``, else one experiment per dataset: ``rnnlab-<data>`` (runs on
    different data do not share charts), or ``rnnlab`` for a sweep across datasets (None)."""
    if tracking.get("experiment"):
        return str(tracking["experiment"])
    return f"rnnlab-{data_name}" if data_name else "rnnlab"


def unique_name(client, experiment_id: str, name: str) -> str:
    """``name``, or ``name (2)``, ``(3)``, ... if runs of the experiment already bear it."""
    quote = '"' if "'" in name else "'"  # MLflow's filter strings escape neither quote
    taken = {
        r.info.run_name
        for r in client.search_runs(
            [experiment_id], f"attributes.run_name LIKE {quote}{name.replace(quote, '_')}%{quote}"
        )
    }
    return next(
        candidate
        for candidate in (name if i == 1 else f"{name} ({i})" for i in range(1, len(taken) + 2))
        if candidate not in taken
    )


def system_tags(run) -> dict[str, str]:
    """MLflow's own tags, which fill the UI's columns: the source, its commit, the user, and
    the command as the run's description."""
    command = "rnnlab " + run.tags.get(OVERRIDES_TAG, "")
    tags = {
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": "rnnlab",
        "mlflow.user": getpass.getuser(),
        "mlflow.note.content": f"`{command.strip()}`\n\nrun directory: `{run.run_dir}`",
    }
    if run.tags.get(GIT_COMMIT_TAG):
        tags["mlflow.source.git.commit"] = run.tags[GIT_COMMIT_TAG]
    return tags


def metric_steps(client, run_id: str, keys) -> dict[str, set[int]]:
    """The steps at which the MLflow run ``run_id`` has a value of each metric in ``keys``."""
    return {key: {m.step for m in client.get_metric_history(run_id, key)} for key in keys}


def missing_metrics(records: list[Record], have: dict[str, set[int]]) -> list:
    """MLflow ``Metric``s for the points of ``records`` that are not in ``have``
    (``metric_steps``), time-stamped now."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [
        Metric(key, float(value), now, step)
        for step, metrics in records
        for key, value in split_facts(metrics)[0].items()
        if step not in have.get(key, ())
    ]


def check_artifact(run_dir, path, artifact_path: str | None) -> None:
    """Raise RnnlabError unless ``path`` is a file inside ``run_dir`` and ``artifact_path`` a
    relative folder name that stays inside the MLflow run's artifacts (no ``..``, not absolute)."""
    folder = PurePosixPath(artifact_path or ".")
    if (
        not Path(path).resolve().is_relative_to(Path(run_dir).resolve())
        or folder.is_absolute()
        or ".." in folder.parts
        or "\\" in str(folder)
    ):
        raise RnnlabError(
            f"artifact {path} -> '{artifact_path}' is refused: artifacts must be "
            f"files in the run directory {run_dir}, kept under a relative folder "
            f"without '..'; fix the plugin that logs it"
        )


def chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


class MlflowTracker:
    """Logs a run to MLflow: params at start, metrics in batches, artifacts, final status.

    On resume it reopens ``run.meta["mlflow_run_id"]``, logs no params again, sends
    the points of ``metrics.jsonl`` up to the checkpoint that the MLflow run lacks
    (missed during a store outage), and skips values at steps the MLflow run already
    has (logged after the checkpoint).

    If the store fails mid-run, it warns on stderr and sends nothing more until the
    store answers again, which it checks at each checkpoint and at the end: training
    goes on, ``metrics.jsonl`` keeps every value and ``mlflow_backlog.json`` the rest.
    When the store is back it sends what it missed and logs on; if it is still away
    at the end, ``rnnlab upload`` sends it later.

    A new run first marks KILLED the runs of its experiment left RUNNING by a process of
    this host that is gone (killed hard).
    """

    def __init__(self, run):
        tracking = run.config["tracking"]
        self.uri = resolve_tracking_uri(tracking.get("tracking_uri"))
        self.experiment = experiment_name(tracking, run.config.get("data", {}).get("name"))
        #: the run's name in MLflow: ``run.name``, made unique in its experiment
        self.name = run.name
        self.client: Any = None  # an MlflowClient from on_run_start on (imported lazily)
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.pending: list = []
        self.last_logged_step: dict[str, int] = {}
        self.best_checkpoint: Path | None = None
        self.run_dir = Path(run.run_dir)
        #: what MLflow missed, from the first failed call on
        self.backlog: Backlog | None = None
        self.fallback = (
            f"every metric is in {self.run_dir / METRICS_FILE}"
            if "metrics_file" in tracking["trackers"]
            else "metrics are not kept"
        )

    # -- hooks --------------------------------------------------------------------------------

    @hookimpl
    def on_run_start(self, run):
        try:
            self.client = open_client(self.uri, create=True)
            if run.meta.get(RUN_ID_META):
                self._reopen(run)
            else:
                self._create(run)
                if run.resumed_from_step:  # a copied run directory: its history up to here
                    self._send_missed(self._local_records(run.resumed_from_step), {}, [])
        except RnnlabError:
            raise
        except Exception as exc:
            raise store_failed(self.uri, "at run start", exc) from None

    @hookimpl
    def on_metrics(self, run, step, metrics):
        metrics, facts = split_facts(metrics)
        if facts:
            from mlflow.entities import Param

            self._send("log_batch", params=[Param(k, v) for k, v in facts.items()])
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
        self._log_artifact(Path(path), artifact_path)

    @hookimpl
    def on_checkpoint(self, run, step, path, best):
        if best:
            self.best_checkpoint = Path(path)
        if self.backlog is not None:
            self._reconnect()
        self._flush()

    @hookimpl
    def on_run_end(self, run, status, error):
        if self.run_id is None:
            return
        if self.backlog is not None:
            self._reconnect()
        self._flush()
        if self.best_checkpoint is not None:
            self._log_artifact(self.best_checkpoint, CHECKPOINTS_ARTIFACT_PATH)
        if (
            status == "FINISHED"
            and self.backlog is None
            and run.config["tracking"].get("log_model")
        ):
            from rnnlab.mlflow_plugin.model import log_run_model

            log_run_model(self.uri, self.run_id, run)
        error = first_line(error or "")[:MAX_TAG_VAL_LENGTH] or None
        if error:
            self._send("set_tag", "error", error)
        self._send_tags(run)  # those added while training (e.g. an early stop)
        self._send("set_terminated", status)
        if self.backlog is not None:
            self.backlog.status, self.backlog.error = status, error
            self.backlog.save(self.run_dir)
            print(
                f"rnnlab: MLflow run {self.run_id} misses what was logged after {self.uri} "
                f"failed; once it is back: rnnlab upload {self.run_dir}",
                file=sys.stderr,
            )
        elif status == "FINISHED" and not os.environ.get(PARENT_RUN_ENV):  # a sweep links all
            link = run_link(self.uri, str(self.experiment_id), self.run_id)
            print(f"MLflow run '{self.name}': {link}{serve_hint(self.uri)}", file=sys.stderr)

    @hookimpl
    def on_offline_evaluation(self, run, step, metrics):
        """Log ``rnnlab evaluate``'s metrics to the run's MLflow run, if it has one."""
        from mlflow.entities import Metric

        run_id = run.meta.get(RUN_ID_META)
        if run_id is None:
            return
        timestamp = int(time.time() * 1000)
        batch = [Metric(k, float(v), timestamp, int(step)) for k, v in metrics.items()]
        try:
            open_client(self.uri, create=False).log_batch(run_id, metrics=batch)
        except Exception as exc:
            print(
                f"rnnlab: warning: the metrics were not logged to MLflow run {run_id} at "
                f"{self.uri} ({first_line(str(exc)) or type(exc).__name__}); run from the "
                f"directory holding its mlflow.db, or set MLFLOW_TRACKING_URI",
                file=sys.stderr,
            )
            return
        print(f"logged to MLflow run {run.name} ({run_id}) at {self.uri}", file=sys.stderr)

    # -- the MLflow run -----------------------------------------------------------------------

    def _create(self, run) -> None:
        from mlflow.entities import Param

        assert self.client is not None
        experiment_id = os.environ.get(EXPERIMENT_ID_ENV) or ensure_experiment(
            self.client, self.experiment, self.uri
        )
        reap_abandoned_runs(self.client, experiment_id)
        if os.environ.get(PARENT_RUN_ENV):  # a sweep's jobs are named apart by what it varies
            tags = {**self._tags(run), "mlflow.parentRunId": os.environ[PARENT_RUN_ENV]}
        else:
            self.name = unique_name(self.client, experiment_id, run.name)
            tags = self._tags(run)
        tags.update(system_tags(run))
        if run.copied_from.get(RUN_ID_META):  # the MLflow run of the copied directory
            tags[COPIED_FROM_RUN_TAG] = run.copied_from[RUN_ID_META]
        run_id = self.client.create_run(experiment_id, run_name=self.name, tags=tags).info.run_id
        params = [Param(k, str(v)[:MAX_PARAM_VAL_LENGTH]) for k, v in run.params.items()]
        try:
            for chunk in chunks(params, MAX_PARAMS_TAGS_PER_BATCH):
                self.client.log_batch(run_id, params=chunk)
            if "data" in run.config:  # a run's; a hand-made Run may have none
                self.client.log_inputs(run_id, datasets=[dataset_input(run.config)])
        except Exception:  # the run does not start: it leaves no half-made MLflow run
            with contextlib.suppress(Exception):
                self.client.delete_run(run_id)
            raise
        self.run_id = run.meta[RUN_ID_META] = run_id
        self.experiment_id = experiment_id

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
                f"MLFLOW_TRACKING_URI, or run from the directory holding its mlflow.db)"
            ) from None
        self.name, self.experiment_id = previous.info.run_name, previous.info.experiment_id
        self.client.update_run(self.run_id, status="RUNNING")
        if "error" in previous.data.tags:  # why it stopped before: no longer true
            self.client.delete_tag(self.run_id, "error")
        tags = [RunTag(k, v) for k, v in self._tags(run).items()]
        for chunk in chunks(tags, MAX_PARAMS_TAGS_PER_BATCH):
            self.client.log_batch(self.run_id, tags=chunk)
        have = metric_steps(self.client, self.run_id, previous.data.metrics)
        self.last_logged_step = {key: max(steps) for key, steps in have.items()}
        backlog = Backlog.load(self.run_dir)
        self._send_missed(
            self._local_records(run.resumed_from_step), have, backlog.artifacts if backlog else []
        )
        if backlog is not None and self.backlog is None:  # else it failed again: a new one
            Backlog.remove(self.run_dir)

    def _reconnect(self) -> None:
        """After a failure: if the store answers again, send what it missed and log on."""
        if self.run_id is None or self.backlog is None:
            return
        try:
            check_reachable(self.uri, RECONNECT_PROBE_S)
            self.client.get_run(self.run_id)
            records = self._local_records()
            have = metric_steps(self.client, self.run_id, {k for _, m in records for k in m})
        except Exception:  # still away
            return
        backlog, self.backlog = self.backlog, None
        self._send_missed(records, have, backlog.artifacts)
        if self.backlog is None:
            Backlog.remove(self.run_dir)
            print(
                f"rnnlab: MLflow logging to {self.uri} works again; sent what it missed",
                file=sys.stderr,
            )

    def _local_records(self, upto_step: int | None = None) -> list[Record]:
        """The records of ``metrics.jsonl`` (up to ``upto_step``); none without the file."""
        path = self.run_dir / METRICS_FILE
        if not path.is_file():
            return []
        return [r for r in read_metrics(path) if upto_step is None or r[0] <= upto_step]

    def _send_missed(
        self, records: list[Record], have: dict[str, set[int]], artifacts: list[list[str]]
    ) -> None:
        """Send the points of ``records`` not in ``have`` (``metric_steps``), and ``artifacts``.

        Replaces the held metrics: while the store was away they went to ``metrics.jsonl``.
        """
        self.pending = missing_metrics(records, have)
        self._flush()
        for path, artifact_path in artifacts:
            self._log_artifact(Path(path), artifact_path)

    def _send_tags(self, run) -> None:
        from mlflow.entities import RunTag

        tags = [RunTag(k, v) for k, v in self._tags(run).items()]
        for chunk in chunks(tags, MAX_PARAMS_TAGS_PER_BATCH):
            self._send("log_batch", tags=chunk)

    def _tags(self, run) -> dict[str, str]:
        tags = {**run.tags, "mlflow.runName": self.name}
        return {k: str(v)[:MAX_TAG_VAL_LENGTH] for k, v in tags.items()}

    # -- sending ------------------------------------------------------------------------------

    def _hold(self, step: int, metrics: dict) -> None:
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        self.pending.extend(
            Metric(key, float(value), timestamp, int(step))
            for key, value in metrics.items()
            if step > self.last_logged_step.get(key, -1)
        )

    def _flush(self) -> None:
        pending, self.pending = self.pending, []
        for chunk in chunks(pending, MAX_METRICS_PER_BATCH):
            self._send("log_batch", metrics=chunk)

    def _log_artifact(self, path: Path, artifact_path: str) -> None:
        if self._send("log_artifact", str(path), artifact_path) or self.backlog is None:
            return
        entry = [str(path.resolve()), artifact_path]
        if entry not in self.backlog.artifacts:
            self.backlog.artifacts.append(entry)
            self.backlog.save(self.run_dir)

    def _send(self, method: str, *args, **kwargs) -> bool:
        """Call ``MlflowClient.<method>(run_id, *args, **kwargs)``; False if not sent.

        After a failure nothing is sent until ``_reconnect`` finds the store back: each
        call could block for minutes of MLflow's HTTP retries, and training matters more
        than the copy in MLflow. Held metrics are dropped then (``metrics.jsonl`` has
        them); the backlog starts.
        """
        if self.run_id is None or self.backlog is not None:
            return False
        try:
            getattr(self.client, method)(self.run_id, *args, **kwargs)
            return True
        except Exception as exc:
            self.pending = []
            self.backlog = Backlog(self.run_id, self.uri)
            self.backlog.save(self.run_dir)
            print(
                f"rnnlab: warning: MLflow logging to {self.uri} failed "
                f"({first_line(str(exc)) or type(exc).__name__}); training goes on, "
                f"{self.fallback}; MLflow is tried again at each checkpoint",
                file=sys.stderr,
            )
            return False
