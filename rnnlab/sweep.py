"""The sweep's Hydra callback: an MLflow parent run around ``rnnlab -m`` jobs, a summary, and
an exit status that says whether every job finished."""

from __future__ import annotations

import atexit
import contextlib
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from rnnlab.errors import RnnlabError, storage_error
from rnnlab.sweep_failures import FAILURES_ENV, end_failure_records, start_failure_records
from rnnlab.sweep_orphans import SWEEP_PROCESS_ENV, export_sweep_process

if TYPE_CHECKING:
    from rnnlab.tracking.mlflow_sweep import JobResult


def copy_env_to_jobs(config, names) -> None:
    """Have Hydra copy these variables of this process into every job's ``hydra.job.env_set``.

    Launchers rebuild each job's config from ``hydra.overrides`` here, and the job
    sets ``env_set`` itself wherever it runs: on a Ray cluster or a Slurm node, jobs
    do not inherit this process's environment.
    """
    names = list(dict.fromkeys([*config.hydra.job.env_copy, *names]))
    with read_write(config.hydra):
        config.hydra.overrides.hydra.append(f"hydra.job.env_copy=[{','.join(names)}]")


class SweepCallback(Callback):
    """Opens the parent run before any job starts; at the end, prints and keeps the summary.

    Jobs in processes of their own stop when this process dies (``sweep_orphans``). A
    sweep with a failed job ends with exit status 1 after every job has run, whatever
    its launcher and trackers (``sweep_failures``); a tracking store that cannot be used
    ends it with status 2 before any job starts.
    """

    def __init__(self) -> None:
        self.parent: str | None = None
        self.failures: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Hydra turns an exception raised here into a warning and starts the jobs anyway
        try:
            self._start(config)
        except Exception as exc:
            problem = exc if isinstance(exc, RnnlabError) else storage_error(exc)
            if problem is None:  # a bug: keep the traceback, and start no job
                traceback.print_exc()
                raise SystemExit(1) from None
            if self.failures is not None:  # no job will run: leave no trace
                end_failure_records(self.failures)
            print(f"rnnlab: error: {problem}", file=sys.stderr)
            raise SystemExit(2) from None

    def _start(self, config: DictConfig) -> None:
        sweep_dir = str(config.hydra.sweep.dir)
        self.failures = start_failure_records(sweep_dir)
        export_sweep_process()
        names = [FAILURES_ENV, SWEEP_PROCESS_ENV]
        tracking = OmegaConf.to_container(config.tracking, resolve=True)
        assert isinstance(tracking, dict)
        if "mlflow" in tracking["trackers"]:
            from rnnlab.tracking.mlflow_sweep import SWEEP_ENV, start_sweep

            self.parent = start_sweep(tracking, sweep_dir, list(config.hydra.overrides.task))
            names.extend(SWEEP_ENV)
        copy_env_to_jobs(config, names)
        atexit.register(self._interrupted)

    def _interrupted(self) -> None:
        """At an exit before the sweep's end (Ctrl-C): its parent run ends KILLED at once."""
        if self.failures is not None:
            end_failure_records(self.failures)
        if self.parent is not None:
            from rnnlab.tracking.mlflow_sweep import end_interrupted_sweep

            with contextlib.suppress(Exception):  # else it is reaped when the store is next opened
                end_interrupted_sweep(self.parent)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.unregister(self._interrupted)
        failed = end_failure_records(self.failures) if self.failures else []
        results = self._finish_parent(self.parent) if self.parent is not None else None
        if results is not None and any(j.status != "FINISHED" for j in results):
            unfinished = [j for j in results if j.status != "FINISHED"]
            print(
                f"rnnlab: error: {len(unfinished)} of {len(results)} jobs did not finish: "
                + ", ".join(f"{j.name} [{j.overrides}]" for j in unfinished),
                file=sys.stderr,
            )
            raise SystemExit(1)
        if failed:
            print(
                f"rnnlab: error: the sweep has {len(failed)} failed "
                f"{'job' if len(failed) == 1 else 'jobs'}: " + ", ".join(failed),
                file=sys.stderr,
            )
            raise SystemExit(1)

    def _finish_parent(self, parent: str) -> list[JobResult] | None:
        """Close the MLflow parent run and print its summary; its jobs (None if it failed)."""
        from rnnlab.tracking.mlflow_sweep import finish_sweep, summary_table
        from rnnlab.tracking.store import first_line

        try:
            results = finish_sweep(parent)
        except Exception as exc:  # the jobs ran: say what went wrong, without the summary
            problem = first_line(str(exc)) or type(exc).__name__
            print(f"rnnlab: warning: no sweep summary in MLflow ({problem})", file=sys.stderr)
            return None
        print(f"\nsweep summary (MLflow parent run {parent}):\n{summary_table(results)}")
        return results
