"""The installed ``rnnlab`` command against the bare engine loop, and the command's start-up.

- ``rnnlab --help``: wall time of the console script, and whether it imports
  mlflow (``PYTHONPROFILEIMPORTTIME=1``, the environment form of ``-X importtime``).
- Training: ``rnnlab cell=lstm data=chars ...`` in a temporary directory (its own
  MLflow sqlite store and outputs/), with the default trackers (metrics file and
  MLflow) at the default logging interval. It runs through a thin wrapper
  (``python -m benchmarks.end_to_end --child``) that loads the same console entry
  point and records, around the runner's ``Trainer.train_step`` and
  ``Trainer.evaluate_and_checkpoint``, when each step and evaluation started and
  ended (a few microseconds per step). From that:

  * start-up: from spawning the process to the start of the first training step;
  * ``speed/chars_per_s``: the runner's own metric (train_step time only), the
    median over its logging intervals after the first, read from metrics.jsonl;
  * loop chars/s: wall time from the first step's start to the last step's end,
    less the evaluations and checkpoints in between, so logging, MLflow calls and
    progress output all count;
  * the median step: chars per second of the median ``train_step`` call.

- The bare engine: the same model, data (the chars dataset's train split),
  batch, bptt and thread count, stepped in a plain loop in this process, half
  before and half after the command runs.
- What a user gets (``user_level``): ``rnnlab cell=<c> data=chars`` with every
  default (threads included) against the same model in PyTorch with PyTorch's
  default thread count, stepped in this process half before and half after.

The commands run the installed ``rnnlab`` (``pip install .`` or ``-e .``); the
timing wrapper is started by its file path in isolated mode (``python -I``), so
that neither the repository's source tree (whose ``conf/`` ships as
``rnnlab.conf`` only when installed) nor the benchmark modules are on the
children's path.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEED_METRIC = "speed/chars_per_s"
BATCH, BPTT = 32, 64
CHARS_PER_STEP = BATCH * BPTT


def console_script() -> str | None:
    """Path of the installed ``rnnlab`` script: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "rnnlab"
    return str(beside) if beside.is_file() else shutil.which("rnnlab")


