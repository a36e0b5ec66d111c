"""Peak memory of training against the arrays training must hold.

Each measurement runs in a fresh subprocess (``python -m benchmarks.memory CELL
HIDDEN FRAMEWORK``) so that nothing else the benchmark allocated counts:

- RSS: the resident set (``VmRSS`` in /proc/self/status) once the libraries are
  imported and warmed up on a tiny model, against the process's peak resident
  set (``VmHWM``) after building the model and a few training steps: the growth
  is what training added, allocator slack included.
- tracemalloc (engine only): numpy reports its array buffers to tracemalloc, so
  the traced peak from building the model on counts array memory, temporaries
  included, without the interpreter, libraries and allocator slack. torch's
  tensors are not traced, so there is no such figure for torch.

The arrays training must hold are computed from sizes: parameters, gradients and
Adagrad's accumulators (one each per parameter), and the BPTT cache that the
backward pass needs (see ``bptt_cache_floats``).
"""

from __future__ import annotations

import argparse
import gc
import json
import mmap
import subprocess
import sys
import tracemalloc
from dataclasses import replace

import numpy as np

from benchmarks import env_with_repo
from benchmarks.flops import GATES
from benchmarks.workload import Shape, threads

MB = 1e6


def bptt_cache_floats(shape: Shape) -> int:
    """Floats that backward needs from the forward pass of one chunk.

    The hidden states with the initial one (T+1, N, H), the gate activations
    (T, N, G*H; none for the plain RNN, whose activation is h itself), the LSTM's
    cell states (T+1, N, H) or the GRU's ``W_hn h + b_hn`` (T, N, H), and the
    logits turned into probabilities (T*N, V). Not the embedded inputs (T, N, E):
    token inputs need only their ids, the input projection being a row gather
    from a per-token table (as the engine does).
    """
    T, N, H, V = shape.steps, shape.batch, shape.hidden, shape.vocab
    gates = 0 if shape.cell == "rnn" else GATES[shape.cell]
    extra = {"lstm": (T + 1) * N * H, "gru": T * N * H, "rnn": 0}[shape.cell]
    return (T + 1) * N * H + T * N * gates * H + extra + T * N * V


def parameter_count(shape: Shape) -> int:
    G, H, V = GATES[shape.cell], shape.hidden, shape.vocab
    return V * V + G * H * (V + H) + 2 * G * H + H * V + V


def must_hold_bytes(shape: Shape) -> dict[str, float]:
    """Bytes (float32) of parameters, gradients, Adagrad state and the BPTT cache."""
    params = 4 * parameter_count(shape)
    parts = {
        "params": params,
        "grads": params,
        "adagrad": params,
        "bptt_cache": 4 * bptt_cache_floats(shape),
    }
    parts["total"] = sum(parts.values())
    return parts


def held_float_bytes(objects) -> int:
    """Bytes of the distinct float buffers in the attributes of ``objects`` (views counted once)."""
    roots = {}
    for obj in objects:
        for value in vars(obj).values():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                while isinstance(value.base, np.ndarray):
                    value = value.base
                roots[id(value)] = value.nbytes
    return sum(roots.values())


def rss_bytes(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, from /proc/self/status.

    (``getrusage``'s ``ru_maxrss`` would do for the peak, but Linux carries it
    over ``execve`` from the parent, so a child would report its parent's peak.)
    """
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024  # kB


def touch_gemm_buffers(framework: str) -> None:
    """Run float32 1024^3 products (plain and transposed) in ``framework``'s BLAS.

    OpenBLAS packs the operands of a product into a buffer that it allocates
    once per thread; a product touches as much of it as its panels need, so a
    tiny model's GEMMs leave most of it untouched and the first H=512 step
    would count 1.8 MB (rnn) to 4 MB (lstm) of it as training's growth. The
    operands live in an anonymous ``mmap``, not in malloc's heap: freeing 4 MB
    malloc'd arrays would raise glibc's dynamic mmap threshold and change how
    training's own arrays are allocated.
    """
    side = 1024
    region = mmap.mmap(-1, 3 * side * side * 4)
    a, b, out = np.frombuffer(region, np.float32).reshape(3, side, side)
    a.fill(1)
    b.fill(1)
    if framework == "torch":
        import torch

        a, b, out = (torch.from_numpy(x) for x in (a, b, out))
        mm = torch.mm
    else:
        mm = np.matmul
    for x, y in ((a, b), (a.T, b), (a, b.T)):
        mm(x, y, out=out)
    del a, b, out, x, y
    region.close()


def reset_peak_rss() -> None:
    """Set ``VmHWM`` to the current resident set (Linux: "5" to /proc/self/clear_refs).

    Without it, the warm-up's own peak would be a floor under the measured one.
    """
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def measure_in_this_process(shape: Shape, framework: str, steps: int) -> dict[str, float]:
    """Peak RSS growth and traced peak from building the model to ``steps`` training steps later.

    A tiny model (H=8) trains two steps first and large GEMMs run (see
    ``touch_gemm_buffers``), so that what the libraries set up once per process
    (BLAS buffers, lazily loaded kernels) is in the baseline.
    The tokens are random ids, just enough for the steps, so that no corpus
    loading shows up in the figures.
    """
    if framework == "torch":
        from benchmarks.torch_lm import TorchLM as Trainer
    else:
        from benchmarks.engine_lm import EngineLM as Trainer
    count = shape.batch * (shape.steps * steps + 2)
    ids = np.random.default_rng(0).integers(0, shape.vocab, count, dtype=np.int32)
    with threads(1):
        warmup = Trainer(replace(shape, hidden=8), ids)
        warmup.step()
        warmup.step()
        del warmup
        touch_gemm_buffers(framework)
        gc.collect()
        reset_peak_rss()
        rss_before = rss_bytes("VmRSS")
        tracemalloc.start()
        trainer = Trainer(shape, ids)
        for _ in range(steps):
            trainer.step()
        result = {"rss_growth": rss_bytes("VmHWM") - rss_before}
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if framework == "engine":
            result["traced_peak"] = traced_peak
            model = trainer.model
            model.forward(trainer.chunks.next()[0], trainer.state)
            result["engine_cache"] = held_float_bytes(
                [model, model.embed, model.head, *model.cells]
            )
    return result


def measure(shape: Shape, framework: str, steps: int = 4) -> dict[str, float]:
    """Run ``measure_in_this_process`` in a fresh interpreter; its result, in bytes."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.memory",
            shape.cell,
            str(shape.hidden),
            framework,
            "--steps",
            str(steps),
        ],
        capture_output=True,
        text=True,
        env=env_with_repo(),
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cell", choices=sorted(GATES))
    parser.add_argument("hidden", type=int)
    parser.add_argument("framework", choices=("engine", "torch"))
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    print(
        json.dumps(
            measure_in_this_process(Shape(args.cell, args.hidden), args.framework, args.steps)
        )
    )


if __name__ == "__main__":
    main()
