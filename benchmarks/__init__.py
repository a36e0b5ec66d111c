"""Side-by-side speed and memory benchmarks: rnnlab's NumPy engine against PyTorch on the CPU.

Run ``python -m benchmarks.run`` (``--quick`` for a smoke run) from the repository
root; see BENCHMARKS.md. torch is imported here only, never by rnnlab itself.
"""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def env_with_repo() -> dict[str, str]:
    """This environment with the repository on PYTHONPATH, for ``python -m benchmarks.*``."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)
