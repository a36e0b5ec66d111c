"""Files replaced as a whole or not at all: every file rnnlab rewrites goes through here."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def temp_prefix(name: str) -> str:
    """A file ``name`` being written is a temp file ``.<name>.<random>.tmp`` beside it."""
    return f".{name}."


def write_atomically(path: Path, write: Callable[[IO[bytes]], object], durable: bool) -> None:
    """Replace ``path`` with what ``write(file)`` writes to a binary file, atomically.

    The content goes to a temp file in the same folder (``temp_prefix``), renamed over
    ``path``: a process killed at any moment leaves the old or the new file, never a part.
    ``durable`` also fsyncs the file before the rename and the folder after, so the new file
    survives a crash of the machine (power loss): the checkpoints need it (a resume must find
    a whole ``last.npz``), as do the metrics file when a resume rewrites it (a run's only full
    history while the tracking store is away) and the MLflow backlog (the only record of what
    MLflow missed). The dL/dh_t profile, rewritten at every evaluation for a plot, does not.
    A failed write leaves no temp file; an OSError names ``path``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:  # a write through the file object
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
    if durable:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_text_atomically(path: Path, text: str, durable: bool) -> None:
    """``write_atomically`` for UTF-8 ``text``."""
    write_atomically(path, lambda f: f.write(text.encode("utf-8")), durable)
