"""``NumbaLSTMCell``: the LSTM cell with its time loops compiled (``cell.kernel=numba``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnlab.kernels.loops import lstm_backward_rows, lstm_forward_rows
from rnnlab.nn.lstm import LSTMCell


class NumbaLSTMCell(LSTMCell):
    """``rnnlab.nn.lstm.LSTMCell`` (same parameters, state, cache and results up to float
    rounding) whose forward and backward time loops are each one compiled call per block of
    batch rows: per step the recurrent GEMM and a few fused passes over the gates.

    The batch rows are split across the engine's threads (``rnnlab.nn.parallel``; the
    loops hold no GIL, so the blocks run at once), each block's GEMMs on a one-thread BLAS.
    """

    engine_threads = True

    def forward_block(
        self, acts: np.ndarray, hs: np.ndarray, cs: np.ndarray, tanh_cs: np.ndarray
    ) -> Callable[[slice], None]:
        weight = self.params["weight_hh"]
        return lambda rows: lstm_forward_rows(acts, hs, cs, tanh_cs, weight, rows.start, rows.stop)

    def backward_block(
        self, dhs: np.ndarray, dh: np.ndarray, dc0: np.ndarray
    ) -> Callable[[slice], tuple[np.ndarray, np.ndarray]]:
        acts, cs, tanh_cs = self.acts, self.cs, self.tanh_cs
        weight_t = np.ascontiguousarray(self.params["weight_hh"].T)

        def rows_backward(rows: slice) -> tuple[np.ndarray, np.ndarray]:
            squares, dc = np.empty(len(dhs)), dc0[rows]
            lstm_backward_rows(
                acts, cs, tanh_cs, dhs, weight_t, dh[rows], dc, squares, rows.start, rows.stop
            )
            return dc, squares

        return rows_backward
