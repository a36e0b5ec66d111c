"""One job from a validated config: build, start trackers, train, test, report, end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import cast

from omegaconf import DictConfig, OmegaConf
from pluggy import HookRelay

import rnnlab
from rnnlab.config.run_config import config_dict, default_run_dir, schema_for, to_run_config
from rnnlab.config.schema import RunConfig
from rnnlab.config.store import GROUP_BASES
from rnnlab.errors import RnnlabError, storage_error
from rnnlab.names import (
    CONFIG_ARTIFACTS,
    CONFIG_FILE,
    COPIED_FROM_TAG,
    GIT_COMMIT_TAG,
    HOST_TAG,
    METRICS_FILE,
    OVERRIDES_TAG,
    PID_TAG,
    PLOTS_DIR,
    PROFILES_FILE,
    RUN_DIR_TAG,
)
from rnnlab.plugins.registry import Registry, get_registry
from rnnlab.plugins.run import Run
from rnnlab.runner.build import build_dataset, build_model, build_optimizer, build_schedule
from rnnlab.runner.checkpoint import LAST, Checkpoint, remove_partial_writes
from rnnlab.runner.data_contract import dataset_task
from rnnlab.runner.interruption import RunInterrupted, interrupted_message, sigterm_as_interrupt
from rnnlab.runner.progress import format_metrics
from rnnlab.runner.run_context import RUN_DIR_META, RUN_NAME_META
from rnnlab.runner.run_dir import RunDirLock, claim_new_run_dir, held_lock, lock_run_dir
from rnnlab.runner.run_name import run_name
from rnnlab.runner.threads import compute_threads, engine_threads, job_threads
from rnnlab.runner.trackers import start_trackers
from rnnlab.runner.trainer import Trainer
from rnnlab.tracking.metrics_file import read_metrics


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


def make_run(
    config: dict, run_dir: Path, overrides: Sequence[str] = (), swept: Sequence[str] | None = None
) -> Run:
    """The ``Run`` of a job with the resolved ``config``, named by ``tracking.run_name`` or
    else by its cell and the settings ``overrides`` (or, in a sweep, its ``swept`` keys) chose."""
    name = config["tracking"]["run_name"] or run_name(config, overrides, swept)
    tags = {
        "cell": config["cell"]["name"],
        "dataset": config["data"]["name"],
        "rnnlab.version": rnnlab.__version__,
        RUN_DIR_TAG: str(run_dir.resolve()),
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
    }
    commit = _git_commit()
    if commit:
        tags[GIT_COMMIT_TAG] = commit
    return Run(config=config, params=flatten(config), run_dir=run_dir, name=name, tags=tags)


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
    from rnnlab.runner.resume import find_run_dir

    run_dir = find_run_dir(reference)
    try:
        saved = cast(DictConfig, OmegaConf.load(run_dir / CONFIG_FILE))
        if "schedule" not in saved:  # runs from before schedules existed had a constant rate
            saved.schedule = {"name": "constant"}
        schema = schema_for({g: saved[g]["name"] for g in GROUP_BASES}, registry)
        merged = cast(DictConfig, OmegaConf.merge(schema, saved))
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
    schedule, task = build_schedule(conf, registry), dataset_task(dataset, registry)
    return Trainer(conf, dataset, model, optimizer, hook, run, schedule, task)


def check_steps_left(ckpt: Checkpoint, conf: RunConfig, run_dir: Path) -> None:
    """Raise unless resuming from ``ckpt`` leaves something to do: steps to train, or the test
    of a run stopped between its last checkpoint and the end."""
    step, steps = ckpt.meta["step"], conf.train.steps
    if steps > step or (steps == step and not tested(run_dir)):
        return
    raise RnnlabError(
        f"{run_dir} is already trained to step {step} (train.steps={steps}), nothing to "
        f"resume; to train it longer: rnnlab resume={run_dir} train.steps=<more than {step}>"
    )


def tested(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` has its test metrics (True if it keeps no metrics file)."""
    path = run_dir / METRICS_FILE
    return not path.is_file() or any("test/loss" in m for _, m in read_metrics(path))


def continue_run(run: Run, ckpt: Checkpoint, run_dir: Path) -> None:
    """Give ``run`` the meta of the run ``ckpt`` comes from, unless ``run_dir`` is a copy of
    that run's directory (which still exists): then the trackers start new records, linked to
    the original's (``run.copied_from``). A moved directory continues the same records."""
    meta = dict(ckpt.meta["run"])
    here = str(run_dir.resolve())
    origin = meta.get(RUN_DIR_META, here)  # absent in checkpoints of older versions
    if origin != here and (Path(origin) / CONFIG_FILE).is_file():
        run.copied_from, meta = meta, {}
        run.tags[COPIED_FROM_TAG] = origin
    # the name the run started with (absent in checkpoints of older versions)
    run.name = meta.get(RUN_NAME_META) or run.copied_from.get(RUN_NAME_META) or run.name
    run.meta = {**meta, RUN_DIR_META: here, RUN_NAME_META: run.name}
    run.resumed_from_step = ckpt.meta["step"]


