"""The benchmark suite in one command: rnnlab's engine against PyTorch on a char-LM training step.

    python -m benchmarks.run            # full: H = 128, 256, 512 (several minutes)
    python -m benchmarks.run --quick    # smoke run: H = 128, fewer repeats (under 3 minutes)

Markdown tables go to stdout, each as soon as it is measured (a section that
fails prints its error and the run goes on), progress to stderr. Ratios are
measured in one process, the contenders interleaved step by step; nothing here
asserts a target.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from threadpoolctl import threadpool_info

from benchmarks import end_to_end, memory
from benchmarks.cell_only import EngineCell, TorchCell
from benchmarks.engine_lm import EngineLM
from benchmarks.flops import gemm_rate, step_gemm_flops
from benchmarks.markdown import mark, table
from benchmarks.seed_lm import SEED_CLASSES
from benchmarks.torch_lm import TorchLM
from benchmarks.workload import CELLS, Shape, engine_shapes, interleaved, threads

#: the issue's targets: engine / torch per cell, engine / seed, GEMM-bound fraction at H=512,
#: memory, the command's loop against the bare engine, rnnlab's defaults against torch's
TORCH_TARGET = {"lstm": 1.0, "gru": 1.4, "rnn": 1.8}
SEED_TARGET, GEMM_TARGET, MEMORY_TARGET, LOOP_TARGET, USER_TARGET = 3.0, 0.75, 1.5, 0.95, 1.0
SECTIONS = ("user", "gemm", "cell", "speed", "minchar", "memory", "e2e")
#: with several threads, the pause before each timed step: OpenBLAS's idle workers spin for
#: about 2^28 cycles (~0.1 s) after a call and would take the cores from torch's next step
SETTLE_S = 0.25


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    blas = [
        f"{i['internal_api']} {i.get('version')} ({i.get('architecture', '?')} kernel, "
        f"{i['num_threads']} threads max)"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    env = (
        ", ".join(
            f"{k}={os.environ[k]}"
            for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
            if k in os.environ
        )
        or "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"- CPU: {model}, {os.cpu_count()} cores; Python {platform.python_version()}\n"
        f"- numpy {np.__version__}, BLAS: {'; '.join(blas)}; {env}\n"
        f"- torch {torch.__version__} (MKL / oneDNN), {torch.get_num_threads()} threads max\n"
        f"- load average at start (1, 5, 15 min): {load}"
    )


def emit(title: str, text: str) -> None:
    """Print one section's markdown now, so that a later failure loses nothing measured."""
    print(f"### {title}\n\n{text}\n", flush=True)


def user_section(cells, kernels, steps: int, torch_steps: int) -> str:
    """``rnnlab cell=<c> data=chars`` with its defaults against PyTorch with its defaults."""
    log("user level: rnnlab cell=<c> data=chars with its defaults, PyTorch with its defaults")
    rows = []
    for r in end_to_end.user_level(cells, kernels, steps, torch_steps):
        lo, hi = r["rnnlab_range"]
        tlo, thi = r["torch_range"]
        rows.append(
            [
                r["cell"],
                f"`{r['overrides']}`" if r["overrides"] else "none (the defaults)",
                f"{r['rnnlab']:,.0f} ({lo:,.0f}-{hi:,.0f})",
                f"{r['torch']:,.0f} ({tlo:,.0f}-{thi:,.0f})",
                r["torch_threads"],
                mark(r["rnnlab"] / r["torch"], USER_TARGET),
            ]
        )
    return (
        f"`rnnlab cell=<c> data=chars train.steps={steps}` (every other setting its default: "
        f"H=128, N=32, bptt=64, Adagrad, threads = the {os.cpu_count()} cores): its "
        "`speed/chars_per_s`, median (range) over its logging intervals. PyTorch: the same "
        f"model on the same data at its default thread count, {torch_steps} steps, median "
        "(range of single steps), half before and half after the command.\n\n"
        + table(
            [
                "cell",
                "rnnlab overrides",
                "rnnlab, chars/s",
                "PyTorch default, chars/s",
                "torch threads",
                "rnnlab / PyTorch (target)",
            ],
            rows,
        )
    )


