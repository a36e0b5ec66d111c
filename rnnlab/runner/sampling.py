"""Text generation from a character-level model: temperature, greedy, top-k and nucleus."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Protocol

import numpy as np

from rnnlab.config.schema import SampleConfig
from rnnlab.errors import RnnlabError
from rnnlab.nn.model import RecurrentModel


class TextCodec(Protocol):
    """What sampling needs of a text dataset: characters to token ids and back."""

    def encode(self, text: str) -> np.ndarray: ...

    def decode(self, ids: Iterable[int]) -> str: ...


def next_token(
    logits: np.ndarray, temperature: float, top_k: int, top_p: float, rng: np.random.Generator
) -> int:
    """A token id drawn from ``softmax(logits / temperature)`` ``(V,)``, restricted to the
    ``top_k`` most likely ids (0: all; ties with the k-th are kept) and then to the fewest
    most likely ids whose probability reaches ``top_p``; the most likely id if
    ``temperature`` is 0 (no random number is drawn then)."""
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    p = np.exp(z - z.max())
    if 0 < top_k < len(p):
        p[p < np.partition(p, -top_k)[-top_k]] = 0.0
    if top_p < 1:
        order = np.argsort(-p, kind="stable")
        before = np.cumsum(p[order]) - p[order]  # the mass of the more likely ids
        p[order[before >= top_p * p.sum()]] = 0.0
    cdf = np.cumsum(p)
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)


def unseen_characters(dataset: TextCodec, text: str) -> list[str]:
    """The distinct characters of ``text`` that ``dataset``'s vocabulary lacks, in order."""
    unk = getattr(dataset, "unk_id", None)
    if unk is None:
        return []
    ids = np.asarray(dataset.encode(text))
    return list(dict.fromkeys(ch for ch, i in zip(text, ids, strict=True) if i == unk))


def warn_unseen(dataset: TextCodec, prime: str, option: str) -> None:
    """One warning line on stderr naming the characters of ``prime`` the model never saw."""
    unseen = unseen_characters(dataset, prime)
    if unseen:
        print(
            f"rnnlab: warning: {option} has characters the model never saw in training: "
            f"{', '.join(map(repr, unseen))}; it reads each as one unknown character",
            file=sys.stderr,
        )


def generate(
    model: RecurrentModel,
    dataset: TextCodec,
    prime: str,
    length: int,
    rng: np.random.Generator,
    temperature: float = 0.8,
    top_k: int = 0,
    top_p: float = 1.0,
) -> Iterator[str]:
    """``prime``, then each of ``length`` generated characters as soon as it is drawn
    (see ``next_token``)."""
    if not prime:
        raise RnnlabError(
            "the priming text is empty; give at least one character (sample.prime=... or --prime)"
        )
    ids = np.asarray(dataset.encode(prime), dtype=np.int64)
    out, state = model.forward(ids[:, None], model.initial_state(1), train=False)
    logits = out[-1, 0]
    token = np.empty((1, 1), np.int64)
    yield prime
    for _ in range(length):
        token[0, 0] = next_token(logits, temperature, top_k, top_p, rng)
        yield dataset.decode(token[0])
        out, state = model.forward(token, state, train=False)
        logits = out[0, 0]


def sample_text(
    model: RecurrentModel, dataset: TextCodec, options: SampleConfig, rng: np.random.Generator
) -> str:
    """The whole text ``generate`` gives for a ``sample`` config group (``options``)."""
    return "".join(
        generate(
            model,
            dataset,
            options.prime,
            options.length,
            rng,
            options.temperature,
            options.top_k,
            options.top_p,
        )
    )