def announce(run: Run, baselines: Mapping[str, float]) -> None:
    """Say where the run trains, where a resume continues, and (for text) the baselines."""
    if run.resumed_from_step:
        print(f"resuming {run.run_dir} from step {run.resumed_from_step}", file=sys.stderr)
    else:
        print(f"run directory: {run.run_dir}", file=sys.stderr)
    if run.copied_from:
        print(
            f"{run.run_dir} is a copy of {run.tags[COPIED_FROM_TAG]}: it is tracked as a new "
            f"run, tagged {COPIED_FROM_TAG}; the original's records are left as they are",
            file=sys.stderr,
        )
    bpc = {k.removesuffix("_bpc"): v for k, v in baselines.items() if k.endswith("_bpc")}
    if bpc and not run.resumed_from_step:
        values = ", ".join(f"{name} {value:.3f}" for name, value in bpc.items())
        print(f"context baselines on val, bits per character: {values}", file=sys.stderr)


def run_job(
    conf: RunConfig,
    run_dir: Path | str | None = None,
    overrides: Sequence[str] = (),
    workers: int = 1,
    swept: Sequence[str] | None = None,
) -> float:
    """Train one model as ``conf`` says (``rnnlab.config.make_run_config`` builds one from
    Python); returns the best validation loss.

    ``run_dir``: the new run's directory (it must be new or empty; None: a new
    ``outputs/<date>/<time>-<cell>-<data>`` as the ``rnnlab`` command makes); a resumed run
    (``conf.resume``) trains in its own. ``overrides``: the command-line overrides, kept as a
    tag (on resume only ``train.steps=N`` may be among them). ``workers``: jobs running at once
    on this machine, which share its cores (``threads=0`` takes this job's share). ``swept``:
    in a sweep, the keys it varies, which name the run (else its overrides do).

    Nothing is written before the dataset, model and optimizer are built and, on resume, the
    checkpoint is checked against them and found to leave work to do: a start that fails
    there leaves no records and no new run directory. The run directory is locked while the
    job trains in it.
    """
    registry = get_registry()
    if conf.resume:
        _, conf, resumed_dir = resumed_config(conf.resume, registry, overrides)
        return train_in(
            conf, resumed_dir, Checkpoint(resumed_dir / LAST), overrides, workers, swept
        )
    path = Path(run_dir) if run_dir is not None else default_run_dir(conf)
    if held_lock(path) is not None:  # claimed by the rnnlab command before Hydra started
        return train_in(conf, path, None, overrides, workers, swept)
    claim = claim_new_run_dir(path, unique=run_dir is None)
    try:
        return train_in(conf, claim.path, None, overrides, workers, swept)
    except BaseException:
        claim.discard()  # a run that did not start leaves no directory behind
        raise


def train_in(
    conf: RunConfig,
    run_dir: Path,
    ckpt: Checkpoint | None,
    overrides: Sequence[str],
    workers: int,
    swept: Sequence[str] | None,
) -> float:
    """``run_job`` in ``run_dir``: a new run's (claimed), or continuing ``ckpt`` there."""
    registry = get_registry()
    run = make_run(config_dict(conf), run_dir, overrides, swept)
    run.tags[OVERRIDES_TAG] = " ".join(overrides)
    hook = registry.plugins.pm.hook
    threads = job_threads(conf.threads, workers)
    with ExitStack() as stack:
        stack.enter_context(compute_threads(threads))
        stack.enter_context(sigterm_as_interrupt())
        trainer = build_trainer(conf, registry, hook, run)
        if any(cell.engine_threads for cell in trainer.model.cells):
            stack.enter_context(engine_threads(threads))
        if ckpt is None:
            lock = lock_run_dir(run_dir)
            run.meta[RUN_DIR_META] = str(run_dir.resolve())
            run.meta[RUN_NAME_META] = run.name
        else:
            trainer.check_checkpoint(ckpt)
            check_steps_left(ckpt, conf, run_dir)
            lock = lock_run_dir(run_dir)
            remove_partial_writes(run_dir)
            continue_run(run, ckpt, run_dir)
        try:
            return train_and_test(run, trainer, ckpt, lock, registry)
        finally:
            lock.release()


def train_and_test(
    run: Run,
    trainer: Trainer,
    ckpt: Checkpoint | None,
    lock: RunDirLock,
    registry: Registry,
) -> float:
    """Start the trackers, train (from ``ckpt`` if given), test, report, end the run."""
    run_dir, hook = run.run_dir, registry.plugins.pm.hook
    if ckpt is None:
        OmegaConf.save(OmegaConf.create(run.config), run_dir / CONFIG_FILE)
    trackers = start_trackers(run, registry)
    try:
        hook.on_run_start(run=run)
        lock.started = True
        announce(run, trainer.data.baselines)
        if ckpt is None or run.copied_from:
            for path in (run_dir / CONFIG_FILE, run_dir / ".hydra" / "overrides.yaml"):
                if path.is_file():
                    run.add_artifact(path, CONFIG_ARTIFACTS)
        if ckpt is not None:
            trainer.restore(ckpt)
        objective = trainer.train()
        test = trainer.finish()
        from rnnlab.runner.report_plots import write_plots

        for path in write_plots(run_dir):
            run.add_artifact(path, PLOTS_DIR)
        if (run_dir / PROFILES_FILE).is_file():  # read back by `rnnlab report`
            run.add_artifact(run_dir / PROFILES_FILE, PLOTS_DIR)
    except KeyboardInterrupt:
        message = interrupted_message(trainer.step, run_dir, trainer.checkpoint_step)
        hook.on_run_end(run=run, status="KILLED", error=message)
        raise RunInterrupted(message) from None
    except Exception as exc:
        problem = storage_error(exc)
        if problem is not None:
            exc = problem
        message = str(exc) if isinstance(exc, RnnlabError) else f"{type(exc).__name__}: {exc}"
        hook.on_run_end(run=run, status="FAILED", error=message.splitlines()[0] if message else "")
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
