"""The sweep's Hydra callback around ``rnnlab -m`` jobs: the sweep hooks (through which e.g.
the MLflow plugin opens a parent run and prints a summary), and an exit status that says
whether every job finished."""

from __future__ import annotations

import atexit
import contextlib
import copy
import os
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from pluggy import HookRelay

from rnnlab.errors import RnnlabError, storage_error
from rnnlab.plugins.registry import get_registry
from rnnlab.plugins.sweep_context import Sweep
from rnnlab.sweep_failures import FAILURES_ENV, end_failure_records, start_failure_records
from rnnlab.sweep_orphans import SWEEP_PROCESS_ENV, export_sweep_process


def copy_env_to_jobs(config: DictConfig, names: Iterable[str]) -> None:
    """Have Hydra copy these variables of this process into every job's ``hydra.job.env_set``.

    Launchers rebuild each job's config from ``hydra.overrides`` here, and the job
    sets ``env_set`` itself wherever it runs: on a Ray cluster or a Slurm node, jobs
    do not inherit this process's environment.
    """
    names = list(dict.fromkeys([*config.hydra.job.env_copy, *names]))
    with read_write(config.hydra):
        config.hydra.overrides.hydra.append(f"hydra.job.env_copy=[{','.join(names)}]")


def sweep_of(config: DictConfig) -> Sweep:
    """The ``Sweep`` the hooks see: its directory, overrides and config (without ``hydra``)."""
    job_config = copy.deepcopy(config)
    with open_dict(job_config):
        del job_config["hydra"]
    plain = cast(dict, OmegaConf.to_container(job_config, resolve=True))
    return Sweep(Path(str(config.hydra.sweep.dir)), list(config.hydra.overrides.task), plain)


def hooks() -> HookRelay:
    return get_registry().plugins.pm.hook


class SweepCallback(Callback):
    """Calls ``on_sweep_start`` before any job starts, and ``on_sweep_end`` at the end.

    Jobs in processes of their own stop when this process dies (``sweep_orphans``). A
    sweep with a failed job ends with exit status 1 after every job has run, whatever
    its launcher and trackers (``sweep_failures``); a plugin that cannot start the sweep
    (e.g. a tracking store that cannot be used) ends it with status 2 before any job starts.
    """

    def __init__(self) -> None:
        self.sweep: Sweep | None = None
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
        self.failures = start_failure_records(str(config.hydra.sweep.dir))
        export_sweep_process()
        sweep = sweep_of(config)
        hooks().on_sweep_start(sweep=sweep)
        self.sweep = sweep
        os.environ.update(sweep.job_env)
        copy_env_to_jobs(config, [FAILURES_ENV, SWEEP_PROCESS_ENV, *sweep.job_env])
        atexit.register(self._interrupted)

    def _interrupted(self) -> None:
        """At an exit before the sweep's end (Ctrl-C): the plugins hear of it at once."""
        if self.failures is not None:
            end_failure_records(self.failures)
        if self.sweep is not None:
            with contextlib.suppress(Exception):  # e.g. a parent run is reaped later instead
                hooks().on_sweep_interrupted(sweep=self.sweep)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.unregister(self._interrupted)
        failed = end_failure_records(self.failures) if self.failures else []
        problems = hooks().on_sweep_end(sweep=self.sweep) if self.sweep is not None else []
        for problem in problems:
            print(f"rnnlab: error: {problem}", file=sys.stderr)
        if problems:
            raise SystemExit(1)
        if failed:
            print(
                f"rnnlab: error: the sweep has {len(failed)} failed "
                f"{'job' if len(failed) == 1 else 'jobs'}: " + ", ".join(failed),
                file=sys.stderr,
            )
            raise SystemExit(1)
