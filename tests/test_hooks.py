"""Every hook in the contract, exercised through a real run of the installed command.

A recorder plugin (a tracker and a registration plugin) is installed as a
distribution on PYTHONPATH; it appends each hook call to a JSON-lines file.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from rnnlab.plugins import hookspecs
from tests_support import REPO, rnnlab_command

RECORDER = """
import json, os, signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab import hookimpl
from rnnlab.config import CellConfig, DataConfig, OptimizerConfig, ScheduleConfig
from rnnlab.nn.rnn import RNNCell
from rnnlab.nn.optim import SGD
from rnnlab.nn.schedules import Schedule
from rnnlab.tasks import Classification

LOG = os.environ["RECORDER_LOG"]


def record(hook, **fields):
    with open(LOG, "a") as f:
        f.write(json.dumps({"hook": hook, **fields}) + "\\n")


@dataclass
class EchoCellConfig(CellConfig):
    nonlinearity: str = "relu"


def build_tiny(config, seed):
    from rnnlab.builtins.datasets import build_difference
    record("build_tiny", seed=seed)
    dataset = build_difference(config, seed)
    dataset.task = "recorded_classify"
    return dataset


class RecordedClassify(Classification):
    def metrics(self, split, sums):
        record("task_metrics", split=split, count=sums["count"])
        return super().metrics(split, sums)


@dataclass
class TinyConfig(DataConfig):
    train_size: int = 256
    val_size: int = 64
    test_size: int = 64


@dataclass
class PlainSGDConfig(OptimizerConfig):
    pass


def build_plain_sgd(params, config):
    record("build_plain_sgd", lr=config.lr)
    return SGD(params, lr=config.lr)


@dataclass
class HalvingConfig(ScheduleConfig):
    every: int = 10


