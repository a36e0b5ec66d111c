"""The plugin contract: every hook rnnlab calls, with its arguments.

A plugin is a module (or object) with functions marked ``@rnnlab.hookimpl``
whose names match the specs below, exposed through the ``rnnlab`` entry-point
group. rnnlab's own cells, datasets, optimizers, trackers and commands are plugins of
exactly this kind (see ``rnnlab.builtins``); so is its MLflow support
(``rnnlab.mlflow_plugin``), which the core reaches only through these hooks.

Registration hooks receive a ``register(name, obj, config=None)`` callback.
``config`` is a dataclass whose fields are the user-facing options (with
defaults and types); rnnlab stores it as the Hydra config node
``<group>/<name>``, so ``cell=<name> cell.<option>=...`` works with no YAML.

Lifecycle hooks receive the ``Run`` (``rnnlab.plugins.run.Run``):
its ``config`` (the composed config as a plain dict), ``run_dir``, ``name``,
``tags`` and ``meta`` (a JSON-able dict saved in every checkpoint and restored
on resume, where a tracker keeps e.g. its remote run id). Trackers implement
them; any other plugin may too (a callback). Sweep hooks receive the ``Sweep``
(``rnnlab.plugins.sweep_context.Sweep``) in the process that launches the jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from rnnlab.plugins.run import Run
    from rnnlab.plugins.sweep_context import Sweep

#: ``register(name, obj, config=None)``, handed to every registration hook
#: (``register(name, run, help="...")`` for commands)
Register = Callable[..., None]

hookspec = pluggy.HookspecMarker("rnnlab")
hookimpl = pluggy.HookimplMarker("rnnlab")


@hookspec
def register_cells(register: Register) -> None:
    """Register recurrent cells: ``register(name, cell_class, config=Dataclass)``.

    ``cell_class(input_size, hidden_size, rng, dtype, **options)`` must follow
    the cell contract (``rnnlab.nn.Cell``); ``options`` are the config
    dataclass's fields other than ``name``.
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets: ``register(name, build, config=Dataclass)``.

    ``build(config, seed)`` returns a ``rnnlab.data.Dataset``; ``config`` is
    the instantiated dataclass.
    """


@hookspec
def register_optimizers(register: Register) -> None:
    """Register optimizers: ``register(name, build, config=Dataclass)``.

    ``build(params, config)`` returns an object with ``step(grads)``,
    ``state_dict()`` and ``load_state_dict(state)`` (state: name -> ndarray), whose
    ``step`` uses its ``lr`` attribute (the learning-rate schedule sets it before each step).
    """


@hookspec
def register_schedules(register: Register) -> None:
    """Register learning-rate schedules: ``register(name, build, config=Dataclass)``.

    ``build(config, base_lr, total_steps)`` returns a ``rnnlab.nn.Schedule``: before each
    update the trainer sets the optimizer's ``lr`` to ``rate(step, epoch)``, and passes each
    validation loss to ``observe``; ``state_dict()`` (JSON-able) goes into checkpoints.
    """


@hookspec
def register_tasks(register: Register) -> None:
    """Register tasks: ``register(name, task_class)``.

    ``task_class()`` returns a ``rnnlab.tasks.Task`` (what a dataset's targets mean: loss,
    scored steps, metrics, state carry-over, ``bptt``, sampling); a dataset whose ``task``
    is ``name`` gets one.
    """


@hookspec
def register_trackers(register: Register) -> None:
    """Register trackers: ``register(name, tracker_class, config=Dataclass)``.

    ``tracker_class(run)`` is built at run start when its name is listed in
    ``tracking.trackers``; the instance is registered as a plugin for the
    run's duration, so its lifecycle hook methods (marked ``@hookimpl``) are called.
    A class that cannot be built, a marked method that is no hook, or none marked, fails
    the run before training with one line naming the plugin.

    ``config`` (optional) is a dataclass whose fields, each with a default, are the
    tracker's options under ``tracking.`` (``tracking.<field>=...``, read back from
    ``run.config["tracking"]``); they are part of the ``tracking`` schema whether or not the
    tracker is selected. Two trackers declaring the same option fail in one line.
    """


@hookspec
def register_commands(register: Register) -> None:
    """Register subcommands: ``register(name, run, help="one line")``.

    ``rnnlab <name> ARGS...`` calls ``run(args)`` with the list of arguments after the name
    (parse them with ``argparse``); raise ``rnnlab.errors.RnnlabError`` for a user's mistake
    (printed as one ``rnnlab: error:`` line, exit status 1). ``rnnlab --help`` and ``rnnlab
    plugins`` list every command with its help line.
    """


@hookspec
def on_sweep_start(sweep: Sweep) -> None:
    """An ``rnnlab -m`` sweep starts: called once, in the sweep's process, before any job.

    Set ``sweep.job_env[NAME] = value`` to give every job an environment variable (set in
    this process too, and in each job's ``hydra.job.env_set`` so jobs on other machines get
    it); keep state for the later sweep hooks in ``sweep.meta``. Raise
    ``rnnlab.errors.RnnlabError`` to stop the sweep before any job (one line, exit status 2).
    """


@hookspec
def on_sweep_end(sweep: Sweep) -> str | None:
    """Every job of the sweep has run (called in the sweep's process).

    Print a summary if the plugin has one. Return a one-line problem (e.g. "2 of 6 jobs did not
    finish: ...") to end the sweep with that error and exit status 1, or None. Should not raise.
    """


@hookspec
def on_sweep_interrupted(sweep: Sweep) -> None:
    """The sweep's process exits before its end (Ctrl-C, SIGTERM); should not raise."""


@hookspec
def on_sweep_job_failed(config: dict[str, Any], overrides: list[str], error: str) -> None:
    """A job of a sweep failed (before or while training; in the job's own process).

    ``config`` is the job's composed config as plain dicts/lists, ``overrides`` its overrides
    (``["cell=gru", "optimizer.lr=0.1"]``), ``error`` one line. Called after the core has
    counted the failure (the sweep exits with status 1 at its end); an exception is ignored.
    """


@hookspec(firstresult=True)
def find_run_dir(reference: str) -> Path | None:
    """The run directory that ``reference`` names, for ``resume=``, ``rnnlab sample`` and
    ``rnnlab evaluate`` given something that is not a directory (e.g. a tracker's run id);
    None if the plugin does not recognise it. The first answer that is not None wins; raise
    ``rnnlab.errors.RnnlabError`` for a reference it recognises but cannot resolve.
    """


@hookspec
def run_reference_help() -> str | None:
    """What ``find_run_dir`` of this plugin accepts, for the error about an unknown reference,
    e.g. "an MLflow run id (the 32-character id shown in mlflow ui)"."""


@hookspec
def on_run_start(run: Run) -> None:
    """The run begins (or resumes: ``run.resumed_from_step`` is then > 0).

    A resume in a copy of another run's directory has ``run.copied_from`` set (that run's
    ``meta``) and a ``meta`` without its tracker ids: a tracker starts a new record there.
    """


@hookspec
def on_metrics(run: Run, step: int, metrics: dict[str, float]) -> None:
    """A batch of metrics at training step ``step``: ``{"train/loss": 1.2, ...}``.

    Names are ``/``-grouped (``train/``, ``val/``, ``test/``, ``grad/``,
    ``speed/``); values are floats.
    """


@hookspec
def on_evaluation(run: Run, step: int, split: str, metrics: dict[str, float]) -> None:
    """An evaluation on ``split`` ("val" or "test") finished at ``step``."""


@hookspec
def on_artifact(run: Run, path: Path, artifact_path: str) -> None:
    """A file ``path`` inside ``run.run_dir`` is ready to keep under the folder
    ``artifact_path`` ("config", "plots", or what a tracker gave ``run.add_artifact``)."""


@hookspec
def on_checkpoint(run: Run, step: int, path: Path, best: bool) -> None:
    """A checkpoint was written atomically to ``path``; ``best`` by validation loss."""


@hookspec
def on_offline_evaluation(run: Run, step: int, metrics: dict[str, float]) -> None:
    """``rnnlab evaluate`` scored the checkpoint of an ended run (trained to ``step``) on other
    data; ``metrics`` are named ``eval/<data>/<metric>`` (``eval/hamlet.txt/bpc``). ``run`` is
    rebuilt from the run directory, with the ``meta`` of the checkpoint."""


@hookspec
def on_run_end(run: Run, status: str, error: str | None) -> None:
    """The run ended; ``status`` is FINISHED, FAILED or KILLED; ``error`` a message or None."""
