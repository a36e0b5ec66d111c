"""The test install (every extra, Optuna's sweeper included) is consistent."""

from __future__ import annotations

import subprocess
import sys


def test_pip_check_finds_no_broken_requirements():
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