def gemm_section(repeats: int, thread_counts) -> tuple[str, dict[int, float]]:
    """The float32 GEMM rate of numpy's OpenBLAS and torch's MKL per thread count."""
    rows, peaks = [], {}
    for count in thread_counts:
        log(f"gemm rate: {count} thread(s)")
        rates = gemm_rate(repeats=repeats, count=count)
        peaks[count] = rates["numpy"]
        clock = "CPU time" if count == 1 else "wall time"
        rows.append([count, clock, rates["numpy"], rates["torch"]])
    text = table(
        [
            "float32 GEMM 2048^3, threads",
            "timed in",
            "numpy (OpenBLAS: the engine) GFLOP/s",
            "torch (MKL: its GRU, RNN, head) GFLOP/s",
        ],
        rows,
    )
    return text, peaks


def speed_tables(cells, kernels, hiddens, count, repeats, warmup, peak) -> list[tuple[str, str]]:
    """At ``count`` threads, for every (cell, kernel, H): the engine's step against its
    GEMM-bound time, against torch, and (1 thread) against the seed-style floor."""
    limit, vs_torch, vs_seed = [], [], []
    for shape in engine_shapes(cells, hiddens, kernels):
        cell, hidden = shape.cell, shape.hidden
        contenders = {"engine": EngineLM(shape).step, "torch": TorchLM(shape).step}
        if count == 1:
            contenders["seed"] = SEED_CLASSES[cell](shape).step
        log(f"speed: {shape.label} H={hidden} threads={count}")
        with threads(count, shape.kernel):
            timings = interleaved(
                contenders, repeats, warmup, settle=SETTLE_S if count > 1 else 0.0
            )
        # on 1 thread the calling thread's CPU time is the step's cost; on more it misses
        # the other threads', so wall time
        step = {k: t.cpu_median if count == 1 else t.median for k, t in timings.items()}
        rate = {k: shape.chars_per_step / s for k, s in step.items()}
        bound = step_gemm_flops(shape) / (peak * 1e9)
        fraction = bound / step["engine"]
        limit.append(
            [
                shape.label,
                hidden,
                step["engine"] * 1e3,
                bound * 1e3,
                mark(fraction, GEMM_TARGET, pct=True) if hidden == 512 else f"{fraction:.0%}",
                step_gemm_flops(shape) / step["engine"] / 1e9,
            ]
        )
        spread = max(timings["engine"].spread, timings["torch"].spread)
        vs_torch.append(
            [
                shape.label,
                hidden,
                rate["engine"],
                rate["torch"],
                mark(step["torch"] / step["engine"], TORCH_TARGET[cell]),
                f"{timings['torch'].best / timings['engine'].best:.2f}x",
                f"{spread:.0%}",
            ]
        )
        if "seed" in rate:
            vs_seed.append(
                [
                    shape.label,
                    hidden,
                    rate["engine"],
                    rate["seed"],
                    mark(step["seed"] / step["engine"], SEED_TARGET),
                    mark(timings["seed"].median / timings["engine"].median, SEED_TARGET),
                ]
            )
    clock = "CPU time" if count == 1 else "wall time"
    tables = [
        (
            f"Engine vs the machine's GEMM rate, {count} thread(s) ({clock})",
            table(
                [
                    "cell",
                    "H",
                    "engine step ms",
                    f"GEMM-bound ms (its GEMM flops at {peak:.0f} GFLOP/s)",
                    f"GEMM-bound / step (target at H=512: {GEMM_TARGET:.0%})",
                    "engine GEMM GFLOP/s",
                ],
                limit,
            ),
        ),
        (
            f"Engine vs PyTorch, {count} thread(s) ({clock})",
            table(
                [
                    "cell",
                    "H",
                    "engine chars/s",
                    "torch chars/s",
                    "engine / torch (target)",
                    "engine / torch, fastest steps (wall)",
                    "spread (IQR / median, wall, worse of two)",
                ],
                vs_torch,
            ),
        ),
    ]
    if vs_seed:
        tables.append(
            (
                "Engine vs the seed-style NumPy floor (1 thread)",
                table(
                    [
                        "cell",
                        "H",
                        "engine chars/s",
                        "seed-style chars/s",
                        "engine / seed, CPU time (target)",
                        "engine / seed, wall (target)",
                    ],
                    vs_seed,
                ),
            )
        )
    return tables


