"""The core reaches MLflow only through hooks: importing it loads no MLflow code."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "rnnlab.cli",
    "rnnlab.commands",
    "rnnlab.runner.job",
    "rnnlab.runner.trainer",
    "rnnlab.sweep",
]


def test_importing_the_cli_runner_and_sweep_loads_no_mlflow_module(tmp_path):
    code = (
        f"import sys, {', '.join(CORE)}\n"
        "print('\\n'.join(m for m in sys.modules if m == 'mlflow' or m.startswith("
        "('mlflow.', 'rnnlab.mlflow_plugin'))))"
    )
    # run away from the checkout: "-c" puts the working directory first on sys.path, and the
    # installed rnnlab (with rnnlab.conf) is what is checked
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == []


def test_the_mlflow_plugin_is_an_entry_point_like_any_other():
    from rnnlab.plugins.manager import load_plugins

    [mlflow] = [info for info in load_plugins().loaded if info.name == "mlflow"]
    assert (mlflow.distribution, mlflow.module) == ("rnnlab", "rnnlab.mlflow_plugin.plugin")
