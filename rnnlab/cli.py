"""The ``rnnlab`` command: Hydra composition, validation, then one call into the runner.

``rnnlab [overrides]`` trains one model, ``rnnlab -m [sweeps]`` runs a sweep;
``rnnlab plugins``, ``rnnlab sample`` and ``rnnlab report`` are subcommands. Heavy imports
(MLflow, the runner) happen only when a job runs.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from importlib.resources import files

import hydra
from omegaconf import DictConfig, OmegaConf

from rnnlab.errors import RnnlabError
from rnnlab.tracking.env import PARENT_RUN_ENV

CONF_DIR = str(files("rnnlab.conf"))
GROUPS = ("cell", "data", "optimizer")


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error and exit (for user mistakes: no traceback)."""
    print(f"rnnlab: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def one_line(exc: BaseException) -> str:
    """A Hydra/OmegaConf error folded into one line that names the key."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("full_key:")), "")
    head = lines[0] if lines else type(exc).__name__
    if key and key not in head:
        head = f"{key}: {head}"
    return head


def _overrides_only(argv: list[str]) -> bool:
    return all(not a.startswith("-") for a in argv)


def preflight(argv: list[str]) -> None:
    """Check a single run's overrides before Hydra starts: one line per mistake.

    Unknown group options are checked against the plugin registry (so a plugin
    that failed to load is named); types and unknown keys by composing.
    """
    from hydra import compose, initialize_config_dir

    from rnnlab.plugins.registry import get_registry

    registry = get_registry()
    for arg in argv:
        key, _, value = arg.partition("=")
        if key in GROUPS and "," not in value:
            registry.get(key, value)
    if not _overrides_only(argv):
        return
    overrides = [a for a in argv if not a.lstrip("+~").startswith("hydra")]
    try:
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = compose("config", overrides=overrides)
    except Exception as exc:  # Hydra and OmegaConf raise many types for user mistakes
        raise RnnlabError(one_line(exc)) from None
    to_run_config(cfg)


def to_run_config(cfg: DictConfig):
    """The composed config as validated dataclasses (types, unknown keys, ranges)."""
    from rnnlab.config.checks import validate

    try:
        obj = OmegaConf.to_object(cfg)
    except Exception as exc:
        raise RnnlabError(one_line(exc)) from None
    validate(obj)
    return obj


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def hydra_main(cfg: DictConfig):
    """One job: validate, then train. Returns the validation objective for sweepers.

    In a sweep a failed job reports one line and returns NaN, so the other jobs
    run; the sweep's summary then names it and the sweep exits non-zero.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from rnnlab.runner.job import run_job

    hydra_cfg = HydraConfig.get()
    try:
        return run_job(cfg, to_run_config(cfg), hydra_cfg)
    except Exception as exc:
        if hydra_cfg.mode != RunMode.MULTIRUN:
            if isinstance(exc, RnnlabError):
                fail(str(exc))
            raise
        if not isinstance(exc, RnnlabError):
            logging.getLogger("rnnlab").exception("job failed")  # a bug: keep the traceback
        message = str(exc) if isinstance(exc, RnnlabError) else f"{type(exc).__name__}: {exc}"
        overrides = " ".join(hydra_cfg.overrides.task)
        print(f"rnnlab: error: job {hydra_cfg.job.num} [{overrides}]: {message}", file=sys.stderr)
        if os.environ.get(PARENT_RUN_ENV):
            from rnnlab.tracking.mlflow_sweep import record_failed_job

            record_failed_job(cfg, overrides, message)
        return math.nan


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from rnnlab.commands import SUBCOMMANDS

    if argv and argv[0] in SUBCOMMANDS:
        try:
            SUBCOMMANDS[argv[0]](argv[1:])
        except RnnlabError as exc:
            fail(str(exc))
        return
    try:
        from rnnlab.config.store import store_configs
        from rnnlab.plugins.registry import get_registry

        registry = get_registry()
        registry.check_conflicts()
        store_configs(registry)
        preflight(argv)
    except RnnlabError as exc:
        fail(str(exc), code=2)
    sys.argv = [sys.argv[0], *argv]
    try:
        hydra_main()
    except Exception as exc:  # composition errors Hydra does not report itself (--help, --cfg)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        fail(one_line(exc))
