"""Character-level language modelling on a UTF-8 text (task "lm").

- Text: any UTF-8 file (a leading byte-order mark is dropped), or by default
  tinyshakespeare (1,115,394 characters), shipped gzip-compressed in
  ``rnnlab.data.corpora``.
- Splits: contiguous, in the order train, val, test. For n characters, train
  is the first ``int(n * train_fraction)``, val runs up to
  ``int(n * (train_fraction + val_fraction))``, test is the rest
  (default 0.9 / 0.05 / 0.05). Every split needs at least 2 characters.
- Vocabulary: the distinct characters of the train split, sorted by code
  point, have ids ``0 .. V-2`` (``chars``); id ``V-1`` (``unk_id``) stands for
  every character not seen in training. ``encode`` maps such characters to
  ``unk_id``; ``decode`` writes ``unk_id`` as U+FFFD. ``unseen`` counts them
  in val and test.
- Baselines, on the val split in bits per character, over the V outputs of
  the model: ``uniform_bpc`` (log2 V), and ``unigram_bpc`` and ``bigram_bpc``
  estimated on the train split with add-one (Laplace) smoothing; the bigram
  predicts each val character after the first from the one before it.
- Memory: the text is read in blocks (``rnnlab.data.text``) in two passes,
  and its ids are held once, in the smallest unsigned type that holds V
  (one byte per character up to 256 distinct characters, two up to 65,536):
  loading peaks at a few bytes per character plus a few blocks.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from typing import BinaryIO

import numpy as np

from rnnlab.data.base import SPLITS, DataError, TokenStreams, id_dtype
from rnnlab.data.text import code_point_blocks, opener, text_file

DEFAULT_CORPUS = "tinyshakespeare.txt.gz"
UNKNOWN_CHAR = "\ufffd"
#: the code points of Unicode: 0 .. 0x10FFFF
CODE_POINTS = 0x110000
#: ids processed at a time by the passes over a whole split (bounds their temporaries)
ID_BLOCK = 1 << 18
#: pair counts of a block are dense (bincount) up to this many possible pairs, else sorted
DENSE_PAIRS = 1 << 20


def open_default_corpus() -> BinaryIO:
    """The built-in tinyshakespeare text as a binary stream, from inside the installed package."""
    packed = resources.files("rnnlab.data.corpora").joinpath(DEFAULT_CORPUS).read_bytes()
    return gzip.GzipFile(fileobj=io.BytesIO(packed))  # type: ignore[return-value]


def default_corpus() -> str:
    """The built-in tinyshakespeare text."""
    with open_default_corpus() as stream:
        return stream.read().decode("utf-8")


def text_source(
    path: str | os.PathLike | None,
) -> tuple[str, Callable[[], Iterator[np.ndarray]]]:
    """How messages name the text, and a function giving its code points block by block:
    of the UTF-8 file at ``path``, or the built-in corpus when ``path`` is None.

    DataError names what is wrong (checked before anything is read).
    """
    if path is None:
        source, open_stream = "the built-in tinyshakespeare corpus", open_default_corpus
    else:
        file = text_file(path)
        source, open_stream = f"'{file}'", opener(file)
    return source, lambda: code_point_blocks(open_stream, source)


def code_points(text: str) -> np.ndarray:
    """The code points of ``text``, uint32 of shape ``(len(text),)``."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def id_blocks(n: int) -> Iterator[slice]:
    """Slices of ``ID_BLOCK`` positions covering ``range(n)``."""
    for start in range(0, n, ID_BLOCK):
        yield slice(start, min(start + ID_BLOCK, n))