class Halving(Schedule):
    def __init__(self, base_lr, total_steps, every):
        super().__init__(base_lr, total_steps)
        self.every = every

    def rate(self, step, epoch):
        return self.base_lr * 0.5 ** (step // self.every)


def build_halving(config, base_lr, total_steps):
    record("build_halving", base_lr=base_lr, total_steps=total_steps, every=config.every)
    return Halving(base_lr, total_steps, config.every)


class Recorder:
    def __init__(self, run):
        self.run = run

    @hookimpl
    def on_run_start(self, run):
        record(
            "on_run_start",
            name=run.name,
            run_dir=str(run.run_dir),
            sweep_env=os.environ.get("RECORDER_SWEEP"),
        )
        if os.environ.get("RECORDER_INTERRUPT"):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, in the sweep's process

    @hookimpl
    def on_metrics(self, run, step, metrics):
        record("on_metrics", step=step, keys=sorted(metrics))

    @hookimpl
    def on_evaluation(self, run, step, split, metrics):
        record("on_evaluation", step=step, split=split, keys=sorted(metrics))

    @hookimpl
    def on_artifact(self, run, path, artifact_path):
        record("on_artifact", path=str(path), artifact_path=artifact_path)

    @hookimpl
    def on_checkpoint(self, run, step, path, best):
        record("on_checkpoint", step=step, path=str(path), best=best)

    @hookimpl
    def on_run_end(self, run, status, error):
        record("on_run_end", status=status, error=error)

    @hookimpl
    def on_offline_evaluation(self, run, step, metrics):
        record("on_offline_evaluation", run_dir=str(run.run_dir), step=step, metrics=metrics)


@hookimpl
def register_cells(register):
    register("echo_rnn", RNNCell, config=EchoCellConfig)


@hookimpl
def register_datasets(register):
    register("tiny", build_tiny, config=TinyConfig)


@hookimpl
def register_optimizers(register):
    register("plain_sgd", build_plain_sgd, config=PlainSGDConfig)


@hookimpl
def register_schedules(register):
    register("halving", build_halving, config=HalvingConfig)


@hookimpl
def register_tasks(register):
    register("recorded_classify", RecordedClassify)


@hookimpl
def register_trackers(register):
    register("recorder", Recorder)


def recorded_command(argv):
    record("recorded_command", argv=argv)


@hookimpl
def register_commands(register):
    register("recorded", recorded_command, help="ARGS: record the arguments")


@hookimpl
def on_sweep_start(sweep):
    record(
        "on_sweep_start",
        sweep_dir=str(sweep.sweep_dir),
        overrides=sweep.overrides,
        trackers=sweep.config["tracking"]["trackers"],
    )
    sweep.job_env["RECORDER_SWEEP"] = "from on_sweep_start"
    sweep.meta["recorder"] = "kept"


@hookimpl
def on_sweep_end(sweep):
    record("on_sweep_end", sweep_dir=str(sweep.sweep_dir), meta=sweep.meta["recorder"])
    return "the recorder fails this sweep"


@hookimpl
def on_sweep_interrupted(sweep):
    record("on_sweep_interrupted", sweep_dir=str(sweep.sweep_dir))


@hookimpl
def on_sweep_job_failed(config, overrides, error):
    record("on_sweep_job_failed", cell=config["cell"]["name"], overrides=overrides, error=error)


@hookimpl
def find_run_dir(reference):
    if reference.startswith("recorded:"):
        record("find_run_dir", reference=reference)
        return Path(reference.removeprefix("recorded:"))
    return None


@hookimpl
def run_reference_help():
    return "a recorder reference (recorded:<run dir>)"
"""


#: a short job of the recorder's registrations, for sweeps
TINY_JOB = [
    "cell=echo_rnn",
    "data=tiny",
    "train.steps=4",
    "train.eval_every=2",
    "tracking.trackers=[metrics_file,recorder]",
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The hook calls of one short run with every recorder registration selected ("train"),
    then of ``rnnlab evaluate`` on its val split ("evaluate")."""
    root = tmp_path_factory.mktemp("recorder")
    site = root / "site"
    info = site / "rnnlab_recorder-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rnnlab-recorder\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[rnnlab]\nrecorder = recorder_plugin\n")
    (site / "recorder_plugin.py").write_text(textwrap.dedent(RECORDER))
    log = root / "calls.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "RECORDER_LOG": str(log),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db",
    }

    def run(*args: str, status: int = 0, **extra_env: str) -> list[dict]:
        """Run ``rnnlab *args``; the calls it recorded (the process as ``calls[0]["proc"]``)."""
        log.unlink(missing_ok=True)
        proc = subprocess.run(
            [rnnlab_command(), *args],
            cwd=root,
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == status, proc.stderr
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return [{"hook": "process", "proc": proc}, *calls]

    train = run(
        "cell=echo_rnn",
        "data=tiny",
        "optimizer=plain_sgd",
        "optimizer.lr=0.3",
        "schedule=halving",
        "train.steps=20",
        "train.eval_every=10",
        "train.log_every=5",
        "train.batch_size=16",
        "tracking.trackers=[metrics_file,recorder]",
    )
    run_dir = next(c["run_dir"] for c in train if c["hook"] == "on_run_start")
    return {
        "train": train,
        "evaluate": run("evaluate", f"recorded:{run_dir}", "--split", "val"),
        "command": run("recorded", "a", "--b"),
        "help": run("--help"),
        "unknown reference": run("sample", "nope", status=1),
        # the second job's learning rate is refused: it fails before its run starts
        "sweep": run("-m", "optimizer.lr=0.1,-2", *TINY_JOB, status=1),
        "interrupted": run("-m", *TINY_JOB, status=130, RECORDER_INTERRUPT="1"),
    }


@pytest.fixture(scope="module")
def calls(recorded):
    return recorded["train"]


def of(calls, hook):
    return [c for c in calls if c["hook"] == hook]


def test_hook_register_cells(calls):
    assert of(calls, "on_run_start")[0]["name"] == (
        "echo_rnn tiny plain_sgd lr=0.3 halving steps=20 batch_size=16"
    )


def test_hook_register_datasets(calls):
    assert of(calls, "build_tiny") == [{"hook": "build_tiny", "seed": 0}]


def test_hook_register_tasks(calls):
    # the dataset names the task; its metrics score every evaluation: val (64) twice, test
    evaluations = [(c["split"], c["count"]) for c in of(calls, "task_metrics")]
    assert evaluations == [("val", 64), ("val", 64), ("test", 64)]


def test_hook_register_optimizers(calls):
    # built four times: twice by the contract check (an instance and the twin its state is
    # loaded into), over a probe array for the memory estimate, then over the model
    assert of(calls, "build_plain_sgd") == [{"hook": "build_plain_sgd", "lr": 0.3}] * 4


def test_hook_register_schedules(calls):
    built = {"hook": "build_halving", "base_lr": 0.3, "total_steps": 20, "every": 10}
    assert of(calls, "build_halving") == [built]
    run_dir = Path(of(calls, "on_run_start")[0]["run_dir"])
    rates = {
        rec["step"]: rec["metrics"]["lr"]
        for rec in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
        if "lr" in rec["metrics"]
    }
    assert rates == {5: 0.3, 10: 0.3, 15: 0.15, 20: 0.15}


def test_hook_register_trackers(calls):
    hooks = [c["hook"] for c in calls]
    # data, model and optimizer are built before a tracker starts: a start that fails there
    # leaves no record
    assert hooks.index("build_tiny") < hooks.index("build_plain_sgd") < hooks.index("on_run_start")


def test_hook_on_run_start(calls):
    [start] = of(calls, "on_run_start")
    assert Path(start["run_dir"]).is_dir()
    assert calls.index(start) < min(calls.index(c) for c in of(calls, "on_metrics"))


def test_hook_on_metrics(calls):
    metrics = of(calls, "on_metrics")
    assert [c["step"] for c in metrics] == [0, 5, 10, 15, 20]
    assert all(k.startswith("data/") for k in metrics[0]["keys"])
    assert {"train/loss", "train/acc", "grad/norm", "grad/norm_clipped", "lr"} <= set(
        metrics[1]["keys"]
    )


def test_hook_on_evaluation(calls):
    evals = [(c["step"], c["split"]) for c in of(calls, "on_evaluation")]
    assert evals == [(10, "val"), (20, "val"), (20, "test")]
    assert "val/acc" in of(calls, "on_evaluation")[0]["keys"]


def test_hook_on_artifact(calls):
    kept = {(Path(c["path"]).name, c["artifact_path"]) for c in of(calls, "on_artifact")}
    assert {("config.yaml", "config"), ("curves.png", "plots")} <= kept


def test_hook_on_checkpoint(calls):
    ckpts = of(calls, "on_checkpoint")
    assert {c["step"] for c in ckpts} == {10, 20}
    assert all(Path(c["path"]).is_file() for c in ckpts)
    assert any(c["best"] for c in ckpts)


def test_hook_on_run_end(calls):
    assert of(calls, "on_run_end") == [{"hook": "on_run_end", "status": "FINISHED", "error": None}]
    assert calls[-1]["hook"] == "on_run_end"


def test_hook_on_offline_evaluation(recorded):
    train, evaluate = recorded["train"], recorded["evaluate"]
    [evaluation] = of(evaluate, "on_offline_evaluation")
    assert evaluation["run_dir"] == of(train, "on_run_start")[0]["run_dir"]
    best = [c["step"] for c in of(train, "on_checkpoint") if c["best"]][-1]
    assert evaluation["step"] == best
    assert sorted(evaluation["metrics"]) == ["eval/val/acc", "eval/val/loss"]
    lifecycle = {"on_run_start", "on_metrics", "on_evaluation", "on_checkpoint", "on_run_end"}
    assert not lifecycle & {c["hook"] for c in evaluate}  # the ended run is not reopened


def _hookspec_names():
    return sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "rnnlab_spec"))


