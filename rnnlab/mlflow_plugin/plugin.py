"""rnnlab's MLflow plugin: the ``mlflow`` tracker, sweeps as parent runs, ``resume=<run id>``,
and the ``upload`` and ``report`` commands, all through rnnlab's hooks.

Nothing here imports ``mlflow`` at import time: MLflow loads when a run, sweep or command
uses it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rnnlab.mlflow_plugin import lookup
from rnnlab.mlflow_plugin.commands import report_command, upload_command
from rnnlab.mlflow_plugin.config import MlflowConfig
from rnnlab.mlflow_plugin.env import PARENT_RUN_ENV
from rnnlab.mlflow_plugin.tracker import MlflowTracker
from rnnlab.plugins.hookspecs import Register, hookimpl
from rnnlab.plugins.sweep_context import Sweep

#: ``Sweep.meta`` key: the id of the sweep's MLflow parent run
PARENT_META = "mlflow_parent_run_id"


@hookimpl
def register_trackers(register: Register) -> None:
    register("mlflow", MlflowTracker, config=MlflowConfig)


@hookimpl
def register_commands(register: Register) -> None:
    register(
        "upload", upload_command, help="RUN: send MLflow what it missed while its server was away"
    )
    register(
        "report",
        report_command,
        help="[--experiment NAME | --parent RUN_ID] [--out DIR]: a sweep's results",
    )


@hookimpl
def on_sweep_start(sweep: Sweep) -> None:
    """Open the sweep's parent run before any job starts (when the ``mlflow`` tracker is on)."""
    if "mlflow" in sweep.config["tracking"]["trackers"]:
        from rnnlab.mlflow_plugin.sweep import start_sweep

        sweep.meta[PARENT_META] = start_sweep(sweep)


@hookimpl
def on_sweep_end(sweep: Sweep) -> str | None:
    """Close the parent run and print its summary; a problem when a job did not finish."""
    parent = sweep.meta.get(PARENT_META)
    if parent is None:
        return None
    from rnnlab.mlflow_plugin.store import first_line
    from rnnlab.mlflow_plugin.sweep import finish_sweep, summary_table

    try:
        results = finish_sweep(sweep, parent)
    except Exception as exc:  # the jobs ran: say what went wrong, without the summary
        problem = first_line(str(exc)) or type(exc).__name__
        print(f"rnnlab: warning: no sweep summary in MLflow ({problem})", file=sys.stderr)
        return None
    print(f"\nsweep summary (MLflow parent run {parent}):\n{summary_table(results)}")
    unfinished = [j for j in results if j.status != "FINISHED"]
    if not unfinished:
        return None
    return f"{len(unfinished)} of {len(results)} jobs did not finish: " + ", ".join(
        f"{j.name} [{j.overrides}]" for j in unfinished
    )


@hookimpl
def on_sweep_interrupted(sweep: Sweep) -> None:
    """The parent run ends KILLED at once (else it is reaped when the store is next opened)."""
    parent = sweep.meta.get(PARENT_META)
    if parent is not None:
        from rnnlab.mlflow_plugin.sweep import end_interrupted_sweep

        end_interrupted_sweep(sweep, parent)


@hookimpl
def on_sweep_job_failed(config: dict[str, Any], overrides: list[str], error: str) -> None:
    """A job that failed before its MLflow run started still appears as a FAILED child."""
    if os.environ.get(PARENT_RUN_ENV):
        from rnnlab.mlflow_plugin.sweep import record_failed_job

        record_failed_job(config, " ".join(overrides), error)


@hookimpl
def find_run_dir(reference: str) -> Path | None:
    return lookup.find_run_dir(reference)


@hookimpl
def run_reference_help() -> str:
    return lookup.REFERENCE_HELP
