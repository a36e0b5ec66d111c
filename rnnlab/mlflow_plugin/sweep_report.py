"""``rnnlab report``: a sweep read back from MLflow, as Markdown tables and PNG plots.

Rows are cells; columns are the other overrides that vary between the sweep's
jobs (a sequence length, a BPTT length, ...), ``seed`` aside: jobs that differ only
in their seed form one entry, the mean of their final validation metric with a 95%
Student-t interval and n, beside the best of the dataset's baselines. Cells at one
setting are compared by the interval of their difference. Every number comes from
the tracking store, none from the run directories.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from rnnlab.errors import RnnlabError
from rnnlab.mlflow_plugin.store import open_client, resolve_tracking_uri
from rnnlab.names import OVERRIDES_TAG, PLOTS_DIR, PROFILES_FILE, SWEEP_DIR_TAG
from rnnlab.tracking.intervals import Interval, difference_interval, mean_interval
from rnnlab.tracking.plots import plot_sweep_curves, plot_sweep_profiles

#: the validation metric reported: the first of these the jobs logged
METRICS = ("val/mse", "val/bpc", "val/acc")
HIGHER_IS_BETTER = ("val/acc",)
#: metrics that span orders of magnitude: summarised on a log scale (geometric means)
LOG_SCALE = ("val/mse",)
#: the override that repeats a setting: jobs differing only in it are one entry
SEED_KEY = "seed"
PROFILE_ARTIFACT = f"{PLOTS_DIR}/{PROFILES_FILE}"
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
    def log_scale(self) -> bool:
        return self.metric in LOG_SCALE

    @property
    def swept(self) -> list[str]:
        """The override keys besides ``cell`` and ``seed`` whose value differs between jobs."""
        keys = dict.fromkeys(
            k for job in self.jobs for k in job.overrides if k not in ("cell", SEED_KEY)
        )
        return [k for k in keys if len({job.overrides.get(k) for job in self.jobs}) > 1]

    def column(self, job: Job) -> str:
        """``"data.length=100"``, say; ``""`` when nothing but the cell is swept."""
        return ", ".join(f"{k}={job.overrides.get(k, '')}" for k in self.swept)

    def label(self, job: Job) -> str:
        """The line label of the job's group in the plots: its column, else its cell."""
        return self.column(job) or job.cell

    def columns(self) -> list[str]:
        """Column labels, ordered by their values (numerically where they are numbers)."""

        def key(job):
            return tuple(_sort_key(job.overrides.get(k, "")) for k in self.swept)

        return list(dict.fromkeys(self.column(j) for j in sorted(self.jobs, key=key)))

    def cells(self) -> list[str]:
        return list(dict.fromkeys(job.cell for job in self.jobs))

    def groups(self) -> dict[tuple[str, str], list[Job]]:
        """{(cell, column): the jobs that differ only in their seed}, in table order."""
        found: dict[tuple[str, str], list[Job]] = {}
        for column in self.columns():
            for cell in self.cells():
                jobs = [j for j in self.jobs if j.cell == cell and self.column(j) == column]
                if jobs:
                    found[cell, column] = jobs
        return found

    def seeds(self) -> int:
        """The most jobs any one entry has."""
        return max(len(jobs) for jobs in self.groups().values())


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
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = resolve_tracking_uri(tracking_uri)
    return open_client(uri, create=False), uri


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
        if SWEEP_DIR_TAG not in run.data.tags:
            raise RnnlabError(
                f"MLflow run {parent_id} is not a sweep's parent run (it has no "
                f"{SWEEP_DIR_TAG} tag); give the parent run id that `rnnlab -m` printed"
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
            f"tags.`{SWEEP_DIR_TAG}` LIKE '%'",
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


def finals(jobs: list[Job]) -> list[float]:
    """The final metric of each job that finished."""
    return [j.final for j in jobs if j.status == "FINISHED" and j.history]


def _unfinished(jobs: list[Job]) -> str:
    """``"1 FAILED"``: how many jobs ended otherwise than FINISHED, by status."""
    statuses = [j.status for j in jobs if j.status != "FINISHED" or not j.history]
    return ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))


def metric_entry(jobs: list[Job], log_scale: bool = False) -> str:
    """Mean final metric with its 95% interval, n and baseline, e.g.
    ``0.000929 [0.000512, 0.00169] (n=5; baseline 0.155)``; geometric if ``log_scale``."""
    values = finals(jobs)
    unfinished = _unfinished(jobs)
    if not values:
        return unfinished
    baseline = next((j.baseline for j in jobs if j.baseline is not None), None)
    text = f"{mean_interval(values, log_scale).format()} (n={len(values)}"
    text += f"; baseline {baseline:#.3g})" if baseline is not None else ")"
    return f"{text}; {unfinished}" if unfinished else text


def job_decay(job: Job) -> float | None:
    """log10 of ||dL/dh_0|| / ||dL/dh_{T-1}||: the orders of magnitude the gradient gains
    (negative: loses) from the last step of the window to the first; -inf where it
    underflowed to 0; None without a profile."""
    if not job.profile or job.profile[-1] <= 0:
        return None
    first, last = job.profile[0], job.profile[-1]
    return math.log10(first / last) if first > 0 else -math.inf


def decay_entry(jobs: list[Job]) -> str:
    """The mean log10 decay of the jobs with its interval and n; a single job's value
    alone, or where its gradient underflowed to 0, how many steps back that happened."""
    decays = [(j, d) for j in jobs if (d := job_decay(j)) is not None]
    if len(jobs) == 1 and decays:
        job, decay = decays[0]
        if decay > -math.inf:
            return f"{decay:+.1f}"
        assert job.profile is not None  # job_decay found one
        zero = max(t for t, norm in enumerate(job.profile) if norm <= 0)
        return f"-inf (0 from {len(job.profile) - 1 - zero} steps back)"
    finite = [d for _, d in decays if d > -math.inf]
    parts = [f"{mean_interval(finite).format('+.1f')} (n={len(finite)})"] if finite else []
    if len(finite) < len(decays):
        parts.append(f"{len(decays) - len(finite)} underflowed to 0")
    return "; ".join(parts)


