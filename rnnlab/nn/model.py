"""The recurrent model: input -> a stack of cells (dropout between) -> a linear head.

Inputs are token ids ``(T, N)`` (through an embedding) or dense ``(T, N, D)``
floats. Heads:

- ``per_step``: logits ``(T, N, C)`` at every step (language modelling);
- ``last``: logits ``(N, C)`` from the last step's hidden state;
- ``flatten``: logits ``(N, C)`` from all hidden states flattened per
  sequence, ``(N, T*H)`` (needs ``seq_len``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from rnnlab.nn.cell import Cell, State
from rnnlab.nn.gate_cell import GateCell
from rnnlab.nn.layers import Dropout, Embedding, Linear

CellFactory = Callable[..., Cell]
HEADS = ("per_step", "last", "flatten")


class RecurrentModel:
    """A stack of ``layers`` cells made by ``cell_factory(input_size, hidden_size, rng, dtype)``.

    ``params`` and ``grads`` map dotted names (``embed.weight``,
    ``cells.0.weight_hh``, ``head.weight``, ...) to the layers' own arrays, so
    optimizers update them in place. ``rng`` also drives dropout.
    """

    def __init__(
        self,
        cell_factory: CellFactory,
        *,
        hidden_size: int,
        output_size: int,
        vocab_size: int | None = None,
        embed_size: int | None = None,
        input_size: int | None = None,
        layers: int = 1,
        head: str = "per_step",
        seq_len: int | None = None,
        dropout: float = 0.0,
        rng: np.random.Generator,
        dtype: DTypeLike = np.float32,
    ):
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if head == "flatten" and not seq_len:
            raise ValueError("the flatten head needs seq_len")
        self.rng, self.dtype, self.head_kind = rng, np.dtype(dtype), head
        self.embed: Embedding | None = None
        if vocab_size is not None and input_size is None:
            if not embed_size:
                raise ValueError("token ids (vocab_size) need an embed_size")
            self.embed = Embedding(vocab_size, embed_size, rng, dtype)
            first = embed_size
        elif input_size is not None and vocab_size is None:
            first = input_size
        else:
            raise ValueError("give exactly one of vocab_size (token ids) and input_size (dense)")
        self.cells = [
            cell_factory(first if i == 0 else hidden_size, hidden_size, rng, dtype)
            for i in range(layers)
        ]
        self.between = [Dropout(dropout, rng) for _ in range(layers - 1)]  # before cells 1..
        self.head_drop = Dropout(dropout, rng)
        steps_in_head = seq_len if head == "flatten" and seq_len else 1
        self.head = Linear(hidden_size * steps_in_head, output_size, rng, dtype)
        # token ids can reach a built-in first cell through its embedded input projection
        self._can_embed_first = self.embed is not None and isinstance(self.cells[0], GateCell)
        self.params, self.grads = {}, {}
        named = (
            ([("embed", self.embed)] if self.embed else [])
            + [(f"cells.{i}", c) for i, c in enumerate(self.cells)]
            + [("head", self.head)]
        )
        for prefix, layer in named:
            for name in layer.params:
                self.params[f"{prefix}.{name}"] = layer.params[name]
                self.grads[f"{prefix}.{name}"] = layer.grads[name]

    @property
    def state_grad_norms(self) -> list[np.ndarray | None]:
        """Per layer (bottom first), each cell's ``state_grad_norms`` from the last backward.

        A ``(steps,)`` array of the norms of dL/dh_t over the steps backward went
        through (all T, or the last ``bptt``), or None for a cell that gives none.
        """
        return [cell.state_grad_norms for cell in self.cells]

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0)

    def initial_state(self, batch: int) -> list[State]:
        return [cell.initial_state(batch) for cell in self.cells]

    def _stack(
        self, inputs: np.ndarray, state: list[State], train: bool
    ) -> tuple[np.ndarray, list[State]]:
        """Run every layer over the chunk ``inputs`` (ids (T, N) or floats (T, N, D));
        returns top ``hs`` and the new state."""
        # the per-token projection table costs as much as projecting V embedded tokens:
        # worth it for a chunk of at least V tokens (not for sampling one step at a time)
        self._embedded_first = (
            self._can_embed_first
            and self.embed is not None
            and inputs.size >= len(self.embed.params["weight"])
        )
        first = self.cells[0]
        if self._embedded_first and isinstance(first, GateCell) and self.embed is not None:
            x, s = first.forward_embedded(inputs, self.embed.params["weight"], state[0])
        else:
            x, s = first.forward(self.embed.forward(inputs) if self.embed else inputs, state[0])
        final = [s]
        for dropout, cell, s0 in zip(self.between, self.cells[1:], state[1:], strict=True):
            x, s = cell.forward(dropout.forward(x, train), s0)
            final.append(s)
        return x, final

    def forward(
        self, inputs: np.ndarray, state: list[State], train: bool = True, bptt: int | None = None
    ) -> tuple[np.ndarray, list[State]]:
        """Run ``inputs`` (ids (T, N) or floats (T, N, D)) from ``state``; return
        ``(outputs, final_state)``.

        ``outputs`` are logits (T, N, C) for the per_step head, (N, C) otherwise;
        ``final_state`` is, per layer, the cell's final state tuple: fed into the
        next call it carries the state over, with the gradient cut at the boundary.

        With ``bptt`` shorter than T, the first ``T - bptt`` steps run first and
        only the last ``bptt`` are kept for ``backward``: gradients reach the
        cells (and the embedding) through the last ``bptt`` steps only. (With the
        flatten head, the head's weights still see every step's hidden state; the
        cells get no gradient from the earlier ones.)
        """
        if bptt is not None and bptt < 1:
            raise ValueError(f"bptt must be at least 1, got {bptt}")
        if not self.embed:
            inputs = np.asarray(inputs, self.dtype)
        T = inputs.shape[0]
        keep = T if bptt is None or bptt >= T else bptt
        early = []
        if keep < T:
            hs_early, state = self._stack(inputs[: T - keep], state, train)
            early = [hs_early]
        hs, final = self._stack(inputs[T - keep :], state, train)
        self._kept_inputs, self._batch = inputs[T - keep :], inputs.shape[1]
        top = self.head_drop
        if self.head_kind == "per_step":
            out = self.head.forward(top.forward(hs.reshape(-1, hs.shape[-1]), train))
            return out.reshape(hs.shape[0], hs.shape[1], -1), final
        if self.head_kind == "last":
            return self.head.forward(top.forward(hs[-1], train)), final
        every = np.concatenate([*early, hs]) if early else hs
        flat = every.transpose(1, 0, 2).reshape(every.shape[1], -1)
        return self.head.forward(top.forward(flat, train)), final

    def backward(self, dout: np.ndarray) -> None:
        """Backpropagate ``dout`` (the gradient of the outputs) into every parameter."""
        dx = self.head_drop.backward(self.head.backward(dout.reshape(-1, dout.shape[-1])))
        self.head.release()  # its input is the top cell's hs: not held into the next forward
        H = self.cells[-1].hidden_size
        steps = len(self._kept_inputs)
        if self.head_kind == "per_step":
            dhs = dx.reshape(steps, self._batch, H)
        elif self.head_kind == "last":
            dhs = np.zeros((steps, self._batch, H), dx.dtype)
            dhs[-1] = dx
        else:
            every = dx.reshape(self._batch, -1, H).transpose(1, 0, 2)
            dhs = np.ascontiguousarray(every[-steps:])
        for i in reversed(range(1, len(self.cells))):
            dhs, _ = self.cells[i].backward(dhs, None)
            dhs = self.between[i - 1].backward(dhs)
        first = self.cells[0]
        if self._embedded_first and isinstance(first, GateCell) and self.embed is not None:
            dembed, _ = first.backward_embedded(dhs, None)
            self.embed.grads["weight"] += dembed
            return
        dxs, _ = self.cells[0].backward(dhs, None)
        if self.embed:
            self.embed.backward(self._kept_inputs, dxs)
