"""The layering rules hold (import-linter's contracts in pyproject.toml), and can break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests_support import REPO

LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the rnnlab package under ``root``, with ``root``'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


def test_the_package_keeps_every_import_contract():
    proc = lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    "module, line, broken",
    [
        (
            "data/adding.py",
            "from rnnlab.runner.job import run_job",
            "rnnlab.data.adding -> rnnlab.runner.job",
        ),
        ("nn/losses.py", "import omegaconf", "rnnlab.nn.losses -> omegaconf"),
        ("runner/build.py", "import rnnlab.testing", "rnnlab.runner.build -> rnnlab.testing"),
    ],
)
def test_an_import_against_the_layers_breaks_a_contract(tmp_path, module, line, broken):
    shutil.copytree(REPO / "rnnlab", tmp_path / "rnnlab")
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    with (tmp_path / "rnnlab" / module).open("a") as f:
        f.write(f"\n{line}  # noqa\n")
    proc = lint_imports(tmp_path)
    assert proc.returncode == 1
    assert broken in proc.stdout
