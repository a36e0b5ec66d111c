"""One job from a validated config: build, start trackers, train, test, report, end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from omegaconf import DictConfig, OmegaConf
from pluggy import HookRelay

import rnnlab
from rnnlab.config.schema import RunConfig
from rnnlab.errors import RnnlabError, storage_error
from rnnlab.plugins.registry import Registry, get_registry
from rnnlab.runner.build import build_dataset, build_model, build_optimizer, build_schedule
from rnnlab.runner.checkpoint import LAST, Checkpoint, remove_partial_writes
from rnnlab.runner.interruption import RunInterrupted, interrupted_message, sigterm_as_interrupt
from rnnlab.runner.progress import format_metrics
from rnnlab.runner.run_context import HOST_TAG, OVERRIDES_TAG, PID_TAG, Run
from rnnlab.runner.threads import compute_threads, job_threads
from rnnlab.runner.trainer import PROFILES_FILE, Trainer

CONFIG_FILE = "config.yaml"


def flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def make_run(config: dict, run_dir: Path) -> Run:
    t = config["tracking"]
    name = t["run_name"] or (
        f"{config['cell']['name']}-{config['data']['name']}-h{config['model']['hidden_size']}"
    )
    tags = {
        "cell": config["cell"]["name"],
        "dataset": config["data"]["name"],
        "rnnlab.version": rnnlab.__version__,
        "rnnlab.run_dir": str(run_dir.resolve()),
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
    }
    commit = _git_commit()
    if commit:
        tags["git.commit"] = commit
    return Run(config=config, params=flatten(config), run_dir=run_dir, name=name, tags=tags)


def start_trackers(run: Run, registry: Registry) -> list:
    pm = registry.plugins.pm
    trackers = []
    for name in run.config["tracking"]["trackers"]:
        tracker = registry.get("tracker", name).obj(run)
        pm.register(tracker, name=f"tracker:{name}:{id(tracker)}")
        trackers.append(tracker)
    return trackers


RESUMABLE_OVERRIDES = ("resume", "train.steps")


def broken_run_config(path: Path, exc: Exception) -> RnnlabError:
    """One line for a run's ``config.yaml`` that is not valid YAML or not a run's config."""
    mark = getattr(exc, "problem_mark", None)  # a YAML syntax error says where
    if mark is not None:
        problem = f"{getattr(exc, 'problem', 'invalid YAML')} at line {mark.line + 1}"
    else:
        problem = " ".join(str(exc).split("\n")[0].split())
    return RnnlabError(
        f"{path} is not the config of an rnnlab run ({problem}); restore it, e.g. from "
        f"the MLflow run's artifact config/config.yaml"
    )


def resumed_config(
    reference: str, registry: Registry, overrides: Sequence[str] = ()
) -> tuple[DictConfig, RunConfig, Path]:
    """The saved config of the run at ``reference`` (a run directory or an MLflow run id).

    ``overrides`` may only set ``train.steps`` (to train a run for longer); everything
    else comes from the run's own config.
    """
    from rnnlab.cli import to_run_config
    from rnnlab.config.store import GROUP_BASES
    from rnnlab.runner.resume import find_run_dir

    run_dir = find_run_dir(reference)
    base = OmegaConf.structured(RunConfig)
    try:
        saved = cast(DictConfig, OmegaConf.load(run_dir / CONFIG_FILE))
        if "schedule" not in saved:  # runs from before schedules existed had a constant rate
            saved.schedule = {"name": "constant"}
        for group in ("cell", "data", "optimizer", "schedule"):
            config = registry.get(group, saved[group]["name"]).config or GROUP_BASES[group]
            base[group] = OmegaConf.structured(config)
        merged = cast(DictConfig, OmegaConf.merge(base, saved))
    except RnnlabError:  # a cell, dataset, optimizer or schedule that is not installed
        raise
    except Exception as exc:  # YAML syntax, or not a mapping with the run's groups
        raise broken_run_config(run_dir / CONFIG_FILE, exc) from None
    for override in overrides:
        key, _, value = override.partition("=")
        if key not in RESUMABLE_OVERRIDES:
            raise RnnlabError(
                f"'{override}' cannot change a resumed run; only train.steps may "
                f"(the rest comes from {run_dir / CONFIG_FILE})"
            )
        if key == "train.steps":
            merged.train.steps = value
    merged.resume = str(run_dir)
    return merged, to_run_config(merged), run_dir


def build_trainer(conf: RunConfig, registry: Registry, hook: HookRelay, run: Run) -> Trainer:
    """The dataset, model, optimizer and schedule ``conf`` asks for, in a Trainer."""
    dataset = build_dataset(conf, registry)
    model = build_model(conf, dataset, registry)
    optimizer = build_optimizer(conf, model, registry)
    return Trainer(conf, dataset, model, optimizer, hook, run, build_schedule(conf, registry))


def run_job(cfg: DictConfig, conf: RunConfig, hydra_cfg: DictConfig) -> float:
    """Train one model as ``conf`` says; returns the best validation loss.

    Trackers start before the dataset and model are built, so a job that fails
    early (a bad data file, say) is still on record, FAILED, with its error. A
    resumed job first checks its checkpoint against the model it builds, so a
    checkpoint that does not fit leaves the run's files and MLflow run untouched.
    """
    registry = get_registry()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    ckpt = None
    if conf.resume:
        cfg, conf, run_dir = resumed_config(conf.resume, registry, hydra_cfg.overrides.task)
        ckpt = Checkpoint(run_dir / LAST)
        remove_partial_writes(run_dir)
    run = make_run(cast(dict, OmegaConf.to_container(cfg, resolve=True)), run_dir)
    run.tags[OVERRIDES_TAG] = " ".join(hydra_cfg.overrides.task)
    hook = registry.plugins.pm.hook
    with compute_threads(job_threads(conf.threads, hydra_cfg)), sigterm_as_interrupt():
        trainer = None
        if ckpt is None:
            OmegaConf.save(cfg, run_dir / CONFIG_FILE, resolve=True)
        else:  # a checkpoint that does not fit fails before the run's records are touched
            trainer = build_trainer(conf, registry, hook, run)
            trainer.check_checkpoint(ckpt)
            run.meta = ckpt.meta["run"]
            run.resumed_from_step = ckpt.meta["step"]
        trackers = start_trackers(run, registry)
        try:
            hook.on_run_start(run=run)
            trainer = trainer or build_trainer(conf, registry, hook, run)
            if ckpt is None:
                for path in (run_dir / CONFIG_FILE, run_dir / ".hydra" / "overrides.yaml"):
                    if path.is_file():
                        hook.on_artifact(run=run, path=path, artifact_path="config")
            else:
                trainer.restore(ckpt)
            objective = trainer.train()
            test = trainer.finish()
            from rnnlab.runner.report_plots import write_plots

            for path in write_plots(run_dir):
                hook.on_artifact(run=run, path=path, artifact_path="plots")
            if (run_dir / PROFILES_FILE).is_file():  # read back by `rnnlab report`
                hook.on_artifact(run=run, path=run_dir / PROFILES_FILE, artifact_path="plots")
        except KeyboardInterrupt:
            message = interrupted_message(trainer.step if trainer else 0, run_dir, run_dir / LAST)
            hook.on_run_end(run=run, status="KILLED", error=message)
            raise RunInterrupted(message) from None
        except Exception as exc:
            problem = storage_error(exc)
            if problem is not None:
                exc = problem
            message = str(exc) if isinstance(exc, RnnlabError) else f"{type(exc).__name__}: {exc}"
            hook.on_run_end(
                run=run, status="FAILED", error=message.splitlines()[0] if message else ""
            )
            if problem is not None:
                raise problem from None
            raise
        else:
            print(
                f"test, best checkpoint: {format_metrics(test)}\nrun directory: {run_dir}",
                file=sys.stderr,
            )
            hook.on_run_end(run=run, status="FINISHED", error=None)
        finally:
            for tracker in trackers:
                registry.plugins.pm.unregister(tracker)
    return objective
