"""What the built-in cells share: PyTorch's parameter layout and the per-chunk GEMMs.

Only the recurrence needs a loop over time. Everything else is done once per
chunk over all ``T * N`` rows: the input projection before the forward loop,
and the weight, bias and input gradients after the backward sweep.
"""

from __future__ import annotations

import numpy as np

from rnnlab.nn.cell import Cell, State


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


class GateCell(Cell):
    """A cell whose ``G`` gate pre-activations are affine maps of ``x`` and ``h``.

    Parameters, exactly as ``torch.nn.RNN/LSTM/GRU`` name and lay them out (gate
    blocks stacked along the first axis), initialised uniform(-1/sqrt(H), 1/sqrt(H)):

        weight_ih (G*H, I)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)

    Subclasses set ``num_gates`` and write ``forward``/``backward`` around
    ``begin_forward`` and ``finish_backward``.
    """

    num_gates: int

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator,
                 dtype=np.float32):
        super().__init__(input_size, hidden_size, rng, dtype)
        rows = self.num_gates * self.hidden_size
        shapes = {"weight_ih": (rows, self.input_size), "weight_hh": (rows, self.hidden_size),
                  "bias_ih": (rows,), "bias_hh": (rows,)}
        bound = 1.0 / np.sqrt(self.hidden_size)
        # Drawn in float64 and then cast, so float32 and float64 cells from the
        # same seed hold the same weights up to rounding.
        self.params = {name: rng.uniform(-bound, bound, shape).astype(self.dtype)
                       for name, shape in shapes.items()}
        self.init_grads()

    def begin_forward(self, xs: np.ndarray, state: State, input_bias: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Project all inputs at once and allocate the hidden-state sequence.

        Returns ``pre`` (T, N, G*H) = ``xs @ weight_ih.T + input_bias`` and
        ``hs`` (T+1, N, H) with ``hs[0]`` = the initial h (``hs[1:]`` is the output,
        ``hs[:-1]`` the previous h of every step). Keeps ``xs`` and ``hs`` for backward.
        """
        xs = np.asarray(xs, self.dtype)
        T, N, _ = xs.shape
        pre = xs.reshape(T * N, self.input_size) @ self.params["weight_ih"].T
        pre += input_bias
        hs = np.empty((T + 1, N, self.hidden_size), self.dtype)
        hs[0] = state[0]
        self.xs, self.hs = xs, hs
        return pre.reshape(T, N, -1), hs

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
            return [np.zeros((batch, self.hidden_size), self.dtype)
                    for _ in range(self.num_states)]
        return [np.array(d, self.dtype) for d in dfinal_state]

    def finish_backward(self, dpre_x: np.ndarray, dpre_h: np.ndarray) -> np.ndarray:
        """Accumulate all parameter gradients with one GEMM each; return dL/dxs (T, N, I).

        ``dpre_x`` and ``dpre_h`` (T, N, G*H) are the gradients of the input and
        recurrent pre-activations (the same array unless a gate, like GRU's
        candidate, scales the recurrent part).
        """
        T, N, _ = dpre_x.shape
        dx2 = dpre_x.reshape(T * N, -1)
        dh2 = dpre_h.reshape(T * N, -1)
        self.grads["weight_ih"] += dx2.T @ self.xs.reshape(T * N, self.input_size)
        self.grads["weight_hh"] += dh2.T @ self.hs[:-1].reshape(T * N, self.hidden_size)
        self.grads["bias_ih"] += dx2.sum(axis=0)
        self.grads["bias_hh"] += dh2.sum(axis=0)
        return (dx2 @ self.params["weight_ih"]).reshape(T, N, self.input_size)
