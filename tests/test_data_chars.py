"""The character-level language-modelling dataset (rnnlab.data.chars)."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab.data import SPLITS, CharDataset, DataError
from rnnlab.data.chars import context_baselines, default_corpus, read_ids
from rnnlab.errors import RnnlabError

TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
ALPHABET = "abcdefghijklmnopqrstuvwxyz ."


def write(tmp_path: Path, content: bytes | str, name: str = "text.txt") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


@pytest.fixture
def text_file(tmp_path):
    """A 2,000-character text whose 0.8 / 0.1 / 0.1 splits each hold every character."""
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list(ALPHABET), size=2000))
    return write(tmp_path, text)


@pytest.fixture
def dataset(text_file):
    return CharDataset(text_file, train_fraction=0.8, val_fraction=0.1)


def all_batches(ds, split, batch_size, bptt, epoch=0):
    return [
        ds.batch(split, epoch, i, batch_size, bptt)
        for i in range(ds.num_batches(split, batch_size, bptt))
    ]


def test_batches_are_time_major_int32_with_a_shorter_last_batch(dataset):
    # train: 1600 chars -> 4 streams of 400 -> 399 input steps = 13 batches of 30 + 1 of 9
    batches = all_batches(dataset, "train", batch_size=4, bptt=30)
    assert len(batches) == 14
    for x, y in batches:
        assert x.dtype == y.dtype == np.int32
    assert {x.shape for x, _ in batches[:-1]} == {(30, 4)}
    assert batches[-1][0].shape == batches[-1][1].shape == (9, 4)


def test_targets_are_the_inputs_shifted_by_one_step(dataset):
    batches = all_batches(dataset, "train", batch_size=4, bptt=30)
    for (x, y), (x_next, _) in itertools.pairwise(batches):
        np.testing.assert_array_equal(y[:-1], x[1:])
        np.testing.assert_array_equal(y[-1], x_next[0])


def test_each_stream_is_a_contiguous_slice_of_the_split_across_batches(dataset):
    batches = all_batches(dataset, "train", batch_size=4, bptt=30)
    streams = np.concatenate([x for x, _ in batches] + [batches[-1][1][-1:]])
    np.testing.assert_array_equal(streams, dataset.splits["train"].reshape(4, 400).T)


def test_every_epoch_gives_the_same_batches(dataset):
    for i in range(dataset.num_batches("train", 4, 30)):
        for a, b in zip(
            dataset.batch("train", 0, i, 4, 30), dataset.batch("train", 7, i, 4, 30), strict=True
        ):
            np.testing.assert_array_equal(a, b)


def test_vocabulary_is_the_sorted_training_characters_plus_one_unknown_id(tmp_path):
    ds = CharDataset(write(tmp_path, "cabba" + "bd" + "xaa"), train_fraction=0.5, val_fraction=0.2)
    assert ds.chars == "abc"
    assert ds.unk_id == 3 and ds.vocab_size == ds.output_size == 4
    np.testing.assert_array_equal(ds.encode("abcd"), [0, 1, 2, 3])


def test_unseen_characters_map_to_the_unknown_id_and_are_counted(tmp_path):
    ds = CharDataset(write(tmp_path, "cabba" + "bd" + "xaa"), train_fraction=0.5, val_fraction=0.2)
    assert ds.unseen == {"val": 1, "test": 1}
    np.testing.assert_array_equal(ds.splits["test"], [ds.unk_id, 0, 0])
    assert ds.decode(ds.encode("abxé")) == "ab\ufffd\ufffd"


def test_decode_inverts_encode_for_training_characters(dataset):
    text = "the quick brown fox."
    assert dataset.decode(dataset.encode(text)) == text


def test_baselines_on_a_hand_computable_corpus(tmp_path):
    # train "aaab", val "aabz", test "zz"; ids a=0 b=1 unknown=2, so V = 3
    ds = CharDataset(write(tmp_path, "aaab" + "aabz" + "zz"), train_fraction=0.4, val_fraction=0.4)
    # add-one unigram: counts a 3, b 1, unknown 0 -> (4, 2, 1) / 7
    unigram = -(2 * math.log2(4 / 7) + math.log2(2 / 7) + math.log2(1 / 7)) / 4
    # add-one bigram: after a (a 2, b 1) -> (3, 2, 1) / 6; after b (nothing) -> (1, 1, 1) / 3
    # val transitions a->a, a->b, b->unknown
    bigram = -(math.log2(3 / 6) + math.log2(2 / 6) + math.log2(1 / 3)) / 3
    assert ds.baselines == pytest.approx(
        {"uniform_bpc": math.log2(3), "unigram_bpc": unigram, "bigram_bpc": bigram}
    )


def test_baselines_reproduce_the_published_tinyshakespeare_figures():
    # shared data README, 90/10 split, nats per character on validation, over the 65 characters
    ds = CharDataset()
    ids = ds.encode(default_corpus())
    cut = int(len(ids) * 0.9)
    nats = {k: v * math.log(2) for k, v in context_baselines(ids[:cut], ids[cut:], 65).items()}
    assert nats == pytest.approx(
        {"uniform_bpc": 4.174, "unigram_bpc": 3.347, "bigram_bpc": 2.482}, abs=5e-4
    )


def test_default_corpus_is_tinyshakespeare():
    text = default_corpus()
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == TINYSHAKESPEARE_SHA256


def test_default_corpus_is_read_from_inside_the_installed_package():
    script = """
