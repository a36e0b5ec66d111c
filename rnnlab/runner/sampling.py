"""Text generation from a character-level model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.nn.model import RecurrentModel


class TextCodec(Protocol):
    """What sampling needs of a text dataset: characters to token ids and back."""

    def encode(self, text: str) -> np.ndarray: ...

    def decode(self, ids: Iterable[int]) -> str: ...


def sample_text(
    model: RecurrentModel,
    dataset: TextCodec,
    prime: str,
    length: int,
    temperature: float,
    rng: np.random.Generator,
) -> str:
    """``prime`` followed by ``length`` sampled characters (softmax at ``temperature``)."""
    if not prime:
        raise RnnlabError(
            "the priming text is empty; give at least one character (sample.prime=... or --prime)"
        )
    ids = np.asarray(dataset.encode(prime), dtype=np.int64)
    out, state = model.forward(ids[:, None], model.initial_state(1), train=False)
    logits = out[-1, 0]
    token = np.empty((1, 1), np.int64)
    generated = []
    for _ in range(length):
        z = logits.astype(np.float64) / temperature
        p = np.exp(z - z.max())
        cdf = np.cumsum(p)
        token[0, 0] = min(
            int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1
        )
        generated.append(int(token[0, 0]))
        out, state = model.forward(token, state, train=False)
        logits = out[0, 0]
    return prime + dataset.decode(generated)
