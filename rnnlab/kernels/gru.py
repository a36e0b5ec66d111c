"""``NumbaGRUCell``: the GRU cell with its time loops compiled (``cell.kernel=numba``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnlab.kernels.loops import gru_backward_rows, gru_forward_rows
from rnnlab.nn.gru import GRUCell


class NumbaGRUCell(GRUCell):
    """``rnnlab.nn.gru.GRUCell`` (same parameters, state, cache and results up to float
    rounding) whose forward and backward time loops are each one compiled call per block of
    batch rows, split across the engine's threads as ``NumbaLSTMCell``'s are."""

    engine_threads = True

    def forward_block(
        self, acts: np.ndarray, hs: np.ndarray, hn: np.ndarray
    ) -> Callable[[slice], None]:
        weight, b_hn = self.params["weight_hh"], self.params["bias_hh"][2 * self.hidden_size :]
        return lambda rows: gru_forward_rows(acts, hs, hn, weight, b_hn, rows.start, rows.stop)

    def backward_block(self, dhs: np.ndarray, dh: np.ndarray) -> Callable[[slice], np.ndarray]:
        acts, hs, hn = self.acts, self.hs, self.hn
        weight_t = np.ascontiguousarray(self.params["weight_hh"].T)

        def rows_backward(rows: slice) -> np.ndarray:
            squares = np.empty(len(dhs))
            gru_backward_rows(acts, hs, hn, dhs, weight_t, dh[rows], squares, rows.start, rows.stop)
            return squares

        return rows_backward