import json, os, sys
from pathlib import Path
import rnnlab.data.chars as chars
package = Path(chars.__file__).resolve().parents[1]
opened = []
sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "open" else None)
ds = chars.CharDataset()
paths = [os.fsdecode(p) for p in opened if isinstance(p, (str, bytes, os.PathLike))]
paths = [p for p in paths if Path(p).suffix not in (".py", ".pyc")]  # imports are not data
print(json.dumps({"opened": paths,
                  "outside": [p for p in paths if not Path(p).resolve().is_relative_to(package)],
                  "train_chars": len(ds.splits["train"])}))
"""
    site = str(Path(rnnlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": site}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert any(p.endswith("tinyshakespeare.txt.gz") for p in report["opened"])
    assert report["outside"] == []
    assert report["train_chars"] == int(1115394 * 0.9)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\xef\xbb\xbf", "is empty"),
        (b"text\x00\x01\x02 more", "looks binary (NUL byte at offset 4)"),
        ("utf-16 text".encode("utf-16"), "is UTF-16 text; convert it to UTF-8"),
        (b"caf\xe9 au lait", "is not UTF-8 (byte 0xe9 at offset 3)"),
    ],
)
def test_unusable_file_content_raises_data_error(tmp_path, content, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CharDataset(write(tmp_path, content))


def test_missing_file_raises_data_error_naming_it(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(DataError, match=f"text file '{missing}' does not exist; check data.path"):
        CharDataset(missing)


def test_directory_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        CharDataset(tmp_path)


def test_split_too_short_for_batch_size_and_bptt_names_the_numbers(dataset):
    # val holds 200 characters; 8 streams x (bptt 30 + 1) need 248
    with pytest.raises(
        DataError,
        match=r"the val split of '.*' has 200 tokens, fewer than "
        r"batch_size 8 x \(bptt 30 \+ 1\) = 248",
    ):
        dataset.num_batches("train", 8, 30)


def test_text_too_short_for_the_split_fractions_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="has 10 characters, which leaves 1 for the val split"):
        CharDataset(write(tmp_path, "abcdefghij"), train_fraction=0.8, val_fraction=0.1)


@pytest.mark.parametrize("train_fraction, val_fraction", [(0.0, 0.1), (0.9, 0.0), (0.7, 0.3)])
def test_split_fractions_that_leave_a_split_empty_raise_data_error(
    text_file, train_fraction, val_fraction
):
    with pytest.raises(DataError, match="change the split fractions"):
        CharDataset(text_file, train_fraction=train_fraction, val_fraction=val_fraction)


def test_data_error_is_a_value_error_and_an_rnnlab_error():
    assert issubclass(DataError, ValueError) and issubclass(DataError, RnnlabError)


@pytest.mark.parametrize("distinct, dtype", [(255, np.uint8), (256, np.uint16)])
def test_token_ids_are_held_in_the_smallest_unsigned_type_for_the_vocabulary(
    tmp_path, distinct, dtype
):
    alphabet = "".join(chr(0x100 + i) for i in range(distinct))
    ds = CharDataset(write(tmp_path, alphabet * 20), train_fraction=0.9, val_fraction=0.05)
    assert ds.vocab_size == distinct + 1
    assert {ids.dtype for ids in ds.splits.values()} == {np.dtype(dtype)}


def zipf_text(path: Path, chars: int, seed: int = 0) -> Path:
    """``chars`` characters drawn with Zipf-like frequencies from 300 (ASCII, accented
    and CJK), so that the ids need two bytes and blocks of every kind are decoded."""
    rng = np.random.default_rng(seed)
    alphabet = np.array(
        [*range(32, 127), 10, *range(0xC0, 0x100), *range(0x4E00, 0x4E00 + 140)], dtype="<u4"
    )
    weights = 1.0 / np.arange(1, len(alphabet) + 1)
    points = alphabet[rng.choice(len(alphabet), chars, p=weights / weights.sum())]
    path.write_bytes(points.tobytes().decode("utf-32-le").encode("utf-8"))
    return path


def test_loading_a_text_peaks_at_no_more_than_6_bytes_per_character(tmp_path):
    """Traced by tracemalloc (numpy reports its buffers), from reading the file to the
    finished dataset with its baselines; 24 million characters, 300 distinct."""
    path = zipf_text(tmp_path / "zipf.txt", 24_000_000)
    tracemalloc.start()
    try:
        ds = CharDataset(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.vocab_size == 301
    assert peak / 24_000_000 <= 6


def test_blocks_split_characters_and_report_offsets_in_the_whole_file(tmp_path, monkeypatch):
    text = "naïve café — 東京 " * 50
    bad = write(tmp_path, text.encode("utf-8") + b"\xe9 tail", name="bad.txt")
    whole = CharDataset(write(tmp_path, text))
    monkeypatch.setattr("rnnlab.data.text.BLOCK_BYTES", 5)  # cuts through multi-byte characters
    monkeypatch.setattr("rnnlab.data.chars.ID_BLOCK", 7)
    blocked = CharDataset(write(tmp_path, text))
    assert blocked.chars == whole.chars and blocked.baselines == pytest.approx(whole.baselines)
    for name in SPLITS:
        np.testing.assert_array_equal(blocked.splits[name], whole.splits[name])
    offset = len(text.encode("utf-8"))
    with pytest.raises(DataError, match=rf"is not UTF-8 \(byte 0xe9 at offset {offset}\)"):
        CharDataset(bad)


def test_bigram_baseline_is_the_same_with_dense_and_sorted_pair_counts(monkeypatch):
    rng = np.random.default_rng(0)
    train, val = rng.integers(0, 40, 5000), rng.integers(0, 40, 700)
    dense = context_baselines(train, val, 41)
    monkeypatch.setattr("rnnlab.data.chars.DENSE_PAIRS", 0)
    assert context_baselines(train, val, 41) == pytest.approx(dense, rel=1e-12)


def test_a_file_that_changes_while_it_is_read_raises_data_error():
    lengths = iter([[3, 3], [3, 4]])  # the second pass finds one character more

    def blocks():
        return (np.full(n, 97, dtype=np.uint8) for n in next(lengths))

    with pytest.raises(DataError, match="changed while it was read"):
        read_ids(blocks, "'t.txt'")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # were the FIFO opened, this writer would end the wait with an empty text after 10 s
    unblock = threading.Timer(10, lambda: open(fifo, "wb").close())
    unblock.start()
    try:
        with pytest.raises(DataError, match=r"is a named pipe \(FIFO\), not a regular file"):
            CharDataset(fifo)
    finally:
        unblock.cancel()


def test_a_device_is_refused_as_not_a_regular_file():
    with pytest.raises(DataError, match="'/dev/null' is a character device, not a regular file"):
        CharDataset("/dev/null")
