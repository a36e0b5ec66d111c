"""The sweep's Hydra callback: an MLflow parent run around ``rnnlab -m`` jobs, and a summary."""

from __future__ import annotations

import sys
from typing import cast

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf, read_write

from rnnlab.errors import RnnlabError


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

    A sweep with a failed job ends with exit status 1 after every job has run.
    """

    def __init__(self) -> None:
        self.parent: str | None = None

    def on_multirun_start(self, config, **kwargs) -> None:
        tracking = cast(dict, OmegaConf.to_container(config.tracking, resolve=True))
        if "mlflow" not in tracking["trackers"]:
            return
        from rnnlab.tracking.mlflow_sweep import SWEEP_ENV, start_sweep

        try:
            self.parent = start_sweep(
                tracking, str(config.hydra.sweep.dir), list(config.hydra.overrides.task)
            )
        except RnnlabError as exc:
            print(f"rnnlab: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        copy_env_to_jobs(config, SWEEP_ENV)

    def on_multirun_end(self, config, **kwargs) -> None:
        if self.parent is None:
            return
        from rnnlab.tracking.mlflow_sweep import finish_sweep, summary_table

        results = finish_sweep(self.parent)
        print(f"\nsweep summary (MLflow parent run {self.parent}):\n{summary_table(results)}")
        failed = [j for j in results if j.status != "FINISHED"]
        if failed:
            print(
                f"rnnlab: error: {len(failed)} of {len(results)} jobs did not finish: "
                + ", ".join(f"{j.name} [{j.overrides}]" for j in failed),
                file=sys.stderr,
            )
            raise SystemExit(1)
