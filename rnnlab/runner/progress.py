"""Training progress: a tqdm bar with ETA on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

#: plain progress lines: at most about this many over a job, and ...
MAX_LINES = 20
#: ... at least this many seconds apart, so a short job prints few
MIN_SPACING_S = 10.0


def format_metrics(metrics: dict[str, float]) -> str:
    """``val/loss 1.5544  val/bpc 2.2425``: the way progress lines show metrics."""
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())


class Progress:
    """Shows step, running loss and ETA; ``note`` adds the latest validation metrics.

    On a terminal, a tqdm bar. Elsewhere (a log file, a sweep's worker) plain lines whose
    number follows the job's length: one at the last step, and before it one whenever
    ``MIN_SPACING_S`` seconds or a ``MAX_LINES``-th of the job's expected duration (whichever
    is longer) have passed since the previous line.
    """

    def __init__(
        self,
        total: int,
        initial: int = 0,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream  # as it is now: a sweep labels it
        self.total, self.step, self.clock = total, initial, clock
        self.start = self.last_line = clock()
        self.start_step = initial
        self.loss = float("nan")
        self.bar = None
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, initial=initial, file=self.stream, unit="step", dynamic_ncols=True
            )

    def advance(self, loss: float) -> None:
        self.step += 1
        self.loss = loss
        if self.bar is not None:
            self.bar.update(1)
            if self.step % 10 == 0:
                self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            return
        now = self.clock()
        elapsed = now - self.start
        per_step = elapsed / (self.step - self.start_step)
        spacing = max(MIN_SPACING_S, per_step * (self.total - self.start_step) / MAX_LINES)
        if self.step == self.total or now - self.last_line >= spacing:
            self.last_line = now
            print(
                f"step {self.step}/{self.total}  loss {loss:.4f}  elapsed {elapsed:.0f}s  "
                f"eta {per_step * (self.total - self.step):.0f}s",
                file=self.stream,
                flush=True,
            )

    def note(self, metrics: dict[str, float]) -> None:
        text = format_metrics(metrics)
        if self.bar is not None:
            self.bar.write(f"step {self.step}: {text}", file=self.stream)
        else:
            print(f"step {self.step}: {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
