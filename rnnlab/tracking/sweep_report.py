"""``rnnlab report``: a sweep read back from MLflow, as a Markdown table and PNG plots.

Rows are cells; columns are the other overrides that vary between the sweep's
jobs (a sequence length, a BPTT length, ...); each entry is the job's final
validation metric beside the best of its dataset's baselines. Every number
comes from the tracking store, none from the run directories.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlparse

from rnnlab.errors import RnnlabError
from rnnlab.runner.run_context import OVERRIDES_TAG
from rnnlab.runner.trainer import PROFILES_FILE
from rnnlab.tracking.mlflow_tracker import check_reachable, quiet_store_logs, resolve_tracking_uri
from rnnlab.tracking.plots import plot_sweep_curves, plot_sweep_profiles

#: the validation metric reported: the first of these the jobs logged
METRICS = ("val/mse", "val/bpc", "val/acc")
HIGHER_IS_BETTER = ("val/acc",)
SWEEP_TAG = "rnnlab.sweep_dir"
PROFILE_ARTIFACT = f"plots/{PROFILES_FILE}"
REPORT_FILE = "report.md"
CURVES_PNG = "val_curves.png"
PROFILES_PNG = "grad_profiles.png"

T = TypeVar("T")


@dataclass
class Job:
    """One child run of a sweep, as the report needs it."""

    name: str
    cell: str
    overrides: dict[str, str]
    status: str
    #: (step, value) of the reported metric, by step
    history: list[tuple[int, float]]
    #: the best of the dataset's baselines in the metric's unit (None if it logged none)
    baseline: float | None
    #: dL/dh_t norms for t = 0..T-1 at the last evaluation (None if not recorded)
    profile: list[float] | None
    seconds: float

    @property
    def final(self) -> float:
        return self.history[-1][1] if self.history else math.nan


@dataclass
class Sweep:
    parent_id: str
    name: str
    experiment: str
    #: the command-line overrides of ``rnnlab -m``
    command: str
    metric: str
    jobs: list[Job]
    seconds: float

    @property
    def swept(self) -> list[str]:
        """The override keys besides ``cell`` whose value differs between jobs, in order."""
        keys = dict.fromkeys(k for job in self.jobs for k in job.overrides if k != "cell")
        return [k for k in keys if len({job.overrides.get(k) for job in self.jobs}) > 1]

    def column(self, job: Job) -> str:
        """``"data.length=100"``, say; ``""`` when nothing but the cell is swept."""
        return ", ".join(f"{k}={job.overrides.get(k, '')}" for k in self.swept)

    def label(self, job: Job) -> str:
        """The job's line label in the plots: its column, else its run name."""
        return self.column(job) or job.name

    def columns(self) -> list[str]:
        """Column labels, ordered by their values (numerically where they are numbers)."""

        def key(job):
            return tuple(_sort_key(job.overrides.get(k, "")) for k in self.swept)

        return list(dict.fromkeys(self.column(j) for j in sorted(self.jobs, key=key)))

    def cells(self) -> list[str]:
        return list(dict.fromkeys(job.cell for job in self.jobs))


def _sort_key(value: str):
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def parse_overrides(text: str) -> dict[str, str]:
    """``"cell=gru bptt=2"`` -> ``{"cell": "gru", "bptt": "2"}``."""
    return dict(item.split("=", 1) for item in text.split() if "=" in item)


def open_store(tracking_uri: str | None):
    """An ``MlflowClient`` on an existing store: ``tracking_uri``, else MLFLOW_TRACKING_URI,
    else MLflow's default. A missing sqlite file is an error, not a new empty store."""
    from mlflow.tracking import MlflowClient

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = resolve_tracking_uri(tracking_uri)
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite" and not Path(unquote(parsed.path[1:])).is_file():
        raise RnnlabError(
            f"no MLflow store at {uri}; run a sweep first (rnnlab -m ...), run from "
            f"the directory that holds its mlflow.db, or give --tracking-uri"
        )
    check_reachable(uri)
    quiet_store_logs()
    return MlflowClient(tracking_uri=uri), uri


