"""A sweep job's console: every line it prints starts with its job number, so the lines of
jobs running in parallel (the joblib launcher) can be told apart."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class LabelledStream(io.TextIOBase):
    """Writes to ``stream``, with ``label`` at the start of every line.

    It is never a terminal: a progress bar redrawn in place would mix with the other jobs'.
    """

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label = stream, label
        self.at_line_start = True

    def write(self, text: str) -> int:
        pieces = []
        for line in text.splitlines(keepends=True):
            if self.at_line_start:
                pieces.append(self.label)
            pieces.append(line)
            self.at_line_start = line.endswith("\n")
        self.stream.write("".join(pieces))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


@contextmanager
def labelled_console(job: int) -> Iterator[None]:
    """Within: ``sys.stdout`` and ``sys.stderr`` lines start with ``[job <job>] ``."""
    saved = sys.stdout, sys.stderr
    label = f"[job {job}] "
    sys.stdout, sys.stderr = LabelledStream(sys.stdout, label), LabelledStream(sys.stderr, label)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved
