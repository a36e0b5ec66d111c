"""Helpers shared by test modules (importable: tests/ is on sys.path under pytest)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rnnlab_command() -> str:
    """The installed ``rnnlab`` console script of the interpreter running the tests."""
    path = Path(sys.executable).parent / "rnnlab"
    return str(path) if path.exists() else shutil.which("rnnlab")


def metric_points(client, run) -> tuple[list, list]:
    """(step, metric) pairs of ``run``: from its local metrics.jsonl, and from MLflow, sorted."""
    local = Path(run.data.tags["rnnlab.run_dir"]) / "metrics.jsonl"
    points = [(rec["step"], key) for rec in map(json.loads, local.read_text().splitlines())
              for key in rec["metrics"]]
    remote = [(m.step, key) for key in run.data.metrics
              for m in client.get_metric_history(run.info.run_id, key)]
    return sorted(points), sorted(remote)
