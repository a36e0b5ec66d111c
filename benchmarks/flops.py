"""GEMM flop counts of a training step, and the machine's float32 GEMM rate."""

from __future__ import annotations

import statistics
import time

import numpy as np

from benchmarks.workload import Shape, threads

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def step_gemm_flops(shape: Shape) -> int:
    """Flops (2 per multiply-add) of the GEMMs in one training step, forward and backward.

    With G gate blocks, E = V inputs and M = T*N rows: forward ``x W_ih^T`` and
    ``h W_hh^T`` and the head; backward, for each of the three weights, one GEMM
    for its gradient and one for its input's gradient (embedding included), so
    ``3 * (G*H*(E+H) + H*V)`` multiply-adds per row. Elementwise work is not counted.
    """
    G, H, V = GATES[shape.cell], shape.hidden, shape.vocab
    rows = shape.batch * shape.steps
    return 2 * rows * 3 * (G * H * (V + H) + H * V)


def gemm_rate(size: int = 2048, repeats: int = 5, count: int = 1) -> dict[str, float]:
    """Median GFLOP/s of a float32 ``size``-cubed matrix product on ``count`` threads.

    ``numpy`` is numpy's BLAS (what the engine uses); ``torch`` is torch's (MKL), for reference.
    """
    import torch

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    out = np.empty_like(a)
    ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.empty(size, size)
    products = {"numpy": lambda: np.matmul(a, b, out=out),
                "torch": lambda: torch.mm(ta, tb, out=tout)}
    rates = {}
    with threads(count):
        for name, product in products.items():
            product()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                product()
                times.append(time.perf_counter() - start)
            rates[name] = 2 * size ** 3 / statistics.median(times) / 1e9
    return rates