def find_parent(client, uri: str, parent_id: str | None = None, experiment: str | None = None):
    """The sweep's parent run: ``parent_id``, else the latest sweep of ``experiment``, else
    the latest sweep in the store."""
    from mlflow.exceptions import MlflowException

    if parent_id:
        try:
            run = client.get_run(parent_id)
        except MlflowException:
            raise RnnlabError(
                f"no MLflow run {parent_id} in {uri}; give the parent run id "
                f"that `rnnlab -m` printed, or --experiment NAME"
            ) from None
        if SWEEP_TAG not in run.data.tags:
            raise RnnlabError(
                f"MLflow run {parent_id} is not a sweep's parent run (it has no "
                f"{SWEEP_TAG} tag); give the parent run id that `rnnlab -m` printed"
            )
        return run
    if experiment:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            names = ", ".join(e.name for e in client.search_experiments()) or "none"
            raise RnnlabError(f"no MLflow experiment '{experiment}' in {uri} (it has: {names})")
        ids, where = [found.experiment_id], f"experiment '{experiment}' of {uri}"
    else:
        ids, where = [e.experiment_id for e in client.search_experiments()], uri
    runs = (
        client.search_runs(
            ids,
            f"tags.`{SWEEP_TAG}` LIKE '%'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if ids
        else []
    )
    if not runs:
        raise RnnlabError(f"no sweep in {where}; run one first: rnnlab -m experiment=<name>")
    return runs[0]


def _seconds(info) -> float:
    return ((info.end_time or info.start_time) - info.start_time) / 1000


def _profile(client, run_id: str) -> list[float] | None:
    """The last dL/dh_t profile a run kept as an artifact, or None."""
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, PROFILE_ARTIFACT, tmp)
        except (MlflowException, OSError):
            return None
        profiles = json.loads(Path(path).read_text())
    return list(profiles.values())[-1] if profiles else None


def _baseline(metrics: dict[str, float], metric: str) -> float | None:
    """The best ``data/*`` baseline in ``metric``'s unit (``val/mse`` -> ``data/*_mse``)."""
    unit = metric.rsplit("/", 1)[-1]
    values = [v for k, v in metrics.items() if k.startswith("data/") and k.endswith(f"_{unit}")]
    if not values:
        return None
    return max(values) if metric in HIGHER_IS_BETTER else min(values)


def read_sweep(client, parent, metric: str | None = None) -> Sweep:
    """The jobs of the sweep whose parent run is ``parent``, with ``metric`` (default: the
    first of METRICS the jobs logged)."""
    parent_id = parent.info.run_id
    runs = client.search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{parent_id}'",
        order_by=["attributes.start_time ASC"],
    )
    if not runs:
        raise RnnlabError(f"sweep {parent_id} has no jobs in the tracking store")
    logged = {k for r in runs for k in r.data.metrics}
    if metric is None:
        metric = next((m for m in METRICS if m in logged), None)
        if metric is None:
            raise RnnlabError(f"the jobs of sweep {parent_id} logged none of {', '.join(METRICS)}")
    elif metric not in logged:
        raise RnnlabError(
            f"no job of sweep {parent_id} logged '{metric}'; it has: "
            f"{', '.join(sorted(k for k in logged if k.startswith('val/')))}"
        )
    jobs = []
    for r in runs:
        run_id = r.info.run_id
        history = sorted((m.step, m.value) for m in client.get_metric_history(run_id, metric))
        overrides = parse_overrides(r.data.tags.get(OVERRIDES_TAG, ""))
        # a job that failed before its run started has no cell tag, only its overrides
        cell = r.data.tags.get("cell") or overrides.get("cell", "?")
        jobs.append(
            Job(
                name=r.info.run_name,
                cell=cell,
                overrides=overrides,
                status=r.info.status,
                history=history,
                baseline=_baseline(r.data.metrics, metric),
                profile=_profile(client, run_id),
                seconds=_seconds(r.info),
            )
        )
    experiment = client.get_experiment(parent.info.experiment_id).name
    return Sweep(
        parent_id,
        parent.info.run_name,
        experiment,
        parent.data.tags.get(OVERRIDES_TAG, ""),
        metric,
        jobs,
        _seconds(parent.info),
    )


