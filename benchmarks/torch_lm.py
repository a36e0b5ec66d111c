"""PyTorch on the workload: nn.Embedding + nn.RNN/LSTM/GRU (1 layer) + nn.Linear, float32, CPU."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmarks.workload import CLIP_NORM, LR, Chunks, Shape

RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def detach(state):
    """The state (a tensor, or LSTM's (h, c)) cut from the graph: gradients stop at the chunk."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


class TorchLM:
    """``step()`` trains on the next chunk: cross-entropy, backward, clip_grad_norm_, Adagrad.

    The hidden state is detached between chunks (truncated BPTT, as in the engine).
    The token streams are converted to a tensor up front, so no conversion is timed.
    ``ids``: the token sequence to train on (default: the workload's corpus).
    """

    def __init__(self, shape: Shape, ids: np.ndarray | None = None):
        torch.manual_seed(0)
        self.shape = shape
        self.embed = nn.Embedding(shape.vocab, shape.vocab)
        self.rnn = RECURRENT[shape.cell](shape.vocab, shape.hidden)
        self.head = nn.Linear(shape.hidden, shape.vocab)
        self.params = [p for m in (self.embed, self.rnn, self.head) for p in m.parameters()]
        self.opt = torch.optim.Adagrad(self.params, lr=LR)
        self.chunks = Chunks(
            shape, ids, convert=lambda streams: torch.from_numpy(streams.astype("int64"))
        )
        self.state = None

    def step(self) -> float:
        x, y, restart = self.chunks.next()
        if restart:
            self.state = None
        self.opt.zero_grad()
        hs, state = self.rnn(self.embed(x), self.state)
        self.state = detach(state)
        logits = self.head(hs)
        loss = nn.functional.cross_entropy(logits.reshape(-1, self.shape.vocab), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, CLIP_NORM)
        self.opt.step()
        return loss.item()
