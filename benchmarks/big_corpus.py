"""A 1 GB UTF-8 text loads and trains: peak memory of loading it and of a short run.

    python -m benchmarks.big_corpus               # 1 GB text (about 2 minutes)
    python -m benchmarks.big_corpus --size-mb 64  # a smaller text

The text is tinyshakespeare's lines in 16 shuffled orders, each with one line
in 50 replaced by CJK characters (so the vocabulary passes 256 and ids take
two bytes, the harder case), written to a temporary folder. Two measurements,
each in a fresh interpreter:

- loading: ``CharDataset(path)``; tracemalloc's peak (numpy reports its buffers)
  and the growth of the peak resident set (``VmHWM``) over the interpreter's,
  per character of text;
- training: the ``rnnlab`` command's entry point (``rnnlab.cli:main``) on the
  text, a few steps of the default LSTM with the metrics file as tracker; the
  process's peak resident set at exit, imports included.

Results go to stdout as a Markdown table; nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import env_with_repo
from benchmarks.markdown import table
from rnnlab.data.chars import default_corpus

MB = 1e6
TRAIN = [
    "data=chars",
    "train.steps=20",
    "train.log_every=10",
    "train.eval_every=10",
    "train.eval_batches=5",
    # the test pass covers the whole test split: keep it to about 1 MB
    "data.train_fraction=0.998",
    "data.val_fraction=0.001",
    "tracking.trackers=[metrics_file]",
]
LOAD = """
import json, sys, time, tracemalloc
from benchmarks.memory import reset_peak_rss, rss_bytes
from rnnlab.data import CharDataset

reset_peak_rss()
before = rss_bytes("VmRSS")
tracemalloc.start()
start = time.perf_counter()
ds = CharDataset(sys.argv[1])
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
chars = sum(len(ids) for ids in ds.splits.values())
print(json.dumps({"chars": chars, "vocab": ds.vocab_size, "seconds": seconds,
                  "traced_peak": traced, "rss_growth": rss_bytes("VmHWM") - before}))
"""
RUN = """
import atexit, sys
from benchmarks.memory import rss_bytes
from rnnlab.cli import main

atexit.register(lambda: print("PEAK_RSS", rss_bytes("VmHWM"), file=sys.stderr))
sys.argv = ["rnnlab", *sys.argv[1:]]
main()
"""


def write_text(path: Path, size_mb: int, seed: int = 0) -> int:
    """Write about ``size_mb`` MB of text to ``path``, a random one of 16 shuffled half
    corpora at a time; its size in bytes."""
    rng = np.random.default_rng(seed)
    lines = np.array(default_corpus().splitlines(keepends=True), dtype=object)
    cjk = list("".join(chr(0x4E00 + i) for i in range(400)))
    variants = []
    for _ in range(16):
        block = rng.permutation(lines)[: len(lines) // 2]
        for i in range(0, len(block), 50):
            block[i] = "".join(rng.choice(cjk, 40)) + "\n"
        variants.append("".join(block).encode("utf-8"))
    with open(path, "wb") as out:
        while out.tell() < size_mb * MB:
            out.write(variants[rng.integers(len(variants))])
        return out.tell()


def python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env_with_repo(),
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "big.txt"
        start = time.perf_counter()
        size = write_text(text, args.size_mb)
        print(f"wrote {size / MB:.0f} MB in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        load = json.loads(python(LOAD, str(text)).stdout)
        start = time.perf_counter()
        run = python(RUN, *TRAIN, f"data.path={text}", f"hydra.run.dir={tmp}/run")
        run_seconds = time.perf_counter() - start
        peak_rss = int(run.stderr.rsplit("PEAK_RSS", 1)[1].split()[0])
    chars = load["chars"]
    rows = [
        ["text", f"{size / MB:.0f} MB, {chars / MB:.0f} M characters, V = {load['vocab']}"],
        ["load: time", f"{load['seconds']:.0f} s"],
        [
            "load: traced peak",
            f"{load['traced_peak'] / MB:.0f} MB ({load['traced_peak'] / chars:.2f} B/char)",
        ],
        [
            "load: peak RSS growth",
            f"{load['rss_growth'] / MB:.0f} MB ({load['rss_growth'] / chars:.2f} B/char)",
        ],
        ["rnnlab run (20 steps, LSTM H=128): time", f"{run_seconds:.0f} s"],
        ["rnnlab run: peak RSS, imports included", f"{peak_rss / MB:.0f} MB"],
    ]
    print(table(["measure", "value"], rows))


if __name__ == "__main__":
    main()