def metric_entry(job: Job) -> str:
    """The final metric with its baseline, e.g. ``0.000929 (baseline 0.155)``."""
    if job.status != "FINISHED" or not job.history:
        return job.status
    text = f"{job.final:#.3g}"
    return text + (f" (baseline {job.baseline:#.3g})" if job.baseline is not None else "")


def decay_entry(job: Job) -> str:
    """log10 of ||dL/dh_0|| / ||dL/dh_{T-1}||: the orders of magnitude the gradient gains
    (negative: loses) from the last step of the window to the first; where it underflowed
    to 0, how many steps back that happened."""
    if not job.profile:
        return ""
    first, last = job.profile[0], job.profile[-1]
    if last <= 0:
        return ""
    if first <= 0:
        zero = max(t for t, norm in enumerate(job.profile) if norm <= 0)
        return f"-inf (0 from {len(job.profile) - 1 - zero} steps back)"
    return f"{math.log10(first / last):+.1f}"


def markdown_table(sweep: Sweep, entry=metric_entry, title: str | None = None) -> str:
    """Rows: cells; columns: the swept values (one column, ``title``, when only the cell is
    swept; default the metric); entries: ``entry(job)``."""
    columns = sweep.columns()
    header = [c or title or sweep.metric for c in columns]
    lines = ["| cell | " + " | ".join(header) + " |", "| --- |" + " --- |" * len(columns)]
    for cell in sweep.cells():
        row = []
        for column in columns:
            jobs = [j for j in sweep.jobs if j.cell == cell and sweep.column(j) == column]
            row.append(" / ".join(entry(j) for j in jobs))
        lines.append(f"| {cell} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _per_cell(sweep: Sweep, value: Callable[[Job], T | None]) -> dict[str, dict[str, T]]:
    """{cell: {label: value(job)}} for the jobs where ``value`` is not None, by column."""
    panels: dict[str, dict[str, T]] = {cell: {} for cell in sweep.cells()}
    for column in sweep.columns():
        for job in sweep.jobs:
            v = value(job)
            if sweep.column(job) == column and v is not None:
                panels[job.cell][sweep.label(job)] = v
    return panels


def write_report(sweep: Sweep, out_dir: str | os.PathLike) -> list[Path]:
    """Write ``report.md`` and its PNGs into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RnnlabError(
            f"cannot create the report directory {out}: {exc.strerror}; choose another with --out"
        ) from None
    written = [out / CURVES_PNG]
    baselines = {sweep.label(j): j.baseline for j in sweep.jobs if j.baseline is not None}
    plot_sweep_curves(
        _per_cell(sweep, lambda j: j.history or None),
        sweep.metric,
        written[0],
        baselines,
        log_scale=sweep.metric == "val/mse",
    )
    profiles = _per_cell(sweep, lambda j: j.profile)
    if any(profiles.values()):
        written.append(out / PROFILES_PNG)
        plot_sweep_profiles(profiles, written[-1])
    job_minutes = sum(j.seconds for j in sweep.jobs) / 60
    text = [
        f"Sweep `{sweep.name}` (MLflow parent run `{sweep.parent_id}`, experiment "
        f"`{sweep.experiment}`): `rnnlab -m {sweep.command}`.",
        f"{len(sweep.jobs)} job{'s' * (len(sweep.jobs) != 1)}, "
        f"{job_minutes:.1f} minutes of job time in all; the sweep "
        f"took {sweep.seconds / 60:.1f} minutes. Entries: the final `{sweep.metric}` of each "
        f"job, with the best of its dataset's baselines in brackets.",
        "",
        markdown_table(sweep),
        f"![{sweep.metric} against training step, per cell]({CURVES_PNG})",
    ]
    if len(written) > 1:
        text += [
            "",
            "The dL/dh_t profile of each job's last training step: log10 of "
            "`‖dL/dh_0‖ / ‖dL/dh_(T-1)‖`, the orders of magnitude the gradient of the loss "
            "changes by from the last step of the BPTT window back to its first.",
            "",
            markdown_table(sweep, decay_entry, "log10 decay"),
            f"![norm of dL/dh_t against steps back in time, per cell]({PROFILES_PNG})",
        ]
    report = out / REPORT_FILE
    report.write_text("\n".join(text) + "\n", encoding="utf-8")
    return [report, *written]
