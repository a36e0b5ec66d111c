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
"""

from __future__ import annotations

import codecs
import gzip
import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import numpy as np

from rnnlab.data.base import SPLITS, DataError, TokenStreams

DEFAULT_CORPUS = "tinyshakespeare.txt.gz"
UNKNOWN_CHAR = "\ufffd"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode_utf8(raw: bytes, source: str) -> str:
    """``raw`` as text, or DataError if it is empty, binary or not UTF-8."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    if not raw:
        raise DataError(f"{source} is empty; give a text file with some content")
    if raw.startswith(_UTF16_BOMS):
        raise DataError(
            f"{source} is UTF-16 text; convert it to UTF-8, "
            f"e.g. iconv -f UTF-16 -t UTF-8 in.txt > out.txt"
        )
    nul = raw.find(b"\0")
    if nul >= 0:
        raise DataError(f"{source} looks binary (NUL byte at offset {nul}); give a UTF-8 text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{source} is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            f"convert it, e.g. iconv -f LATIN1 -t UTF-8 in.txt > out.txt"
        ) from None


def default_corpus() -> str:
    """The built-in tinyshakespeare text, read from inside the installed package."""
    packed = resources.files("rnnlab.data.corpora").joinpath(DEFAULT_CORPUS).read_bytes()
    return gzip.decompress(packed).decode("utf-8")


def load_text(path: str | os.PathLike | None) -> tuple[str, str]:
    """How messages name the text, and the text: of the UTF-8 file at ``path``, or
    the built-in corpus when ``path`` is None. DataError names what is wrong."""
    if path is None:
        return "the built-in tinyshakespeare corpus", default_corpus()
    if str(path) == "":
        raise DataError(
            "data.path is empty; give a UTF-8 text file, or leave it unset "
            "for the built-in tinyshakespeare corpus"
        )
    file = Path(path).expanduser()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise DataError(
            f"text file '{file}' does not exist; check data.path, or leave it "
            f"unset for the built-in tinyshakespeare corpus"
        ) from None
    except IsADirectoryError:
        raise DataError(f"'{file}' is a directory; point data.path at a text file") from None
    except OSError as exc:
        raise DataError(
            f"cannot read '{file}' ({exc.strerror}); check data.path and the file's permissions"
        ) from None
    return f"'{file}'", decode_utf8(raw, f"'{file}'")


def code_points(text: str) -> np.ndarray:
    """The code points of ``text``, uint32 of shape ``(len(text),)``."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def context_baselines(train: np.ndarray, val: np.ndarray, vocab_size: int) -> dict[str, float]:
    """Bits per token on ``val`` of uniform, unigram and bigram models of ``train``.

    ``train`` and ``val`` are token ids below ``vocab_size``; the unigram and
    bigram counts get add-one (Laplace) smoothing over all ``vocab_size`` ids.
    The bigram scores ``val[1:]``, each token given the one before it.
    """
    v = vocab_size
    unigram = (np.bincount(train, minlength=v) + 1.0) / (len(train) + v)
    # sparse bigram counts: a dense (V, V) table is too large for big alphabets
    train_pairs, pair_counts = np.unique(
        train[:-1].astype(np.int64) * v + train[1:], return_counts=True
    )
    val_pairs = val[:-1].astype(np.int64) * v + val[1:]
    at = np.minimum(np.searchsorted(train_pairs, val_pairs), len(train_pairs) - 1)
    seen = np.where(train_pairs[at] == val_pairs, pair_counts[at], 0)
    followers = np.bincount(train[:-1], minlength=v)
    bigram = (seen + 1.0) / (followers[val[:-1]] + v)
    return {
        "uniform_bpc": float(np.log2(v)),
        "unigram_bpc": float(-np.log2(unigram[val]).mean()),
        "bigram_bpc": float(-np.log2(bigram).mean()),
    }


class CharDataset(TokenStreams):
    """Characters of a UTF-8 text file (or tinyshakespeare), for next-character prediction.

    ``path``: a UTF-8 text file; None for the built-in tinyshakespeare corpus.
    Attributes beyond the contract: ``chars`` (the training characters; id i is
    ``chars[i]``), ``unk_id``, ``unseen`` (split -> count of characters not in
    ``chars``) and ``source`` (how messages name the text).
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        train_fraction: float = 0.9,
        val_fraction: float = 0.05,
    ):
        if not (0 < train_fraction < 1 and val_fraction > 0 and train_fraction + val_fraction < 1):
            raise DataError(
                f"split fractions train {train_fraction} and val {val_fraction} must be "
                f"positive with a sum below 1 (test gets the rest); fix data.train_fraction "
                f"and data.val_fraction"
            )
        source, text = load_text(path)
        points = code_points(text)
        n = len(points)
        cuts = [int(n * train_fraction), int(n * (train_fraction + val_fraction))]
        parts = dict(zip(SPLITS, np.split(points, cuts), strict=True))
        for name, part in parts.items():
            if len(part) < 2:
                raise DataError(
                    f"{source} has {n} characters, which leaves {len(part)} for the {name} "
                    f"split (at least 2 needed); use a longer text or change the split "
                    f"fractions"
                )

        self._points = np.unique(parts["train"])
        self.chars = self._points.tobytes().decode("utf-32-le")
        self.unk_id = len(self.chars)
        self._table = np.append(self._points, ord(UNKNOWN_CHAR)).astype("<u4")
        ids = {name: self._lookup(part) for name, part in parts.items()}
        vocab_size = len(self.chars) + 1
        super().__init__(ids, vocab_size=vocab_size, source=source)
        self.unseen = {name: int((ids[name] == self.unk_id).sum()) for name in ("val", "test")}
        self.baselines = context_baselines(ids["train"], ids["val"], vocab_size)

    def _lookup(self, points: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(self._points, points), len(self._points) - 1)
        return np.where(self._points[at] == points, at, self.unk_id).astype(np.int32)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``, int32 ``(len(text),)``; unseen characters become ``unk_id``."""
        return self._lookup(code_points(text))

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a 1-D sequence of token ids; ``unk_id`` is written as U+FFFD."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1 or (ids.size and not 0 <= ids.min() <= ids.max() < self.vocab_size):
            raise ValueError(f"decode takes a 1-D sequence of ids in [0, {self.vocab_size})")
        return self._table[ids].tobytes().decode("utf-32-le")
