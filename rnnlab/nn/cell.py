"""The recurrent cell contract, and a step-level base class for plugin authors.

Arrays are time-major: inputs ``xs`` have shape ``(T, N, input_size)``, hidden
outputs ``hs`` have shape ``(T, N, hidden_size)``, and a state is a tuple of
``(N, hidden_size)`` arrays (``(h,)`` for rnn/gru, ``(h, c)`` for lstm; ``h`` is
always first and is the value the cell outputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

State = tuple[np.ndarray, ...]


class Cell:
    """A recurrent cell that runs over a whole ``(T, N, I)`` chunk at once.

    Subclasses set ``params`` (name -> trainable array) in ``__init__`` and
    implement ``forward`` and ``backward``. ``grads`` mirrors ``params`` and is
    accumulated into by ``backward`` (call ``zero_grad`` between updates).

    ``state_grad_norms`` is set by ``backward`` to a ``(T,)`` array: the L2 norm
    (over batch and hidden units) of the total gradient dL/dh_t reaching the
    cell's output at each step, recurrent part included. It is the
    vanishing/exploding-gradient profile. A cell that cannot provide it leaves
    it ``None``.
    """

    #: Number of arrays in the state tuple.
    num_states = 1
    #: True for a cell whose time loops run blocks of batch rows on the engine's threads
    #: without the GIL (``rnnlab.nn.parallel``): the runner then gives a job's threads to
    #: the engine and puts the BLAS on one thread, instead of a multi-threaded BLAS.
    engine_threads = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        rng: np.random.Generator,
        dtype: DTypeLike = np.float32,
    ) -> None:
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.dtype = np.dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state_grad_norms: np.ndarray | None = None

    def init_grads(self) -> None:
        """Create zeroed ``grads`` matching ``params`` (call at the end of ``__init__``)."""
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0)

    def initial_state(self, batch: int) -> State:
        """A zero state for ``batch`` sequences."""
        return tuple(
            np.zeros((batch, self.hidden_size), self.dtype) for _ in range(self.num_states)
        )

    def forward(self, xs: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Run the chunk ``xs`` (T, N, I) from ``state``; return ``(hs, final_state)``.

        Keeps what ``backward`` needs for this chunk only. Must not modify ``xs``
        or ``state``. Treat the returned ``hs`` as read-only (``backward`` may
        read it; the built-in cells return a read-only view).
        """
        raise NotImplementedError

    def backward(
        self, dhs: np.ndarray, dfinal_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        """Backpropagate through the last forward chunk.

        ``dhs`` (T, N, H) is dL/dh_t from above (loss or next layer);
        ``dfinal_state`` is dL/d(final state) or ``None`` for zeros. Accumulates
        into ``grads`` and returns ``(dxs, dstate0)``: dL/dxs (T, N, I) and the
        gradient for each array of the initial state. Called at most once per
        ``forward``; must not modify ``dhs`` or ``dfinal_state``.
        """
        raise NotImplementedError


class StepCell(Cell):
    """A cell defined by one time step; sequences come for free (correct, slower).

    Implement ``step(x, state) -> (h, new_state, cache)`` for ``x`` of shape
    (N, I), and ``step_backward(dstate, cache) -> (dx, dstate_prev)`` which
    accumulates into ``grads``. ``dstate`` is the gradient for ``new_state``
    with the output gradient already added into its first array (h).
    """

    def step(self, x: np.ndarray, state: State) -> tuple[np.ndarray, State, Any]:
        raise NotImplementedError

    def step_backward(self, dstate: State, cache: Any) -> tuple[np.ndarray, State]:
        raise NotImplementedError

    def forward(self, xs: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        hs = np.empty((xs.shape[0], xs.shape[1], self.hidden_size), self.dtype)
        self._caches = []
        for t in range(xs.shape[0]):
            hs[t], state, cache = self.step(xs[t], state)
            self._caches.append(cache)
        self._input_shape = xs.shape
        return hs, state

    def backward(
        self, dhs: np.ndarray, dfinal_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        T, N, _ = self._input_shape
        if dfinal_state is None:
            dfinal_state = tuple(
                np.zeros((N, self.hidden_size), dhs.dtype) for _ in range(self.num_states)
            )
        dxs = np.empty(self._input_shape, dhs.dtype)
        norms = np.empty(T)
        dstate = tuple(dfinal_state)
        for t in reversed(range(T)):
            dstate = (dstate[0] + dhs[t], *tuple(dstate[1:]))
            norms[t] = np.linalg.norm(dstate[0])
            dxs[t], dstate = self.step_backward(dstate, self._caches[t])
        self.state_grad_norms = norms
        self._caches = []
        return dxs, dstate