def cell_table(cells, kernels, hiddens, count, repeats, warmup) -> str:
    """One cell alone (forward and full backward over T=64, N=32, input 64): engine / torch."""
    rows = []
    for shape in engine_shapes(cells, hiddens, kernels):
        cell, hidden = shape.cell, shape.hidden
        log(f"cell alone: {shape.label} H={hidden} threads={count}")
        contenders = {"engine": EngineCell(shape).step, "torch": TorchCell(shape).step}
        with threads(count, shape.kernel):
            timings = interleaved(
                contenders, repeats, warmup, settle=SETTLE_S if count > 1 else 0.0
            )
        step = {k: t.cpu_median if count == 1 else t.median for k, t in timings.items()}
        spread = max(timings["engine"].spread, timings["torch"].spread)
        rows.append(
            [
                shape.label,
                hidden,
                step["engine"] * 1e3,
                step["torch"] * 1e3,
                mark(step["torch"] / step["engine"], TORCH_TARGET[cell]),
                f"{spread:.0%}",
            ]
        )
    clock = "CPU time" if count == 1 else "wall time"
    return table(
        [
            "cell",
            "H",
            f"engine ms ({clock})",
            f"torch ms ({clock})",
            "engine / torch (target)",
            "spread (wall)",
        ],
        rows,
    )


def minchar_section(repeats: int) -> str:
    """Karpathy's min-char-rnn shape: vanilla RNN, H=100, T=25, batch 1, 1 thread."""
    shape = Shape("rnn", 100, batch=1, steps=25)
    contenders = {
        "engine": EngineLM(shape).step,
        "torch": TorchLM(shape).step,
        "seed": SEED_CLASSES["rnn"](shape).step,
    }
    log("speed: min-char-rnn shape")
    with threads(1):
        secs = {k: t.median for k, t in interleaved(contenders, repeats, warmup=5).items()}
    return table(
        ["min-char-rnn shape (rnn, H=100, T=25, N=1, 1 thread)", "chars/s", "engine / this"],
        [
            [name, shape.chars_per_step / s, f"{s / secs['engine']:.2f}x"]
            for name, s in secs.items()
        ],
    )


def memory_section(cells) -> str:
    rows = []
    for cell in cells:
        shape = Shape(cell, 512)
        need = memory.must_hold_bytes(shape)
        for framework in ("engine", "torch"):
            log(f"memory: {cell} {framework}")
            got = memory.measure(shape, framework)
            mb = memory.MB
            traced = (
                f"{got['traced_peak'] / mb:.1f} ({got['traced_peak'] / need['total']:.2f}x)"
                if framework == "engine"
                else "n/a"
            )
            rows.append(
                [
                    cell,
                    framework,
                    need["params"] / mb,
                    need["bptt_cache"] / mb,
                    need["total"] / mb,
                    f"{got['engine_cache'] / mb:.1f}" if "engine_cache" in got else "n/a",
                    got["rss_growth"] / mb,
                    mark(got["rss_growth"] / need["total"], MEMORY_TARGET, False),
                    traced,
                ]
            )
    return table(
        [
            "cell (H=512)",
            "framework",
            "params MB (x3 with grads, Adagrad)",
            "BPTT cache MB",
            "must hold MB",
            "engine's cache MB",
            "peak RSS growth MB",
            "RSS / must hold (target)",
            "tracemalloc peak MB",
        ],
        rows,
    )


