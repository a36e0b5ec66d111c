"""Ctrl-C and SIGTERM (a scheduler's stop, ``kill``) end a run as KILLED, saying how to resume."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import NoReturn


class RunInterrupted(KeyboardInterrupt):
    """A run stopped from outside; its message says where it stopped and how to go on."""


def interrupted_message(step: int, run_dir: Path, checkpoint_step: int | None) -> str:
    """``checkpoint_step``: the step of the run's last checkpoint, None if it has none."""
    how = (
        f"rnnlab resume={run_dir} continues from step {checkpoint_step} (its last checkpoint)"
        if checkpoint_step is not None
        else "no checkpoint was written yet, so start it again"
    )
    return f"run interrupted at step {step}; {how}"


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt as Ctrl-C does (main thread only:
    elsewhere Python cannot install handlers, and the signal keeps its default)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
