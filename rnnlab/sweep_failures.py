"""Which jobs of a sweep failed, whatever its launcher and trackers.

The sweep's process makes a folder for this sweep under its sweep directory (where
jobs on other machines of a cluster reach it too) and names it to the jobs in the
environment; each failed job leaves one line there. At the end the sweep reads
them back, exits non-zero if there is any, and removes the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

#: the folder a sweep's failed jobs write to
FAILURES_ENV = "RNNLAB_SWEEP_FAILURES"
_ROOT = ".rnnlab"


def start_failure_records(sweep_dir: str) -> Path:
    """Make this sweep's folder of failures under ``sweep_dir`` and export it to the jobs."""
    root = Path(sweep_dir).absolute() / _ROOT
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="failed-jobs-", dir=root))
    os.environ[FAILURES_ENV] = str(folder)
    return folder


def record_failure(job_num: int, line: str) -> None:
    """In a job: note that it failed (``line``: what it printed). Outside a sweep, nothing."""
    folder = os.environ.get(FAILURES_ENV)
    if folder:
        with contextlib.suppress(OSError):  # the sweep's process is gone, or its folder
            (Path(folder) / f"job-{job_num}.txt").write_text(line, encoding="utf-8")


def end_failure_records(folder: Path) -> list[str]:
    """The lines of the jobs that failed, in job order; removes the folder."""
    files = sorted(folder.glob("job-*.txt"), key=lambda p: int(p.stem.split("-")[1]))
    lines = [p.read_text(encoding="utf-8") for p in files]
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # other sweeps in the same directory may use it
        folder.parent.rmdir()
    return lines
