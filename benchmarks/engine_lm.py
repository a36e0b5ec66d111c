"""rnnlab's engine on the workload: the training step of the runner, without the runner."""

from __future__ import annotations

import numpy as np

from benchmarks.workload import CLIP_NORM, LR, Chunks, Shape
from rnnlab.nn import (
    Adagrad,
    GRUCell,
    LSTMCell,
    RecurrentModel,
    RNNCell,
    clip_grad_norm,
    softmax_cross_entropy,
)

CELL_CLASSES = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def cell_class(shape: Shape) -> type:
    """The engine's cell for ``shape``: the NumPy cell, or the compiled one of its kernel."""
    if shape.kernel == "numba":
        from rnnlab.kernels.gru import NumbaGRUCell
        from rnnlab.kernels.lstm import NumbaLSTMCell

        return {"lstm": NumbaLSTMCell, "gru": NumbaGRUCell}[shape.cell]
    return CELL_CLASSES[shape.cell]


def build_model(shape: Shape, seed: int = 0) -> RecurrentModel:
    """Embedding (V -> V), one cell layer of ``shape.hidden`` units, linear head (-> V); float32."""
    return RecurrentModel(
        cell_class(shape),
        vocab_size=shape.vocab,
        embed_size=shape.vocab,
        hidden_size=shape.hidden,
        output_size=shape.vocab,
        rng=np.random.default_rng(seed),
        dtype=np.float32,
    )


class EngineLM:
    """``step()`` trains on the next chunk: forward, cross-entropy, backward, clip, Adagrad.

    ``ids``: the token sequence to train on (default: the workload's corpus).
    """

    def __init__(self, shape: Shape, ids: np.ndarray | None = None):
        self.shape = shape
        self.model = build_model(shape)
        self.opt = Adagrad(self.model.params, lr=LR)
        self.chunks = Chunks(shape, ids)
        self.state = self.model.initial_state(shape.batch)

    def step(self) -> float:
        x, y, restart = self.chunks.next()
        if restart:
            self.state = self.model.initial_state(self.shape.batch)
        model = self.model
        model.zero_grad()
        logits, self.state = model.forward(x, self.state)
        loss, dlogits = softmax_cross_entropy(logits.reshape(-1, self.shape.vocab), y.reshape(-1))
        shape = logits.shape
        del logits  # as the runner does: not held through backward
        model.backward(dlogits.reshape(shape))
        clip_grad_norm(model.grads, CLIP_NORM)
        self.opt.step(model.grads)
        return loss