def child_env() -> dict[str, str]:
    """This environment without MLflow's variables (so that its defaults apply)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}


def help_timing(script: str, repeats: int) -> dict:
    """Median wall seconds of ``rnnlab --help``, and the heavy modules it imports."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([script, "--help"], capture_output=True, check=True, env=child_env())
        times.append(time.perf_counter() - start)
    profile = subprocess.run(
        [script, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(child_env(), PYTHONPROFILEIMPORTTIME="1"),
    )
    modules = [
        line.rsplit("|", 1)[1].strip()
        for line in profile.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    heavy = {
        name: any(m == name or m.startswith(name + ".") for m in modules)
        for name in ("mlflow", "torch", "rnnlab.runner", "matplotlib")
    }
    return {"help_s": statistics.median(times), "modules": len(modules), "imports": heavy}


def run_command(overrides: list[str], workdir: Path) -> dict:
    """Train with the installed command via the timing wrapper; timings and the speed metric."""
    timing_file = workdir / "timing.json"
    spawned = time.time()
    proc = subprocess.run(
        [sys.executable, "-I", __file__, "--child", str(timing_file), *overrides],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=child_env(),
    )
    if proc.returncode != 0 or not timing_file.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(
            f"rnnlab {' '.join(overrides)} failed (exit {proc.returncode}): " + " | ".join(tail)
        )
    t = json.loads(timing_file.read_text())
    metrics_files = sorted(workdir.glob("outputs/**/metrics.jsonl"))
    speeds = [
        m[SPEED_METRIC]
        for line in metrics_files[-1].read_text().splitlines()
        if SPEED_METRIC in (m := json.loads(line)["metrics"])
    ]
    starts, ends = t["step_starts"], t["step_ends"]
    inside = sum(e - s for s, e in t["evaluations"] if starts[0] <= s and e <= ends[-1])
    chars = CHARS_PER_STEP * len(starts)
    return {
        "startup_s": t["first_step_wall"] - spawned,
        "speed_metric": statistics.median(speeds[1:] or speeds),
        "speeds": speeds[1:] or speeds,
        "loop_chars_per_s": chars / (ends[-1] - starts[0] - inside),
        "step_median_chars_per_s": CHARS_PER_STEP
        / statistics.median(e - s for s, e in zip(starts, ends, strict=True)),
        "evaluations_in_loop": sum(1 for s, e in t["evaluations"] if e <= ends[-1]),
        "steps": len(starts),
        "overrides": " ".join(overrides),
    }


def user_level(cells: list[str], kernels, steps: int, torch_steps: int) -> list[dict]:
    """Per cell and kernel: ``rnnlab cell=<c> data=chars train.steps=<steps>`` (every other
    setting its default; ``cell.kernel=numba`` for that kernel) and the same model in PyTorch
    at its default thread count; chars/s of each."""
    import torch

    from benchmarks.torch_lm import TorchLM
    from benchmarks.workload import engine_shapes
    from rnnlab.data.chars import CharDataset

    data = CharDataset()
    results = []
    for shape in engine_shapes(
        cells, [128], kernels, vocab=data.vocab_size, batch=BATCH, steps=BPTT
    ):
        peer = TorchLM(shape, ids=data.splits["train"])
        times = timed_steps(peer.step, torch_steps // 2)
        kernel = [] if shape.kernel == "numpy" else [f"cell.kernel={shape.kernel}"]
        with tempfile.TemporaryDirectory(prefix="rnnlab-bench-") as tmp:
            run = run_command(
                [f"cell={shape.cell}", *kernel, "data=chars", f"train.steps={steps}"], Path(tmp)
            )
        times += timed_steps(peer.step, torch_steps - torch_steps // 2)
        speeds = sorted(run["speeds"])
        results.append(
            {
                "cell": shape.label,
                "overrides": " ".join(kernel),
                "rnnlab": run["speed_metric"],
                "rnnlab_range": (speeds[0], speeds[-1]),
                "torch": CHARS_PER_STEP / statistics.median(times),
                "torch_range": (CHARS_PER_STEP / max(times), CHARS_PER_STEP / min(times)),
                "torch_threads": torch.get_num_threads(),
            }
        )
    return results


def timed_steps(step, count: int) -> list[float]:
    """Seconds of each of ``count`` calls of ``step``, after one untimed call."""
    step()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def bare_engine(hidden: int, steps: int) -> list[float]:
    """Seconds of each of ``steps`` bare engine steps with the command's model and data."""
    from benchmarks.engine_lm import EngineLM
    from benchmarks.workload import Shape, threads
    from rnnlab.data.chars import CharDataset

    data = CharDataset()
    shape = Shape("lstm", hidden, vocab=data.vocab_size, batch=BATCH, steps=BPTT)
    engine = EngineLM(shape, ids=data.splits["train"])
    with threads(1):
        return timed_steps(engine.step, steps)


def measure(steps: int, bare_steps: int, help_repeats: int, hidden: int = 128) -> dict:
    """Everything above; ``{"skipped": reason}`` when the command cannot train."""
    script = console_script()
    if script is None:
        return {"skipped": "no rnnlab console script found (pip install -e . first)"}
    result = help_timing(script, help_repeats)
    bare = bare_engine(hidden, bare_steps // 2)
    with tempfile.TemporaryDirectory(prefix="rnnlab-bench-") as tmp:
        try:
            overrides = [
                "cell=lstm",
                "data=chars",
                f"model.hidden_size={hidden}",
                f"bptt={BPTT}",
                f"train.batch_size={BATCH}",
                f"train.steps={steps}",
                "threads=1",
            ]
            result.update(run_command(overrides, Path(tmp)))
        except (RuntimeError, IndexError, KeyError, ValueError) as exc:
            result["skipped"] = f"rnnlab could not train here: {exc}"
            return result
    bare += bare_engine(hidden, bare_steps - bare_steps // 2)
    result["bare_median_chars_per_s"] = CHARS_PER_STEP / statistics.median(bare)
    result["bare_loop_chars_per_s"] = CHARS_PER_STEP * len(bare) / sum(bare)
    return result


def child(timing_file: str, overrides: list[str]) -> None:
    """Run the installed ``rnnlab`` entry point with timing around the trainer's methods."""
    from importlib.metadata import entry_points

    from rnnlab.runner.trainer import Trainer

    timing = {"step_starts": [], "step_ends": [], "evaluations": []}
    train_step, evaluate = Trainer.train_step, Trainer.evaluate_and_checkpoint

    def timed_step(self):
        if not timing["step_starts"]:
            timing["first_step_wall"] = time.time()
        timing["step_starts"].append(time.perf_counter())
        train_step(self)
        timing["step_ends"].append(time.perf_counter())

    def timed_evaluation(self):
        start = time.perf_counter()
        try:
            return evaluate(self)
        finally:
            timing["evaluations"].append((start, time.perf_counter()))

    Trainer.train_step, Trainer.evaluate_and_checkpoint = timed_step, timed_evaluation
    (main,) = entry_points(group="console_scripts", name="rnnlab")
    sys.argv = ["rnnlab", *overrides]
    try:
        main.load()()
    finally:
        if timing["step_starts"]:
            Path(timing_file).write_text(json.dumps(timing))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3:])
    else:
        print(json.dumps(measure(steps=100, bare_steps=60, help_repeats=3), indent=1))
