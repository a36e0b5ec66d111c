"""The ``metrics_file`` tracker: every metrics batch as one JSON line in the run directory.

``metrics.jsonl`` holds ``{"step": int, "metrics": {name: float}}`` per line, training
and evaluation batches alike. Each line is flushed as it is written, so the file keeps
everything up to the moment a process dies, whatever happens to the tracking store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.files import write_text_atomically
from rnnlab.names import METRICS_FILE
from rnnlab.plugins.hookspecs import hookimpl

Record = tuple[int, dict[str, float]]


def read_metrics(path: str | os.PathLike) -> list[Record]:
    """The ``(step, metrics)`` records of a metrics file, in file order.

    A last line cut off mid-write (the process died) is skipped; a malformed line
    anywhere else raises ``RnnlabError``.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            records.append((int(entry["step"]), dict(entry["metrics"])))
        except (ValueError, KeyError, TypeError):
            if number == len(lines):
                break
            raise RnnlabError(
                f"{path}, line {number}, is not a metrics record; only the last "
                f"line of a metrics file may be cut off"
            ) from None
    return records


def _write_records(path: Path, records: list[Record]) -> None:
    """Replace ``path`` atomically with ``records``."""
    text = "".join(_line(step, metrics) for step, metrics in records)
    write_text_atomically(path, text, durable=True)


def _line(step: int, metrics: dict) -> str:
    return (
        json.dumps({"step": int(step), "metrics": {k: float(v) for k, v in metrics.items()}}) + "\n"
    )


class MetricsFileTracker:
    """Appends each ``on_metrics`` / ``on_evaluation`` batch to ``run.run_dir/metrics.jsonl``.

    A fresh run starts the file empty; a resumed run first drops the records after
    ``run.resumed_from_step`` (logged after the checkpoint it resumes from), so no
    step appears twice.
    """

    def __init__(self, run):
        self.path = Path(run.run_dir) / METRICS_FILE
        self.file = None

    @hookimpl
    def on_run_start(self, run):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if run.resumed_from_step > 0 and self.path.is_file():
            kept = [r for r in read_metrics(self.path) if r[0] <= run.resumed_from_step]
            _write_records(self.path, kept)
            self.file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (open for the run; closed in on_run_end)
        else:
            self.file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (open for the run; closed in on_run_end)

    @hookimpl
    def on_metrics(self, run, step, metrics):
        self._append(step, metrics)

    @hookimpl
    def on_evaluation(self, run, step, split, metrics):
        self._append(step, metrics)

    @hookimpl
    def on_run_end(self, run, status, error):
        if self.file is not None:
            self.file.close()
            self.file = None

    def _append(self, step: int, metrics: dict) -> None:
        if self.file is None:
            raise RuntimeError("metrics_file: on_metrics before on_run_start")
        self.file.write(_line(step, metrics))
        self.file.flush()
