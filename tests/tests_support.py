"""Helpers shared by test modules (importable: tests/ is on sys.path under pytest)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rnnlab_command() -> str:
    """The installed ``rnnlab`` console script of the interpreter running the tests."""
    path = Path(sys.executable).parent / "rnnlab"
    return str(path) if path.exists() else shutil.which("rnnlab")
