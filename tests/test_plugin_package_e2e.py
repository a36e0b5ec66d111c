"""The example plugin package, pip-installed into a fresh venv, trains via the installed command."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv

import pytest
from mlflow.tracking import MlflowClient

from tests_support import REPO, rnnlab_experiment

pytestmark = pytest.mark.slow

PLUGIN = REPO / "plugins" / "rnnlab-mgu"


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory):
    """A new venv holding rnnlab and rnnlab-mgu (their dependencies come from the test env)."""
    root = tmp_path_factory.mktemp("venv")
    env_dir = root / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (root / "env" / site.split(str(env_dir) + "/")[1] / "outer.pth").write_text(
        "\n".join(outer) + "\n"
    )
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(REPO),
            str(PLUGIN),
        ],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return env_dir


def run_in(env_dir, *args, cwd):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd}/mlflow.db"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(env_dir / "bin" / "rnnlab"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_plugins_command_lists_the_installed_plugin(plugin_venv, tmp_path):
    proc = run_in(plugin_venv, "plugins", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "mgu  (rnnlab-mgu 0.1.0, rnnlab_mgu.plugin): cell mgu" in proc.stdout


def test_plugin_cell_trains_end_to_end(plugin_venv, tmp_path):
    proc = run_in(
        plugin_venv,
        "cell=mgu",
        "data=chars",
        "cell.forget_bias=2.0",
        "model.hidden_size=32",
        "bptt=16",
        "train.steps=30",
        "train.eval_every=15",
        "train.eval_batches=2",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    [run] = client.search_runs([rnnlab_experiment(client).experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["cell.name"] == "mgu" and run.data.params["cell.forget_bias"] == "2.0"
    assert run.data.metrics["val/bpc"] < float(run.data.params["data.baseline.uniform_bpc"])


def test_plugin_authors_one_line_conformance_test_passes(plugin_venv):
    proc = subprocess.run(
        [
            str(plugin_venv / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(PLUGIN / "tests"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PLUGIN,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "13 passed" in proc.stdout
