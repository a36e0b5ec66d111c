"""The README's "Running from Python or a notebook" example trains a run without Hydra."""

from __future__ import annotations

import subprocess
import sys

from rnnlab.tracking.metrics_file import read_metrics
from tests_support import readme_example


def test_the_notebook_example_trains_a_run_and_reads_its_metrics(tmp_path):
    (tmp_path / "example.py").write_text(readme_example("notebook"))
    proc = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "runs" / "gru-difference"
    assert {"config.yaml", "last.npz", "best.npz", "metrics.jsonl"} <= {
        p.name for p in run_dir.iterdir()
    }
    records = read_metrics(run_dir / "metrics.jsonl")
    assert [step for step, m in records if "val/loss" in m] == [20, 40]
    assert any("test/loss" in m for _, m in records)
    printed = [line.split()[0] for line in proc.stdout.splitlines()]
    assert printed == ["20", "40"]
    assert "cell:\n  name: gru\n" in (run_dir / "config.yaml").read_text()
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "mlflow.db").exists()


def test_a_python_run_into_a_taken_directory_is_refused_and_changes_nothing(tmp_path):
    code = (
        "from rnnlab.config import make_run_config\n"
        "from rnnlab.runner.job import run_job\n"
        "run_job(make_run_config(data='difference', tracking={'trackers': []}), run_dir='taken')\n"
    )
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode != 0
    assert "taken is not empty and does not hold an rnnlab run" in proc.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
