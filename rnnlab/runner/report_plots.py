"""The PNG plots a finished run leaves: loss curves and the dL/dh_t profile."""

from __future__ import annotations

import json
from pathlib import Path

from rnnlab.names import METRICS_FILE, PLOTS_DIR, PROFILES_FILE
from rnnlab.tracking.metrics_file import read_metrics
from rnnlab.tracking.plots import plot_curves, plot_grad_profile


def write_plots(run_dir: Path) -> list[Path]:
    """Plot what ``run_dir`` holds; returns the PNG paths written."""
    run_dir = Path(run_dir)
    written = []
    metrics = run_dir / METRICS_FILE
    if metrics.is_file():
        out = run_dir / PLOTS_DIR / "curves.png"
        out.parent.mkdir(exist_ok=True)
        plot_curves(read_metrics(metrics), out)
        written.append(out)
    profiles = run_dir / PROFILES_FILE
    if profiles.is_file():
        out = run_dir / PLOTS_DIR / "grad_profile.png"
        out.parent.mkdir(exist_ok=True)
        plot_grad_profile(json.loads(profiles.read_text()), out)
        written.append(out)
    return written