def markdown_table(
    sweep: Sweep, entry: Callable[[list[Job]], str] | None = None, title: str | None = None
) -> str:
    """Rows: cells; columns: the swept values (one column, ``title``, when only the cell is
    swept; default the metric); entries: ``entry(jobs)`` of the jobs that differ only in
    their seed (default: ``metric_entry``)."""
    if entry is None:
        entry = partial(metric_entry, log_scale=sweep.log_scale)
    columns = sweep.columns()
    groups = sweep.groups()
    header = [c or title or sweep.metric for c in columns]
    lines = ["| cell | " + " | ".join(header) + " |", "| --- |" + " --- |" * len(columns)]
    for cell in sweep.cells():
        row = [entry(groups[cell, c]) if (cell, c) in groups else "" for c in columns]
        lines.append(f"| {cell} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def verdict(sweep: Sweep, a: str, b: str, difference: Interval) -> str:
    """What the interval of ``a - b`` supports: which is better, or no ranking."""
    if not difference.excludes(0.0):
        return "no ranking: the interval includes 0"
    lower = a if difference.mean < 0 else b
    higher = b if lower == a else a
    better = higher if sweep.metric in HIGHER_IS_BETTER else lower
    return f"{better} better ({lower} lower)"


def comparison_table(sweep: Sweep) -> str | None:
    """For each setting, each pair of cells with at least two finished seeds each: the
    difference of their means with Welch's 95% interval, and what it supports."""
    groups = sweep.groups()
    unit = "log10 ratio" if sweep.log_scale else "difference"
    rows = []
    for column in sweep.columns():
        cells = [(c, finals(groups[c, column])) for c in sweep.cells() if (c, column) in groups]
        for (a, va), (b, vb) in itertools.combinations(cells, 2):
            if len(va) < 2 or len(vb) < 2:
                continue
            d = difference_interval(va, vb, sweep.log_scale)
            rows.append(
                f"| {column or '-'} | {a} - {b} | {d.format('+#.3g')} | {verdict(sweep, a, b, d)} |"
            )
    if not rows:
        return None
    head = f"| setting | cells | {unit} of `{sweep.metric}` [95% interval] | what it supports |"
    return "\n".join([head, "| --- | --- | --- | --- |", *rows]) + "\n"


def _per_cell(sweep: Sweep, value: Callable[[Job], T | None]) -> dict[str, dict[str, list[T]]]:
    """{cell: {label: [value(job) for each seed]}}, leaving out jobs where it is None."""
    panels: dict[str, dict[str, list[T]]] = {cell: {} for cell in sweep.cells()}
    for (cell, _), jobs in sweep.groups().items():
        values = [v for j in jobs if (v := value(j)) is not None]
        if values:
            panels[cell][sweep.label(jobs[0])] = values
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
        log_scale=sweep.log_scale,
    )
    profiles = _per_cell(sweep, lambda j: j.profile)
    if any(profiles.values()):
        written.append(out / PROFILES_PNG)
        plot_sweep_profiles(profiles, written[-1])
    job_minutes = sum(j.seconds for j in sweep.jobs) / 60
    mean = "geometric mean" if sweep.log_scale else "mean"
    text = [
        f"Sweep `{sweep.name}` (MLflow parent run `{sweep.parent_id}`, experiment "
        f"`{sweep.experiment}`): `rnnlab -m {sweep.command}`.",
        f"{len(sweep.jobs)} job{'s' * (len(sweep.jobs) != 1)}, "
        f"{job_minutes:.1f} minutes of job time in all; the sweep "
        f"took {sweep.seconds / 60:.1f} minutes. Entries: the final `{sweep.metric}` of the "
        f"jobs that differ only in their seed, as their {mean} with a 95% Student-t interval "
        f"in square brackets, n (jobs that finished) and the best of the dataset's baselines.",
        "",
        markdown_table(sweep),
    ]
    comparisons = comparison_table(sweep)
    if comparisons:
        text += [
            "Cells compared at each setting: the difference of their "
            + (
                "log10 values (the log10 of the ratio of geometric means)"
                if sweep.log_scale
                else "means"
            )
            + " with Welch's 95% t interval; a cell is called better only where that "
            "interval excludes 0.",
            "",
            comparisons,
        ]
    elif sweep.seeds() < 2:
        text += [
            "Each entry is a single run: there is no interval, and the table supports no "
            f"ranking of the cells. Sweep `{SEED_KEY}` (e.g. `{SEED_KEY}=0,1,2,3,4`) to get one.",
            "",
        ]
    text.append(f"![{sweep.metric} against training step, per cell]({CURVES_PNG})")
    if len(written) > 1:
        text += [
            "",
            "The dL/dh_t profile of each job's last training step: log10 of "
            "`‖dL/dh_0‖ / ‖dL/dh_(T-1)‖`, the orders of magnitude the gradient of the loss "
            "changes by from the last step of the BPTT window back to its first "
            "(over seeds: the mean with its 95% interval, and n).",
            "",
            markdown_table(sweep, decay_entry, "log10 decay"),
            f"![norm of dL/dh_t against steps back in time, per cell]({PROFILES_PNG})",
        ]
    report = out / REPORT_FILE
    report.write_text("\n".join(text) + "\n", encoding="utf-8")
    return [report, *written]
