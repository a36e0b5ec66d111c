"""PNG plots: a run's learning curves and its dL/dh_t norms across the BPTT window, and
the same for a sweep, one panel per cell.

Figures are drawn with matplotlib's Agg canvas (no display, no pyplot state);
matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

import os

#: size of one panel in inches; at DPI this is 640 x 420 pixels
PANEL_SIZE = (6.4, 4.2)
DPI = 100
#: most labels a legend of the gradient profile lists (lines are all drawn)
MAX_LEGEND_LABELS = 8

#: a second panel for the first of these the validation records have
EXTRA_METRICS = {"bpc": "bits per character", "acc": "accuracy"}
SPLIT_STYLES = {
    "train": dict(color="tab:blue", lw=1.2),
    "val": dict(color="tab:orange", lw=1.8, marker="o", ms=3),
    "test": dict(color="tab:red", ls="none", marker="*", ms=12),
}


def _series(records, name: str) -> tuple[list[int], list[float]]:
    points = [(step, m[name]) for step, m in records if name in m]
    return [s for s, _ in points], [v for _, v in points]


def _new_figure(panels: int, sharey: bool = False):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(PANEL_SIZE[0] * panels, PANEL_SIZE[1]), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, panels, sharey=sharey, squeeze=False)[0]
    if sharey:
        for ax in axes[1:]:
            ax.yaxis.set_tick_params(labelleft=True)
    return fig, list(axes)


def _shade(i: int, count: int):
    """The ``i``-th of ``count`` colours from light to dark (later is darker)."""
    import matplotlib

    return matplotlib.colormaps["viridis_r"](0.15 + 0.85 * i / max(count - 1, 1))


def _plot_metric(ax, records, metric: str, title: str) -> None:
    for split, style in SPLIT_STYLES.items():
        steps, values = _series(records, f"{split}/{metric}")
        if steps:
            ax.plot(steps, values, label=f"{split}/{metric}", **style)
    ax.set_xlabel("training step")
    ax.set_ylabel(title)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()


def plot_curves(records: list[tuple[int, dict[str, float]]], out_png: str | os.PathLike):
    """Loss against step for train/val/test, beside val bits per character or
    accuracy when the records have them (records as ``read_metrics`` returns).

    Writes ``out_png`` and returns the matplotlib ``Figure``."""
    names = {name for _, metrics in records for name in metrics}
    extra = next((m for m in EXTRA_METRICS if f"val/{m}" in names), None)
    fig, axes = _new_figure(2 if extra else 1)
    _plot_metric(axes[0], records, "loss", "loss")
    if extra:
        _plot_metric(axes[1], records, extra, EXTRA_METRICS[extra])
    fig.savefig(out_png)
    return fig


def _evenly_spaced(items: list, count: int) -> list:
    """``count`` of ``items`` spread evenly from the first to the last (all if fewer)."""
    if len(items) <= count:
        return list(items)
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def plot_grad_profile(profiles: dict[str, list[float]], out_png: str | os.PathLike):
    """Norm of dL/dh_t against the distance of t from the BPTT window's end, log scale.

    ``profiles`` maps a label (e.g. ``"step 500"``) to the norms for t = 0..T-1, in
    the order they were recorded; later profiles are drawn darker. Writes ``out_png``
    and returns the matplotlib ``Figure``.
    """
    fig, (ax,) = _new_figure(1)
    labels = list(profiles)
    shown = set(_evenly_spaced(labels, MAX_LEGEND_LABELS))
    for i, label in enumerate(labels):
        _plot_profile(
            ax,
            profiles[label],
            color=_shade(i, len(labels)),
            label=label if label in shown else None,
        )
    _profile_axes(ax, r"gradient reaching $h_t$ across the BPTT window")
    if labels:
        ax.legend(title="recorded at", fontsize="small")
    fig.savefig(out_png)
    return fig


def _plot_profile(ax, norms: list[float], **style) -> None:
    ax.plot(range(len(norms) - 1, -1, -1), norms, **style)


def _profile_axes(ax, title: str) -> None:
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the end of the BPTT window ($T-1-t$)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")


def plot_sweep_curves(
    panels: dict[str, dict[str, list[tuple[int, float]]]],
    metric: str,
    out_png: str | os.PathLike,
    baselines: dict[str, float] | None = None,
    log_scale: bool = False,
):
    """``metric`` against step, one panel per key of ``panels`` (a cell), one line per job.

    ``panels`` maps a panel title to {line label: [(step, value), ...]}; ``baselines``
    maps a line label to a reference value, drawn dashed in the line's colour. The
    panels share the y axis. Writes ``out_png`` and returns the ``Figure``.
    """
    fig, axes = _new_figure(len(panels), sharey=True)
    for ax, (title, lines) in zip(axes, panels.items(), strict=True):
        for i, (label, points) in enumerate(lines.items()):
            color = _shade(i, len(lines))
            ax.plot(
                [s for s, _ in points],
                [v for _, v in points],
                color=color,
                label=label,
                marker="o",
                ms=2,
            )
            if baselines and label in baselines:
                ax.axhline(baselines[label], color=color, ls="--", lw=0.8)
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel(metric)
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small", title="dashed: baseline" if baselines else None)
    fig.savefig(out_png)
    return fig


def plot_sweep_profiles(panels: dict[str, dict[str, list[float]]], out_png: str | os.PathLike):
    """dL/dh_t norms against steps back in time, log scale, one panel per key of
    ``panels`` (a cell), one line per job ({line label: norms for t = 0..T-1}).

    The panels share the y axis, so cells compare at a glance. Writes ``out_png``
    and returns the ``Figure``.
    """
    fig, axes = _new_figure(len(panels), sharey=True)
    for ax, (title, lines) in zip(axes, panels.items(), strict=True):
        for i, (label, norms) in enumerate(lines.items()):
            _plot_profile(
                ax,
                norms,
                color=_shade(i, len(lines)),
                label=label,
                marker="o" if len(norms) < 20 else None,
                ms=3,
            )
        _profile_axes(ax, title)
        if lines:
            ax.legend(fontsize="small")
    fig.savefig(out_png)
    return fig