def e2e_section(steps: int, bare_steps: int, help_repeats: int) -> str:
    log("end to end: rnnlab --help and a training run")
    r = end_to_end.measure(steps, bare_steps, help_repeats)
    lines = []
    if "help_s" in r:
        imported = ", ".join(k for k, v in r["imports"].items() if v) or "none"
        lines.append(
            f"- `rnnlab --help`: {r['help_s']:.2f} s wall, {r['modules']} modules "
            f"imported; of mlflow, torch, rnnlab.runner, matplotlib it imports: "
            f"{imported}"
        )
    if "skipped" in r:
        return "\n".join([*lines, f"- training run SKIPPED: {r['skipped']}"])
    bare = r["bare_median_chars_per_s"]
    lines.append(
        f"- `rnnlab {r['overrides']}` (metrics file + MLflow sqlite, default "
        f"log interval; {r['evaluations_in_loop']} evaluation(s) inside the loop, "
        f"excluded): start to first training step {r['startup_s']:.2f} s"
    )
    rows = [
        [
            "rnnlab: speed/chars_per_s (median logged interval)",
            r["speed_metric"],
            mark(r["speed_metric"] / bare, LOOP_TARGET),
        ],
        [
            "rnnlab: median train_step",
            r["step_median_chars_per_s"],
            mark(r["step_median_chars_per_s"] / bare, LOOP_TARGET),
        ],
        [
            "rnnlab: whole loop (logging included, evaluations excluded)",
            r["loop_chars_per_s"],
            mark(r["loop_chars_per_s"] / r["bare_loop_chars_per_s"], LOOP_TARGET),
        ],
        ["bare engine: median step", bare, ""],
        ["bare engine: whole loop", r["bare_loop_chars_per_s"], ""],
    ]
    return (
        "\n".join(lines)
        + "\n\n"
        + table(["LSTM H=128, N=32, T=64, 1 thread", "chars/s", "/ bare (target)"], rows)
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="H=128 only, fewer repeats")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument(
        "--kernels",
        nargs="+",
        choices=("numpy", "numba"),
        default=["numpy", "numba"],
        help="the engine's kernels to measure (numba: the lstm's and gru's, cell.kernel=numba)",
    )
    parser.add_argument("--hidden", nargs="+", type=int, help="default 128 256 512 (quick: 128)")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--repeats", type=int, help="timed steps per contender (default 11; quick 5)"
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = parser.parse_args(argv)
    hiddens = args.hidden or ([128] if args.quick else [128, 256, 512])
    repeats = args.repeats or (5 if args.quick else 11)
    warmup = 2 if args.quick else 3
    started = time.perf_counter()
    emit("Machine", machine())
    peaks: dict[int, float] = {}

    def section(name: str, measure) -> None:
        if name not in args.only:
            return
        try:
            for title, text in measure():
                emit(title, text)
        except Exception as exc:  # the run goes on: what is measured is already printed
            traceback.print_exc()
            emit(name, f"FAILED: {type(exc).__name__}: {exc}")

    def gemm():
        text, rates = gemm_section(3 if args.quick else 7, sorted(set(args.threads) | {1}))
        peaks.update(rates)
        return [("GEMM rate", text)]

    section(
        "user",
        lambda: [
            (
                "What a user gets: rnnlab's defaults vs PyTorch's",
                user_section(
                    args.cells,
                    args.kernels,
                    100 if args.quick else 300,
                    20 if args.quick else 60,
                ),
            )
        ],
    )
    if "gemm" in args.only or "speed" in args.only:
        section("gemm" if "gemm" in args.only else "speed", gemm)
    section(
        "cell",
        lambda: [
            (
                f"One cell alone, {n} thread(s)",
                cell_table(args.cells, args.kernels, hiddens, n, repeats, warmup),
            )
            for n in args.threads
        ],
    )
    section(
        "speed",
        lambda: [
            t
            for n in args.threads
            for t in speed_tables(args.cells, args.kernels, hiddens, n, repeats, warmup, peaks[n])
        ],
    )
    section(
        "minchar", lambda: [("Batch 1 (min-char-rnn)", minchar_section(20 if args.quick else 60))]
    )
    section(
        "memory",
        lambda: [("Peak memory, H=512", memory_section(["lstm"] if args.quick else args.cells))],
    )
    section(
        "e2e",
        lambda: [
            (
                "The rnnlab command vs the bare engine",
                e2e_section(*((100, 60, 3) if args.quick else (500, 300, 5))),
            )
        ],
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    emit(
        "Run",
        f"{'quick' if args.quick else 'full'} run, {repeats} timed steps per contender, "
        f"{time.perf_counter() - started:.0f} s; load average at end: {load}",
    )


if __name__ == "__main__":
    main()
