"""Where an LSTM training step spends its time, in the engine and in PyTorch.

    python -m benchmarks.profile_lstm [--hidden 256 512] [--threads 1]

Engine: each phase of the step (the model's layers called one by one, as
``RecurrentModel.forward/backward`` calls them for one layer with token inputs
and the per-step head: the embedding folded into the cell's input projection)
is timed; inside the cell, the GEMMs the engine issues are replayed alone
on arrays of the same shapes and layouts, and the rest of the phase is the
elementwise work (gate math, the per-step Python loop, reductions).
PyTorch: the same phases timed around its calls, and the operators that
``torch.profiler`` sees. Finally the engine's GEMM shapes in numpy (OpenBLAS)
against torch.mm (MKL). With 1 thread, times are CPU time of the calling thread
(robust to other processes on the machine); with more, wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from benchmarks.engine_lm import EngineLM
from benchmarks.markdown import table
from benchmarks.torch_lm import TorchLM
from benchmarks.workload import CLIP_NORM, Shape, threads
from rnnlab.nn import clip_grad_norm, softmax_cross_entropy

#: the clock of every measurement: set by ``report`` for its thread count
clock = time.perf_counter


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def engine_phases(engine: EngineLM, repeats: int) -> dict[str, float]:
    """Median seconds per phase of one engine training step, phases run in order."""
    model, shape = engine.model, engine.shape
    embed, cell, head = model.embed, model.cells[0], model.head
    x, y, _ = engine.chunks.next()
    state = cell.initial_state(shape.batch)
    phases = {
        "cell forward": lambda s: s.update(
            hs=cell.forward_embedded(x, embed.params["weight"], state)[0]
        ),
        "head forward": lambda s: s.update(logits=head.forward(s["hs"].reshape(-1, shape.hidden))),
        "softmax cross-entropy": lambda s: s.update(
            d=softmax_cross_entropy(s["logits"], y.reshape(-1))[1]
        ),
        "head backward": lambda s: s.update(dhs=head.backward(s["d"])),
        "cell backward": lambda s: s.update(
            dembed=cell.backward_embedded(s["dhs"].reshape(shape.steps, shape.batch, -1))[0]
        ),
        "embedding gradient": lambda s: embed.grads["weight"].__iadd__(s["dembed"]),
        "clip_grad_norm": lambda s: clip_grad_norm(model.grads, CLIP_NORM),
        "Adagrad step": lambda s: engine.opt.step(model.grads),
    }
    times = {name: [] for name in phases}
    for _ in range(repeats + 1):
        scratch = {}
        model.zero_grad()
        for name, phase in phases.items():
            start = clock()
            phase(scratch)
            times[name].append(clock() - start)
    return {name: statistics.median(ts[1:]) for name, ts in times.items()}


def engine_gemms(engine: EngineLM, repeats: int) -> dict[str, float]:
    """Median seconds of the cell's and head's GEMMs replayed alone, as issued (shapes, layouts)."""
    shape, cell = engine.shape, engine.model.cells[0]
    T, N, H, V = shape.steps, shape.batch, shape.hidden, shape.vocab
    G = cell.params["weight_hh"].shape[0] // H
    rng = np.random.default_rng(0)

    def rand(*dims):
        return rng.standard_normal(dims, dtype=np.float32)

    w_ih, w_hh = cell.params["weight_ih"], cell.params["weight_hh"]
    w_head, embedding = engine.model.head.params["weight"], engine.model.embed.params["weight"]
    hs, pre, logits, dtable = rand(T * N, H), rand(T * N, G * H), rand(T * N, V), rand(V, G * H)
    buf, buf_t = rand(G * H, N), rand(H, N)

    def recurrent_forward():
        for t in range(T):
            np.matmul(w_hh, hs[t * N : (t + 1) * N].T, out=buf)

    def recurrent_backward():
        w_t = np.ascontiguousarray(w_hh.T)
        for t in range(T):
            np.matmul(w_t, pre[t * N : (t + 1) * N].T, out=buf_t)

    gemms = {
        "cell forward": {
            "input table (V,E)@(E,GH)": lambda: embedding @ w_ih.T,
            f"recurrent, {T} x (GH,H)@(H,N)": recurrent_forward,
        },
        "cell backward": {
            f"recurrent, {T} x (H,GH)@(GH,N)": recurrent_backward,
            "dW_hh; dW_ih, d embedding from the table": lambda: (
                pre.T @ hs,
                dtable.T @ embedding,
                dtable @ w_ih,
            ),
        },
        "head forward": {"logits": lambda: hs @ w_head.T},
        "head backward": {"dW, dx": lambda: (logits.T @ hs, logits @ w_head)},
    }
    return {
        phase: {name: median_time(fn, repeats) for name, fn in parts.items()}
        for phase, parts in gemms.items()
    }


def torch_phases(model: TorchLM, repeats: int) -> dict[str, float]:
    """Median seconds per phase of one torch training step (CPU ops are synchronous)."""
    nn = torch.nn
    x, y, _ = model.chunks.next()
    times = {
        name: []
        for name in (
            "forward (embedding, LSTM, head, loss)",
            "backward",
            "clip_grad_norm_",
            "Adagrad step",
        )
    }
    for _ in range(repeats + 1):
        model.opt.zero_grad()
        marks = [clock()]
        hs, _ = model.rnn(model.embed(x))
        loss = nn.functional.cross_entropy(
            model.head(hs).reshape(-1, model.shape.vocab), y.reshape(-1)
        )
        marks.append(clock())
        loss.backward()
        marks.append(clock())
        nn.utils.clip_grad_norm_(model.params, CLIP_NORM)
        marks.append(clock())
        model.opt.step()
        marks.append(clock())
        for name, a, b in zip(times, marks[:-1], marks[1:], strict=True):
            times[name].append(b - a)
    return {name: statistics.median(ts[1:]) for name, ts in times.items()}


def torch_operators(model: TorchLM, steps: int, top: int = 10) -> list[tuple[str, float]]:
    """The ``top`` operators by self CPU time, in ms per step."""
    model.step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            model.step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return [(e.key, e.self_cpu_time_total / 1000 / steps) for e in events[:top]]


def gemm_kernels(shape: Shape, repeats: int) -> list[list]:
    """The engine's per-step and per-chunk GEMM shapes: numpy vs torch.mm, microseconds each."""
    T, N, H, V = shape.steps, shape.batch, shape.hidden, shape.vocab
    rng = np.random.default_rng(0)
    shapes = {
        "recurrent forward (4H,H)@(H,N)": ((4 * H, H), (H, N)),
        "recurrent backward (H,4H)@(4H,N)": ((H, 4 * H), (4 * H, N)),
        "dW_hh (4H,TN)@(TN,H)": ((4 * H, T * N), (T * N, H)),
        "input table (V,V)@(V,4H)": ((V, V), (V, 4 * H)),
    }
    rows = []
    for name, (a_shape, b_shape) in shapes.items():
        a = rng.standard_normal(a_shape, dtype=np.float32)
        b = rng.standard_normal(b_shape, dtype=np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        t_np = median_time(lambda a=a, b=b: a @ b, repeats)
        t_torch = median_time(lambda ta=ta, tb=tb: torch.mm(ta, tb), repeats)
        flops = 2 * a_shape[0] * a_shape[1] * b_shape[1]
        rows.append([name, t_np * 1e6, t_torch * 1e6, flops / t_np / 1e9, flops / t_torch / 1e9])
    return rows


def report(hidden: int, count: int, repeats: int) -> str:
    global clock
    clock = time.thread_time if count == 1 else time.perf_counter
    shape = Shape("lstm", hidden)
    engine, model = EngineLM(shape), TorchLM(shape)
    with threads(count):
        phases = engine_phases(engine, repeats)
        gemms = engine_gemms(engine, repeats)
        t_phases = torch_phases(model, repeats)
        operators = torch_operators(model, repeats)
        kernels = gemm_kernels(shape, 3 * repeats)
    total = sum(phases.values())
    rows = []
    for name, seconds in phases.items():
        parts = gemms.get(name, {})
        gemm = sum(parts.values())
        detail = "; ".join(f"{k} {v * 1e3:.2f}" for k, v in parts.items())
        rows.append(
            [
                name,
                seconds * 1e3,
                f"{seconds / total:.0%}",
                gemm * 1e3 if parts else "",
                (seconds - gemm) * 1e3 if parts else "",
                detail,
            ]
        )
    gemm_total = sum(sum(p.values()) for p in gemms.values())
    rows.append(["total", total * 1e3, "100%", gemm_total * 1e3, (total - gemm_total) * 1e3, ""])
    t_total = sum(t_phases.values())
    sections = [
        f"#### LSTM H={hidden}, N={shape.batch}, T={shape.steps}, {count} thread(s): "
        f"engine {total * 1e3:.1f} ms/step, torch {t_total * 1e3:.1f} ms/step",
        table(
            [
                "engine phase",
                "ms",
                "share",
                "GEMM ms (replayed)",
                "rest ms (elementwise, loop)",
                "GEMMs, ms",
            ],
            rows,
        ),
        table(
            ["torch phase", "ms", "share"],
            [[k, v * 1e3, f"{v / t_total:.0%}"] for k, v in t_phases.items()],
        ),
        table(["torch operator (self CPU)", "ms/step"], [[k, v] for k, v in operators]),
        table(["GEMM shape", "numpy us", "torch.mm us", "numpy GFLOP/s", "torch GFLOP/s"], kernels),
    ]
    return "\n\n".join(sections)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    print("\n\n".join(report(h, args.threads, args.repeats) for h in args.hidden))


if __name__ == "__main__":
    main()
