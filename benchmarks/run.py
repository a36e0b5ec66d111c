"""The benchmark suite in one command: rnnlab's engine against PyTorch on a char-LM training step.

    python -m benchmarks.run            # full: H = 128, 256, 512 (several minutes)
    python -m benchmarks.run --quick    # smoke run: H = 128, fewer repeats (under 3 minutes)

Markdown tables go to stdout, progress to stderr. Ratios are measured in one
process, the contenders interleaved step by step; nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from threadpoolctl import threadpool_info

from benchmarks import end_to_end, memory
from benchmarks.engine_lm import EngineLM
from benchmarks.flops import gemm_rate, step_gemm_flops
from benchmarks.markdown import mark, table
from benchmarks.seed_lm import SEED_CLASSES
from benchmarks.torch_lm import TorchLM
from benchmarks.workload import CELLS, Shape, interleaved, threads

#: the issue's targets: engine / torch per cell, engine / seed, GEMM fraction, memory, loop
TORCH_TARGET = {"lstm": 1.0, "gru": 1.4, "rnn": 1.8}
SEED_TARGET, GEMM_TARGET, MEMORY_TARGET, LOOP_TARGET = 3.0, 0.70, 1.5, 0.95
SECTIONS = ("gemm", "speed", "minchar", "memory", "e2e")
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


def gemm_section(repeats: int) -> tuple[str, float]:
    rates = gemm_rate(repeats=repeats)
    text = table(
        ["float32 GEMM 2048^3, 1 thread", "GFLOP/s"],
        [["numpy (the engine's BLAS)", rates["numpy"]], ["torch (MKL)", rates["torch"]]],
    )
    return text, rates["numpy"]


def speed_section(cells, hiddens, thread_counts, repeats, warmup, gemm_peak):
    """Engine vs torch at every (threads, cell, H); with 1 thread the seed joins the rotation."""
    vs_torch, vs_seed = [], []
    for count in thread_counts:
        for cell in cells:
            for hidden in hiddens:
                shape = Shape(cell, hidden)
                contenders = {"engine": EngineLM(shape).step, "torch": TorchLM(shape).step}
                if count == 1:
                    contenders["seed"] = SEED_CLASSES[cell](shape).step
                log(f"speed: {cell} H={hidden} threads={count}")
                with threads(count):
                    timings = interleaved(
                        contenders, repeats, warmup, settle=SETTLE_S if count > 1 else 0.0
                    )
                secs = {k: t.median for k, t in timings.items()}
                rate = {k: shape.chars_per_step / s for k, s in secs.items()}
                ratio = secs["torch"] / secs["engine"]
                spread = max(timings["engine"].spread, timings["torch"].spread)
                best_ratio = timings["torch"].best / timings["engine"].best
                cpu = {k: t.cpu_median for k, t in timings.items()}
                # thread CPU time misses the worker threads' time with more than one thread
                cpu_ratio = (
                    mark(cpu["torch"] / cpu["engine"], TORCH_TARGET[cell]) if count == 1 else "n/a"
                )
                vs_torch.append(
                    [
                        cell,
                        hidden,
                        count,
                        rate["engine"],
                        rate["torch"],
                        mark(ratio, TORCH_TARGET[cell]),
                        f"{spread:.0%}",
                        f"{best_ratio:.2f}x",
                        cpu_ratio,
                    ]
                )
                if "seed" in rate:
                    gflops = step_gemm_flops(shape) / cpu["engine"] / 1e9
                    vs_seed.append(
                        [
                            cell,
                            hidden,
                            rate["engine"],
                            rate["seed"],
                            mark(secs["seed"] / secs["engine"], SEED_TARGET),
                            mark(cpu["seed"] / cpu["engine"], SEED_TARGET),
                            gflops,
                            f"{gflops / gemm_peak:.0%}",
                        ]
                    )
    torch_table = table(
        [
            "cell",
            "H",
            "threads",
            "engine chars/s",
            "torch chars/s",
            "engine / torch (target)",
            "spread (IQR / median, worse of two)",
            "engine / torch, fastest steps",
            "engine / torch in CPU time (1 thread; target)",
        ],
        vs_torch,
    )
    seed_table = table(
        [
            "cell",
            "H",
            "engine chars/s",
            "seed-style chars/s",
            "engine / seed (target)",
            "engine / seed in CPU time (target)",
            "engine GEMM GFLOP/s (CPU time)",
            f"of GEMM rate (LSTM target at H=512: {GEMM_TARGET:.0%})",
        ],
        vs_seed,
    )
    return torch_table, seed_table


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
    parser.add_argument("--hidden", nargs="+", type=int, help="default 128 256 512 (quick: 128)")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--repeats", type=int, help="timed steps per contender (default 11; quick 5)"
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = parser.parse_args(argv)
    hiddens = args.hidden or ([128] if args.quick else [128, 256, 512])
    repeats = args.repeats or (5 if args.quick else 11)
    started = time.perf_counter()

    out = {"machine": machine()}
    if "gemm" in args.only or "speed" in args.only:
        out["gemm"], peak = gemm_section(3 if args.quick else 7)
    if "speed" in args.only:
        out["speed vs torch"], out["speed vs seed"] = speed_section(
            args.cells, hiddens, args.threads, repeats, 2 if args.quick else 3, peak
        )
    if "minchar" in args.only:
        out["min-char-rnn"] = minchar_section(20 if args.quick else 60)
    if "memory" in args.only:
        out["memory"] = memory_section(["lstm"] if args.quick else args.cells)
    if "e2e" in args.only:
        out["end to end"] = e2e_section(*((100, 60, 3) if args.quick else (500, 300, 5)))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    out["run"] = (
        f"{'quick' if args.quick else 'full'} run, {repeats} timed steps per contender, "
        f"{time.perf_counter() - started:.0f} s; load average at end: {load}"
    )

    titles = {
        "machine": "Machine",
        "gemm": "GEMM rate",
        "speed vs torch": "Engine vs PyTorch",
        "speed vs seed": "Engine vs the seed-style NumPy floor (1 thread)",
        "min-char-rnn": "Batch 1 (min-char-rnn)",
        "memory": "Peak memory, H=512",
        "end to end": "The rnnlab command vs the bare engine",
        "run": "Run",
    }
    print("\n\n".join(f"### {titles[k]}\n\n{v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
