"""What the built-in cells share: PyTorch's parameter layout and the per-chunk GEMMs.

Only the recurrence needs a loop over time. Everything else is done once per
chunk over all ``T * N`` rows: the input projection before the forward loop,
and the weight, bias and input gradients after the backward sweep.

Token inputs through an embedding ``E`` (V, I) can skip the embedded inputs
altogether (``forward_embedded``): the input projection of token ``v`` is row
``v`` of the table ``E @ weight_ih.T + bias`` (V, G*H), so a chunk's projection
is a row gather instead of a (T*N, I) x (I, G*H) GEMM, and backward sums the
projection gradients per token into that table's gradient, from which the
weight and embedding gradients are two small (V-row) GEMMs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from rnnlab.nn.cell import Cell, State
from rnnlab.nn.layers import sum_rows_by_id


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid of ``a`` in place, as 0.5 * tanh(0.5 a) + 0.5 (stable; faster than exp)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def one_minus_square(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``1 - a**2`` into ``out``: tanh' from tanh's output."""
    np.multiply(a, a, out=out)
    return np.subtract(1, out, out=out)


def add_matmul(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """``out += a @ b``, with no temporary product when ``out`` is all zeros.

    Gradients are usually zeroed before each step, so the product can go
    straight into them: that skips allocating an array of ``out``'s size (for
    weight_hh, 1 MB at H=512 for the rnn and 4 MB for the lstm) and the pass
    that adds it, for one read of ``out`` that stops at its first non-zero.
    """
    if out.any():
        out += a @ b
    else:
        np.matmul(a, b, out=out)


class GateCell(Cell):
    """A cell whose ``G`` gate pre-activations are affine maps of ``x`` and ``h``.

    Parameters, exactly as ``torch.nn.RNN/LSTM/GRU`` name and lay them out (gate
    blocks stacked along the first axis), initialised uniform(-1/sqrt(H), 1/sqrt(H)):

        weight_ih (G*H, I)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)

    Subclasses set ``num_gates`` and implement the recurrence: ``recur`` (forward
    from the input projections) and ``backprop`` (its backward sweep).
    """

    num_gates: int
    #: the attributes ``recur`` keeps for ``backprop`` (dropped once backward is done)
    cached: tuple[str, ...] = ()
    #: the chunk's inputs: ``xs`` after ``forward``, ``ids`` and ``embedding`` after
    #: ``forward_embedded``; ``hs`` (T+1, N, H) from ``hidden_sequence``
    xs: np.ndarray | None = None
    ids: np.ndarray | None = None
    embedding: np.ndarray | None = None
    hs: np.ndarray

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        rng: np.random.Generator,
        dtype: DTypeLike = np.float32,
    ):
        super().__init__(input_size, hidden_size, rng, dtype)
        rows = self.num_gates * self.hidden_size
        shapes = {
            "weight_ih": (rows, self.input_size),
            "weight_hh": (rows, self.hidden_size),
            "bias_ih": (rows,),
            "bias_hh": (rows,),
        }
        bound = 1.0 / np.sqrt(self.hidden_size)
        # Drawn in float64 and then cast, so float32 and float64 cells from the
        # same seed hold the same weights up to rounding.
        self.params = {
            name: rng.uniform(-bound, bound, shape).astype(self.dtype)
            for name, shape in shapes.items()
        }
        self.init_grads()

    def input_bias(self) -> np.ndarray:
        """The bias (G*H,) added to the input projection: ``bias_ih + bias_hh``."""
        return self.params["bias_ih"] + self.params["bias_hh"]

    def recur(self, pre: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """The recurrence over ``pre`` (T, N, G*H) = ``x @ weight_ih.T + input_bias()``.

        May overwrite ``pre``; keeps what ``backprop`` needs; returns ``(hs, final_state)``.
        """
        raise NotImplementedError

    def backprop(
        self, dhs: np.ndarray, dfinal_state: State | None
    ) -> tuple[np.ndarray, np.ndarray | tuple[np.ndarray, ...], State]:
        """The backward sweep: ``(dpre_x, dpre_h, dstate0)``; may overwrite ``dhs`` (T, N, H).

        ``dpre_x`` and ``dpre_h`` (T, N, G*H) are the gradients of the input and
        recurrent pre-activations (the same array unless a gate, like GRU's
        candidate, scales the recurrent part); ``dpre_h`` may also be a tuple of
        (T, N, width) blocks whose widths add up to G*H, in the order of the gate
        rows. Sets ``state_grad_norms``.
        """
        raise NotImplementedError

    def forward(self, xs: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        self.release_cache()  # a forward without backward (evaluation) must not hold two caches
        xs = np.asarray(xs, self.dtype)
        T, N, _ = xs.shape
        pre = self.projection_buffer(T, N, state)
        pre = np.matmul(
            xs.reshape(T * N, self.input_size),
            self.params["weight_ih"].T,
            out=None if pre is None else pre.reshape(T * N, -1),
        )
        pre += self.input_bias()
        self.xs, self.ids, self.embedding = xs, None, None
        return self.recur(pre.reshape(T, N, -1), state)

    def forward_embedded(
        self, ids: np.ndarray, embedding: np.ndarray, state: State
    ) -> tuple[np.ndarray, State]:
        """``forward(embedding[ids], state)`` without embedding: ids (T, N), embedding (V, I).

        Use ``backward_embedded`` after it.
        """
        self.release_cache()
        table = np.asarray(embedding, self.dtype) @ self.params["weight_ih"].T
        table += self.input_bias()
        self.xs, self.ids, self.embedding = None, ids, embedding
        T, N = ids.shape
        return self.recur(
            np.take(table, ids, axis=0, out=self.projection_buffer(T, N, state)), state
        )

    def projection_buffer(self, steps: int, batch: int, state: State) -> np.ndarray | None:
        """Where ``forward`` puts the input projections (steps, batch, G*H): None for a new array.

        Called once per chunk before ``recur``, with the chunk's initial ``state``.
        """
        return None

    def backward(
        self, dhs: np.ndarray, dfinal_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        if self.xs is None:
            raise RuntimeError(
                "backward needs forward first (after forward_embedded: use backward_embedded)"
            )
        dpre_x, _dpre_h, dstate = self._backprop_recurrent(np.array(dhs, self.dtype), dfinal_state)
        T, N, _ = dpre_x.shape
        dx2 = dpre_x.reshape(T * N, -1)
        self.grads["weight_ih"] += dx2.T @ self.xs.reshape(T * N, self.input_size)
        self.grads["bias_ih"] += dx2.sum(axis=0)
        dxs = (dx2 @ self.params["weight_ih"]).reshape(T, N, self.input_size)
        self.release_cache()
        return dxs, dstate

    def backward_embedded(
        self, dhs: np.ndarray, dfinal_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        """Backward after ``forward_embedded``: ``(d embedding (V, I), dstate0)``.

        Unlike ``backward``, may overwrite ``dhs`` (it saves a copy: pass an array you own).
        """
        dpre_x, _dpre_h, dstate = self._backprop_recurrent(
            np.asarray(dhs, self.dtype), dfinal_state
        )
        if self.ids is None or self.embedding is None:
            raise RuntimeError("backward_embedded needs forward_embedded first")
        dtable = sum_rows_by_id(self.ids, dpre_x, len(self.embedding))
        self.grads["weight_ih"] += dtable.T @ self.embedding
        self.grads["bias_ih"] += dtable.sum(axis=0)
        self.release_cache()
        return dtable @ self.params["weight_ih"], dstate

    def release_cache(self) -> None:
        """Drop the forward cache, so that the next chunk's is not allocated beside it."""
        for name in ("xs", "ids", "embedding", "hs", *self.cached):
            setattr(self, name, None)

    def _backprop_recurrent(
        self, dhs: np.ndarray, dfinal_state: State | None
    ) -> tuple[np.ndarray, np.ndarray | tuple[np.ndarray, ...], State]:
        """``backprop``, then the recurrent weight and bias gradients (a GEMM per block of rows)."""
        dpre_x, dpre_h, dstate = self.backprop(dhs, dfinal_state)
        T, N, _ = dpre_x.shape
        hs_prev = self.hs[:-1].reshape(T * N, self.hidden_size)
        row = 0
        for block in dpre_h if isinstance(dpre_h, tuple) else (dpre_h,):
            rows = block.reshape(T * N, -1)
            width = rows.shape[1]
            add_matmul(self.grads["weight_hh"][row : row + width], rows.T, hs_prev)
            self.grads["bias_hh"][row : row + width] += rows.sum(axis=0)
            row += width
        return dpre_x, dpre_h, dstate

    def hidden_sequence(self, T: int, N: int, state: State) -> np.ndarray:
        """Allocate ``hs`` (T+1, N, H) with ``hs[0]`` = the initial h and keep it for backward.

        ``hs[1:]`` is the output, ``hs[:-1]`` the previous h of every step.
        """
        self.hs = np.empty((T + 1, N, self.hidden_size), self.dtype)
        self.hs[0] = state[0]
        return self.hs

    def recurrent_buffer(self, batch: int) -> np.ndarray:
        """Scratch space for ``recurrent``: (G*H, batch)."""
        return np.empty((self.num_gates * self.hidden_size, batch), self.dtype)

    def recurrent(self, h: np.ndarray, buffer: np.ndarray) -> np.ndarray:
        """``h @ weight_hh.T`` (N, G*H), as a transposed view of ``buffer``.

        Computed as ``weight_hh @ h.T`` into a (G*H, N) buffer: that GEMM uses the
        weight as stored, with no per-chunk transposed copy (numpy's transpose of
        a 2048x512 matrix takes longer than a whole T=1 sampling step), and
        measured 1.2-1.45x faster than ``h @ weight_hh.T`` for N=32, H>=256.
        """
        return np.matmul(self.params["weight_hh"], h.T, out=buffer).T

    def recurrent_backward(self, batch: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """A function ``(dpre_t, out) -> out``: ``dpre_t (N, G*H) @ weight_hh`` into ``out`` (N, H).

        From H=256 on, computed as ``weight_hh.T @ dpre_t.T`` with a contiguous copy
        of the transposed weight (made once per chunk) into an (H, N) buffer, then
        copied transposed into ``out``: 1.2x faster GEMMs for N=32 (H=256 and 512;
        whole LSTM step 1.03x and 1.07x), but 0.94-0.98x at H=128. Not for the
        plain RNN (one gate): its step gained at most 3% at H=512, and the copy
        (H*H floats) was most of what its backward held beyond the arrays it needs.
        """
        weight = self.params["weight_hh"]
        if self.hidden_size < 256 or self.num_gates == 1:
            return lambda dpre_t, out: np.matmul(dpre_t, weight, out=out)
        weight_t = np.ascontiguousarray(weight.T)
        buffer = np.empty((self.hidden_size, batch), self.dtype)

        def backward_step(dpre_t: np.ndarray, out: np.ndarray) -> np.ndarray:
            np.matmul(weight_t, dpre_t.T, out=buffer)
            np.copyto(out, buffer.T)
            return out

        return backward_step

    def hidden_outputs(self) -> np.ndarray:
        """The output ``hs[1:]`` (T, N, H) as a read-only view.

        ``backward`` reads these values, so writing into them would silently
        corrupt the gradients; a read-only view turns that into an error.
        """
        out = self.hs[1:]
        out.flags.writeable = False
        return out

    def final_state_grads(self, dfinal_state: State | None, batch: int) -> list[np.ndarray]:
        """Fresh, writable copies of dL/d(final state) (zeros for ``None``) to accumulate into."""
        if dfinal_state is None:
            return [np.zeros((batch, self.hidden_size), self.dtype) for _ in range(self.num_states)]
        return [np.array(d, self.dtype) for d in dfinal_state]
