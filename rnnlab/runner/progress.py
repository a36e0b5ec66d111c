"""Training progress: a tqdm bar with ETA on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_metrics(metrics: dict[str, float]) -> str:
    """``val/loss 1.5544  val/bpc 2.2425``: the way progress lines show metrics."""
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())


class Progress:
    """Shows step, running loss and ETA; ``note`` adds the latest validation metrics."""

    def __init__(
        self, total: int, initial: int = 0, stream: TextIO = sys.stderr, lines: int = 20
    ) -> None:
        self.total, self.step, self.stream = total, initial, stream
        self.every = max(1, (total - initial) // lines)
        self.start, self.start_step = time.perf_counter(), initial
        self.loss = float("nan")
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, initial=initial, file=stream, unit="step", dynamic_ncols=True
            )

    def advance(self, loss: float) -> None:
        self.step += 1
        self.loss = loss
        if self.bar is not None:
            self.bar.update(1)
            if self.step % 10 == 0:
                self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        elif self.step % self.every == 0 or self.step == self.total:
            elapsed = time.perf_counter() - self.start
            done = self.step - self.start_step
            eta = elapsed / done * (self.total - self.step)
            print(
                f"step {self.step}/{self.total}  loss {loss:.4f}  "
                f"elapsed {elapsed:.0f}s  eta {eta:.0f}s",
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