def read_ids(
    blocks: Callable[[], Iterator[np.ndarray]], source: str
) -> tuple[np.ndarray, np.ndarray]:
    """The text's alphabet (sorted code points, uint32 ``(A,)``) and its characters as
    indices into it, ``(n,)`` in the smallest unsigned type that holds ``A - 1``.

    Two passes over ``blocks()``: the first finds the alphabet and the length, the
    second fills the ids; no Python object per character.
    """
    seen = np.zeros(CODE_POINTS, dtype=bool)
    n = 0
    for points in blocks():
        seen[points] = True
        n += len(points)
    alphabet = np.flatnonzero(seen).astype("<u4")
    table = np.zeros(CODE_POINTS, dtype=id_dtype(len(alphabet)))
    table[alphabet] = np.arange(len(alphabet))
    ids = np.empty(n, dtype=table.dtype)
    filled = 0
    for points in blocks():
        if filled + len(points) > n:
            filled = -1  # the file grew
            break
        np.take(table, points, out=ids[filled : filled + len(points)])
        filled += len(points)
    if filled != n:
        raise DataError(f"{source} changed while it was read; load it again once it is complete")
    return alphabet, ids


def id_counts(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """How often each id below ``vocab_size`` occurs in ``ids``: int64 ``(vocab_size,)``."""
    counts = np.zeros(vocab_size, dtype=np.int64)
    for part in id_blocks(len(ids)):
        counts += np.bincount(ids[part], minlength=vocab_size)
    return counts


def renumber(ids: np.ndarray, new_id: np.ndarray) -> np.ndarray:
    """``new_id[ids]``, block by block (in place when ``new_id`` has the dtype of ``ids``)."""
    out = ids if new_id.dtype == ids.dtype else np.empty(len(ids), dtype=new_id.dtype)
    for part in id_blocks(len(ids)):
        np.take(new_id, ids[part], out=out[part])
    return out


def pair_keys(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """Each adjacent pair of ``ids`` as one int64 key ``ids[i] * vocab_size + ids[i+1]``."""
    return ids[:-1].astype(np.int64) * vocab_size + ids[1:]


def block_pair_counts(ids: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct adjacent-pair keys of ``ids`` (sorted int64, see ``pair_keys``) and
    their counts; ``ids`` is one block (a dense count when all pairs fit ``DENSE_PAIRS``)."""
    keys = pair_keys(ids, vocab_size)
    if vocab_size * vocab_size > DENSE_PAIRS:
        return np.unique(keys, return_counts=True)
    dense = np.bincount(keys, minlength=vocab_size * vocab_size)
    present = np.flatnonzero(dense)
    return present, dense[present]


def pair_blocks(ids: np.ndarray) -> Iterator[np.ndarray]:
    """Overlapping blocks of ``ids`` that hold each adjacent pair exactly once."""
    for part in id_blocks(len(ids) - 1):
        yield ids[part.start : part.stop + 1]


def context_baselines(train: np.ndarray, val: np.ndarray, vocab_size: int) -> dict[str, float]:
    """Bits per token on ``val`` of uniform, unigram and bigram models of ``train``.

    ``train`` and ``val`` are token ids below ``vocab_size``; the unigram and
    bigram counts get add-one (Laplace) smoothing over all ``vocab_size`` ids.
    The bigram scores ``val[1:]``, each token given the one before it. Memory
    beyond the inputs grows with the distinct pairs of ``val``, not with its length.
    """
    v = vocab_size
    train_counts = id_counts(train, v)
    unigram = (train_counts + 1.0) / (len(train) + v)
    unigram_bits = -(id_counts(val, v) * np.log2(unigram)).sum() / len(val)
    # bigram counts in train of the pairs val holds (a dense (V, V) table is too large
    # for big alphabets)
    val_pairs, val_pair_counts = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    for block in pair_blocks(val):
        keys, counts = block_pair_counts(block, v)
        val_pairs, where = np.unique(np.concatenate([val_pairs, keys]), return_inverse=True)
        val_pair_counts = np.bincount(where, np.concatenate([val_pair_counts, counts]))
    seen = np.zeros(len(val_pairs))
    for block in pair_blocks(train):
        keys, counts = block_pair_counts(block, v)
        at = np.minimum(np.searchsorted(val_pairs, keys), len(val_pairs) - 1)
        hit = val_pairs[at] == keys
        seen += np.bincount(at[hit], counts[hit], minlength=len(val_pairs))
    followers = train_counts.copy()
    followers[train[-1]] -= 1  # the last token of train is followed by nothing
    bigram = (seen + 1.0) / (followers[val_pairs // v] + v)
    bigram_bits = -(val_pair_counts * np.log2(bigram)).sum() / (len(val) - 1)
    return {
        "uniform_bpc": float(np.log2(v)),
        "unigram_bpc": float(unigram_bits),
        "bigram_bpc": float(bigram_bits),
    }


class CharVocabulary:
    """Characters to token ids and back: ``chars[i]`` (distinct, sorted by code point) has id
    i, and id ``unk_id = len(chars)`` stands for every other character (``vocab_size`` ids)."""

    def __init__(self, chars: str):
        self.chars = chars
        self._points = code_points(chars)
        if np.any(np.diff(self._points.astype(np.int64)) <= 0):
            raise ValueError("a vocabulary's characters must be distinct and sorted by code point")
        self.unk_id = len(chars)
        self.vocab_size = len(chars) + 1
        self._table = np.append(self._points, ord(UNKNOWN_CHAR)).astype("<u4")

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``, int32 ``(len(text),)``; unseen characters become ``unk_id``."""
        points = code_points(text)
        at = np.minimum(np.searchsorted(self._points, points), len(self._points) - 1)
        return np.where(self._points[at] == points, at, self.unk_id).astype(np.int32)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a 1-D sequence of token ids; ``unk_id`` is written as U+FFFD."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1 or (ids.size and not 0 <= ids.min() <= ids.max() < self.vocab_size):
            raise ValueError(f"decode takes a 1-D sequence of ids in [0, {self.vocab_size})")
        return self._table[ids].tobytes().decode("utf-32-le")


class CharDataset(TokenStreams):
    """Characters of a UTF-8 text file (or tinyshakespeare), for next-character prediction.

    ``path``: a UTF-8 text file; None for the built-in tinyshakespeare corpus.
    ``train_fraction`` and ``val_fraction``: the shares of the first two splits (the chars
    config refuses any that are not positive with a sum below 1); DataError if a split gets
    fewer than 2 characters. Attributes beyond the contract: ``vocabulary`` (a
    ``CharVocabulary`` of the training characters), ``chars`` (those characters; id i is
    ``chars[i]``), ``unk_id``, ``unseen`` (split -> count of characters not in ``chars``) and
    ``source`` (how messages name the text).
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        train_fraction: float = 0.9,
        val_fraction: float = 0.05,
    ):
        source, blocks = text_source(path)
        alphabet, ids = read_ids(blocks, source)
        n = len(ids)
        cuts = [int(n * train_fraction), int(n * (train_fraction + val_fraction))]
        for name, size in zip(SPLITS, np.diff([0, *cuts, n]), strict=True):
            if size < 2:
                raise DataError(
                    f"{source} has {n} characters, which leaves {size} for the {name} "
                    f"split (at least 2 needed); use a longer text or change the split "
                    f"fractions"
                )

        in_train = id_counts(ids[: cuts[0]], len(alphabet)) > 0
        self.vocabulary = CharVocabulary(alphabet[in_train].tobytes().decode("utf-32-le"))
        self.chars, self.unk_id = self.vocabulary.chars, self.vocabulary.unk_id
        vocab_size = self.vocabulary.vocab_size
        # ids into the whole text's alphabet -> ids into the training characters
        new_id = np.full(len(alphabet), self.unk_id, dtype=id_dtype(vocab_size))
        new_id[in_train] = np.arange(self.unk_id)
        ids = renumber(ids, new_id)
        ids.flags.writeable = False
        super().__init__(dict(zip(SPLITS, np.split(ids, cuts), strict=True)), vocab_size, source)
        self.unseen = {
            name: int(id_counts(self.splits[name], vocab_size)[self.unk_id])
            for name in ("val", "test")
        }
        self.baselines = context_baselines(self.splits["train"], self.splits["val"], vocab_size)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``, int32 ``(len(text),)``; unseen characters become ``unk_id``."""
        return self.vocabulary.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a 1-D sequence of token ids; ``unk_id`` is written as U+FFFD."""
        return self.vocabulary.decode(ids)
