"""GEMM flop counts of a training step, and the machine's float32 GEMM rate."""

from __future__ import annotations

import statistics
import time

import numpy as np

from benchmarks.workload import Shape, blas_threads

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def step_gemm_flops(shape: Shape) -> int:
    """Flops (2 per multiply-add) of the engine's GEMMs in one training step, forward and backward.

    With G gate blocks, E = V inputs and M = T*N rows: forward ``h W_hh^T`` and the
    head; backward, for both weights, one GEMM for its gradient and one for its
    input's gradient: ``3 * (G*H*H + H*V)`` multiply-adds per row. The token
    inputs' projection is folded into a (V, G*H) table per step (``E W_ih^T``, and
    backward the gradients of ``W_ih`` and of the embedding from the table's):
    ``3 * V*E*G*H`` multiply-adds per step, not per row. Elementwise work is not counted.
    """
    G, H, V = GATES[shape.cell], shape.hidden, shape.vocab
    rows = shape.batch * shape.steps
    return 2 * 3 * (rows * (G * H * H + H * V) + V * V * G * H)


def gemm_rate(size: int = 2048, repeats: int = 5, count: int = 1) -> dict[str, float]:
    """Median GFLOP/s of a float32 ``size``-cubed matrix product on ``count`` threads.

    ``numpy`` is numpy's BLAS (OpenBLAS: what the engine's GEMMs run on); ``torch``
    is torch's (MKL: what its GRU and RNN, and its head, run on). On 1 thread timed
    in CPU time of the calling thread (where a 1-thread product runs), so that other
    processes on the machine do not lower the rate; on more, in wall time.
    """
    import torch

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    out = np.empty_like(a)
    ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.empty(size, size)
    products = {
        "numpy": lambda: np.matmul(a, b, out=out),
        "torch": lambda: torch.mm(ta, tb, out=tout),
    }
    clock = time.thread_time if count == 1 else time.perf_counter
    rates = {}
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with blas_threads(count):
            for name, product in products.items():
                product()
                times = []
                for _ in range(repeats):
                    time.sleep(0.0 if count == 1 else 0.25)  # the other pool's workers settle
                    start = clock()
                    product()
                    times.append(clock() - start)
                rates[name] = 2 * size**3 / statistics.median(times) / 1e9
    finally:
        torch.set_num_threads(before)
    return rates
