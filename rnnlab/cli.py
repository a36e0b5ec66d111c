"""The ``rnnlab`` command: Hydra composition, validation, then one call into the runner.

``rnnlab [overrides]`` trains one model, ``rnnlab -m [sweeps]`` runs a sweep;
``rnnlab NAME ...`` runs a subcommand that a plugin registered (``plugins``, ``sample``,
``report``, ...). Heavy imports (MLflow, the runner) happen only when a job runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from importlib.resources import files
from pathlib import Path
from typing import cast

import hydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from rnnlab.config.error_lines import one_line
from rnnlab.config.run_config import to_run_config
from rnnlab.errors import ConfigError, RnnlabError, storage_error
from rnnlab.runner.run_dir import RunDirLock, claim_new_run_dir, lock_run_dir

CONF_DIR = str(files("rnnlab.conf"))
GROUPS = ("cell", "data", "optimizer", "schedule")
#: config groups that only mean something in a multirun (rnnlab -m)
SWEEP_GROUPS = ("experiment", "hparams_search")


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error and exit (for user mistakes: no traceback)."""
    print(f"rnnlab: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _overrides_only(argv: list[str]) -> bool:
    return all(not a.startswith("-") for a in argv)


def preflight(argv: list[str]) -> tuple[str, str | None] | None:
    """Check a single run's overrides before Hydra starts: one line per mistake.

    Unknown group options are checked against the plugin registry (so a plugin
    that failed to load is named); types and unknown keys by composing. Returns the
    directory ``hydra.run.dir`` resolves to and the ``resume`` value (None for a sweep or
    a Hydra option).
    """
    from hydra import compose, initialize_config_dir

    from rnnlab.plugins.registry import get_registry

    registry = get_registry()
    for arg in argv:
        key, _, value = arg.partition("=")
        if key in GROUPS and "," not in value:
            registry.get(key, value)
    if not _overrides_only(argv):
        return None
    for arg in argv:
        key, _, value = arg.partition("=")
        if key in SWEEP_GROUPS and value not in ("", "null"):
            raise ConfigError(f"{arg} is a sweep: run it with -m, e.g. rnnlab -m {arg}")
    overrides = [
        a for a in argv if not a.lstrip("+~").startswith("hydra") or a.startswith(RUN_DIR_KEY)
    ]
    try:
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
            run_dir = str(cfg.hydra.run.dir)
    except Exception as exc:  # Hydra and OmegaConf raise many types for user mistakes
        raise RnnlabError(one_line(exc)) from None
    with open_dict(cfg):
        del cfg["hydra"]
    conf = to_run_config(cfg)
    for tracker in conf.tracking.trackers:
        registry.get("tracker", tracker)
    return run_dir, conf.resume


RUN_DIR_KEY = "hydra.run.dir="


def hydra_value(text: str) -> str:
    """``text`` quoted for a Hydra override (any path, verbatim)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def claim_run_dir(
    argv: list[str], run_dir: str, resume: str | None
) -> tuple[list[str], RunDirLock | None]:
    """The run directory of a single run, made and locked before Hydra writes anything.

    Returns the overrides for Hydra (the claimed directory as ``hydra.run.dir``) and the
    lock, or None for a resume (the run's own directory, locked once its checkpoint is
    checked; Hydra adds no ``.hydra/`` to it).
    """
    from rnnlab.runner.resume import find_run_dir

    chosen = [a for a in argv if a.startswith(RUN_DIR_KEY)]
    argv = [a for a in argv if not a.startswith(RUN_DIR_KEY)]
    if resume:
        directory = str(find_run_dir(resume))
        return [*argv, RUN_DIR_KEY + hydra_value(directory), "hydra.output_subdir=null"], None
    lock = claim_new_run_dir(Path(run_dir), unique=not chosen)
    return [*argv, RUN_DIR_KEY + hydra_value(str(lock.path))], lock


def parallel_workers(hydra_cfg: DictConfig) -> int:
    """Jobs running at once on this machine: the launcher's ``n_jobs`` (joblib), else 1.

    joblib's ``n_jobs=-1`` means one worker per core.
    """
    n_jobs = (hydra_cfg.get("launcher") or {}).get("n_jobs") or 1
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs


def run_hydra_job(cfg: DictConfig, hydra_cfg: DictConfig) -> float:
    """``run_job`` with what Hydra decided: the job's output directory (claimed before Hydra
    started, or made by Hydra for a sweep's job: locked here, so the job trains in it as it
    is), its overrides, and the launcher's parallel workers."""
    from rnnlab.runner.job import run_job

    conf = to_run_config(cfg)
    run_dir = Path(hydra_cfg.runtime.output_dir)
    lock = None if conf.resume else lock_run_dir(run_dir)
    try:
        return run_job(conf, run_dir, list(hydra_cfg.overrides.task), parallel_workers(hydra_cfg))
    finally:
        if lock is not None:
            lock.release()


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def hydra_main(cfg: DictConfig):
    """One job: validate, then train. Returns the validation objective for sweepers.

    In a sweep a failed job reports one line and returns None, so the other jobs
    run (Optuna records a failed trial: a NaN would crash hydra-optuna-sweeper's
    failure path); the sweep's summary then names it and the sweep exits non-zero.
    A job in a worker process of its own stops when the sweep's process dies.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra_cfg = cast(DictConfig, HydraConfig.get())  # typed HydraConf; a DictConfig at run time
    if hydra_cfg.mode != RunMode.MULTIRUN:
        try:
            return run_hydra_job(cfg, hydra_cfg)
        except RnnlabError as exc:
            fail(str(exc))
    from rnnlab.sweep_console import labelled_console
    from rnnlab.sweep_failures import record_failure
    from rnnlab.sweep_orphans import stop_with_the_sweep

    with stop_with_the_sweep(), labelled_console(hydra_cfg.job.num):
        try:
            return run_hydra_job(cfg, hydra_cfg)
        except Exception as exc:
            if not isinstance(exc, RnnlabError):
                logging.getLogger("rnnlab").exception("job failed")  # a bug: keep the traceback
            message = str(exc) if isinstance(exc, RnnlabError) else f"{type(exc).__name__}: {exc}"
            job = f"job {hydra_cfg.job.num} [{' '.join(hydra_cfg.overrides.task)}]"
            print(f"rnnlab: error: {job}: {message}", file=sys.stderr)
            record_failure(hydra_cfg.job.num, job)
            # e.g. a tracking store that fails here failed the job above, and said so
            with contextlib.suppress(Exception):
                from rnnlab.plugins.registry import get_registry

                get_registry().plugins.pm.hook.on_sweep_job_failed(
                    config=OmegaConf.to_container(cfg, resolve=True),
                    overrides=list(hydra_cfg.overrides.task),
                    error=message,
                )
            return None


def main(argv: list[str] | None = None) -> None:
    """The ``rnnlab`` command. Ctrl-C or SIGTERM ends it with one line and status 130; output
    piped into a reader that stops early (``| head``) ends it quietly."""
    try:
        run_command(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM; a run has marked itself KILLED
        print(f"rnnlab: {str(exc) or 'interrupted'}", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def run_command(argv: list[str]) -> None:
    """A subcommand that a plugin registered (plugins, sample, report, ...), or training
    through Hydra."""
    from rnnlab.commands import commands_help, find_command
    from rnnlab.plugins.registry import get_registry

    try:
        registry = get_registry()
        command = find_command(argv, registry)
    except RnnlabError as exc:
        fail(str(exc), code=2)
    if command is not None:
        try:
            command.obj(argv[1:])
        except RnnlabError as exc:
            fail(str(exc))
        return
    try:
        from rnnlab.config.store import store_configs

        registry.check_conflicts()
        store_configs(registry)
        OmegaConf.register_new_resolver(  # the command lines of `rnnlab --help`
            "rnnlab_commands", lambda: commands_help(registry), replace=True
        )
        start = preflight(argv)
    except RnnlabError as exc:
        fail(str(exc), code=2)
    lock = None
    if start is not None:
        try:
            argv, lock = claim_run_dir(argv, *start)
        except RnnlabError as exc:
            fail(str(exc))
        except OSError as exc:
            problem = storage_error(exc)
            if problem is None:
                raise
            fail(str(problem))
    sys.argv = [sys.argv[0], *argv]
    full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # errors reach the handler below, not Hydra's printer
    try:
        run_hydra(full_error)
    except BaseException:
        if lock is not None:
            lock.discard()  # a run that did not start leaves no directory behind
        raise


def run_hydra(full_error: bool) -> None:
    """``hydra_main`` on ``sys.argv``, its errors in one line (unless HYDRA_FULL_ERROR=1)."""
    try:
        hydra_main()
    except BrokenPipeError:
        raise
    except Exception as exc:
        if full_error:
            raise
        problem = storage_error(exc)  # Hydra writing the run directory and its .hydra/ files
        if problem is not None:
            fail(str(problem))
        if isinstance(exc, (HydraException, OmegaConfBaseException)):
            fail(one_line(exc))
        raise  # a bug: keep the traceback