def test_every_hookspec_has_a_test_and_a_documentation_section():
    tests = set()
    for path in (REPO / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text())
        tests |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    readme = (REPO / "README.md").read_text()
    for name in _hookspec_names():
        assert f"test_hook_{name}" in tests, f"hook {name} has no test_hook_{name}"
        assert f"#### `{name}" in readme, f"hook {name} has no section in README.md"


def test_hook_register_commands(recorded):
    assert of(recorded["command"], "recorded_command") == [
        {"hook": "recorded_command", "argv": ["a", "--b"]}
    ]
    assert "rnnlab recorded  ARGS: record the arguments" in recorded["help"][0]["proc"].stdout


def test_hook_find_run_dir(recorded):
    """``rnnlab evaluate recorded:<run dir>`` found its run through the recorder's hook."""
    train, evaluate = recorded["train"], recorded["evaluate"]
    run_dir = of(train, "on_run_start")[0]["run_dir"]
    assert of(evaluate, "find_run_dir") == [
        {"hook": "find_run_dir", "reference": f"recorded:{run_dir}"}
    ]
    assert of(evaluate, "on_offline_evaluation")[0]["run_dir"] == run_dir


def test_hook_run_reference_help(recorded):
    stderr = recorded["unknown reference"][0]["proc"].stderr
    assert stderr.strip().splitlines() == [
        "rnnlab: error: 'nope' is neither a run directory nor a recorder reference "
        "(recorded:<run dir>) nor an MLflow run id (the 32-character id shown in mlflow ui); "
        "give a path under outputs/ or one of those"
    ]


def test_hook_on_sweep_start(recorded):
    sweep = recorded["sweep"]
    [start] = of(sweep, "on_sweep_start")
    assert start["overrides"] == ["optimizer.lr=0.1,-2", *TINY_JOB]
    assert start["trackers"] == ["metrics_file", "recorder"]
    assert sweep.index(start) < sweep.index(of(sweep, "on_run_start")[0])
    # the job got the variable the hook handed to it
    assert [c["sweep_env"] for c in of(sweep, "on_run_start")] == ["from on_sweep_start"]


def test_hook_on_sweep_job_failed(recorded):
    [failed] = of(recorded["sweep"], "on_sweep_job_failed")
    assert failed["cell"] == "echo_rnn"
    assert failed["overrides"][0] == "optimizer.lr=-2"
    assert "optimizer.lr=-2.0 is not allowed" in failed["error"]


def test_hook_on_sweep_end(recorded):
    sweep = recorded["sweep"]
    [start], [end] = of(sweep, "on_sweep_start"), of(sweep, "on_sweep_end")
    assert end == {"hook": "on_sweep_end", "sweep_dir": start["sweep_dir"], "meta": "kept"}
    assert sweep[-1] == end
    # its problem ends the sweep with status 1 (asserted by the fixture) and this line
    lines = sweep[0]["proc"].stderr.strip().splitlines()
    assert lines[-1] == "rnnlab: error: the recorder fails this sweep"


def test_hook_on_sweep_interrupted(recorded):
    calls = recorded["interrupted"]
    [start], [interrupted] = of(calls, "on_sweep_start"), of(calls, "on_sweep_interrupted")
    assert interrupted["sweep_dir"] == start["sweep_dir"]
    assert not of(calls, "on_sweep_end")
