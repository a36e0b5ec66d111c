"""PNG plots: a run's learning curves and its dL/dh_t norms across the BPTT window, and
the same for a sweep, one panel per cell (over seeds: the mean and a 95% band).

Figures are drawn with matplotlib's Agg canvas (no display, no pyplot state);
matplotlib is imported only when a plot is drawn. Colours are Okabe and Ito's
colour-blind-safe palette; legends sit outside the data; log axes label their decades.
"""

from __future__ import annotations

import itertools
import math
import os
import re

import numpy as np

from rnnlab.tracking.intervals import mean_interval

#: size of one panel in inches; at DPI this is 640 x 420 pixels
PANEL_SIZE = (6.4, 4.2)
DPI = 100
#: Okabe & Ito (2008), a palette that colour-blind readers tell apart; yellow and black last
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: dash patterns that tell several baselines in one panel apart
BASELINE_DASHES = ((4, 2), (1, 1.5), (6, 2, 1, 2), (2, 4))

#: a second panel for the first of these the validation records have, with its axis label
EXTRA_METRICS = {"bpc": "bits per character", "acc": "accuracy"}
SPLIT_STYLES = {
    "train": dict(color=PALETTE[0], lw=1.2),
    "val": dict(color=PALETTE[1], lw=1.8, marker="o", ms=3),
    "test": dict(color=PALETTE[2], ls="none", marker="*", ms=12),
}
#: the y-axis label of a metric, units included
AXIS_LABELS = {
    "loss": "cross-entropy (nats)",
    "bpc": "bits per character",
    "acc": "accuracy",
    "mse": "mean squared error",
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


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _legend_outside(ax, **options) -> None:
    """The axes' legend to the right of its data, if it has entries."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", **options)


def _label_log_axis(ax) -> None:
    """A log y axis whose labels can be read: every decade labelled, and 2x and 5x too
    when the data span fewer than three decades."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    ax.set_yscale("log")
    low, high = ax.get_ylim()
    few = math.log10(high / low) < 3 if low > 0 else False
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if few else (1.0,)))
    # minor_thresholds: label every tick the locator places, however many decades
    ax.yaxis.set_major_formatter(
        LogFormatterSciNotation(labelOnlyBase=not few, minor_thresholds=(math.inf, math.inf))
    )
    ax.yaxis.set_minor_formatter(NullFormatter())


def _baselines(records, metric: str) -> dict[str, float]:
    """``{"bigram": 3.57, ...}``: the ``data/<name>_<metric>`` values the records hold."""
    suffix = f"_{metric}"
    return {
        name[len("data/") : -len(suffix)]: value
        for _, m in records
        for name, value in m.items()
        if name.startswith("data/") and name.endswith(suffix)
    }


def _plot_metric(ax, records, metric: str) -> None:
    for split, style in SPLIT_STYLES.items():
        steps, values = _series(records, f"{split}/{metric}")
        if steps:
            ax.plot(steps, values, label=f"{split}/{metric}", **style)
    for (name, value), dashes in zip(
        sorted(_baselines(records, metric).items()), itertools.cycle(BASELINE_DASHES)
    ):
        ax.axhline(value, color="0.35", lw=1, dashes=dashes, label=f"baseline: {name}")
    ax.set_xlabel("training step")
    ax.set_ylabel(AXIS_LABELS.get(metric, metric))
    ax.set_title(AXIS_LABELS.get(metric, metric))
    ax.grid(alpha=0.3)
    _legend_outside(ax)


def plot_curves(records: list[tuple[int, dict[str, float]]], out_png: str | os.PathLike):
    """Loss against step for train/val/test, beside val bits per character or
    accuracy when the records have them (records as ``read_metrics`` returns), with the
    dataset's baselines as labelled dashed lines.

    Writes ``out_png`` and returns the matplotlib ``Figure``."""
    names = {name for _, metrics in records for name in metrics}
    extra = next((m for m in EXTRA_METRICS if f"val/{m}" in names), None)
    fig, axes = _new_figure(2 if extra else 1)
    _plot_metric(axes[0], records, "mse" if "val/mse" in names else "loss")
    if extra:
        _plot_metric(axes[1], records, extra)
    fig.savefig(out_png)
    return fig


def _step_of(label: str, default: int) -> int:
    """The training step in a profile label such as ``"step 500"``."""
    found = re.search(r"\d+", label)
    return int(found.group()) if found else default


def plot_grad_profile(profiles: dict[str, list[float]], out_png: str | os.PathLike):
    """Norm of dL/dh_t against the distance of t from the BPTT window's end, log scale.

    ``profiles`` maps a label (e.g. ``"step 500"``) to the norms for t = 0..T-1; every
    profile is drawn, coloured by its training step on a colour scale. Writes
    ``out_png`` and returns the matplotlib ``Figure``.
    """
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    fig, (ax,) = _new_figure(1)
    steps = [_step_of(label, i) for i, label in enumerate(profiles)]
    scale = ScalarMappable(
        Normalize(min(steps, default=0), max(steps, default=1)), matplotlib.colormaps["viridis"]
    )
    colours = scale.to_rgba(np.asarray(steps))
    for colour, norms in zip(colours, profiles.values(), strict=True):
        _plot_profile(ax, norms, color=colour, lw=1, alpha=0.8)
    _profile_axes(ax, r"gradient reaching $h_t$ across the BPTT window")
    if steps:
        fig.colorbar(scale, ax=ax, label="training step of the profile")
    fig.savefig(out_png)
    return fig


def _plot_profile(ax, norms: list[float], **style) -> None:
    ax.plot(range(len(norms) - 1, -1, -1), norms, **style)


def _profile_axes(ax, title: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("steps back from the end of the BPTT window ($T-1-t$)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    _label_log_axis(ax)


def _band(series: list[list[float]], log_scale: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% interval at each position of equally long ``series`` (one per seed);
    geometric if ``log_scale``, and then NaN (no line) where any seed's value is 0 (a
    gradient that underflowed): a mean over the seeds that are left would jump."""
    columns = np.asarray(series, dtype=float).T
    rows = []
    for values in columns:
        if log_scale and not (values > 0).all():
            rows.append((math.nan,) * 3)
            continue
        i = mean_interval(values, log_scale)
        rows.append((i.mean, i.low, i.high))
    mean, low, high = np.asarray(rows).T
    return mean, low, high


def _draw_mean(ax, x, series: list[list[float]], log_scale: bool, colour: str, label: str):
    """The mean line of ``series`` with a shaded 95% band (none for a single series)."""
    mean, low, high = _band(series, log_scale)
    ax.plot(x, mean, color=colour, label=label, marker="o" if len(x) < 20 else None, ms=3)
    if len(series) > 1:
        ax.fill_between(x, low, high, color=colour, alpha=0.2, lw=0)


def _figure_legend(fig, axes, title: str | None = None) -> None:
    """One legend for all panels (they share their labels), outside the data, on the right."""
    entries: dict[str, object] = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        entries.update(zip(labels, handles, strict=True))
    if entries:
        fig.legend(
            list(entries.values()),
            list(entries),
            loc="outside right upper",
            title=title,
            fontsize="small",
        )


def plot_sweep_curves(
    panels: dict[str, dict[str, list[list[tuple[int, float]]]]],
    metric: str,
    out_png: str | os.PathLike,
    baselines: dict[str, float] | None = None,
    log_scale: bool = False,
):
    """``metric`` against step, one panel per key of ``panels`` (a cell), one line per setting.

    ``panels`` maps a panel title to {line label: one [(step, value), ...] per seed}; a
    line is the mean over seeds at the steps they all logged, with a 95% band.
    ``baselines`` maps a line label to a reference value, drawn dashed in the line's
    colour (one grey line, if they are all the same). The panels share the y axis.
    Writes ``out_png`` and returns the ``Figure``.
    """
    fig, axes = _new_figure(len(panels), sharey=True)
    labels = list(dict.fromkeys(label for lines in panels.values() for label in lines))
    # one line when every setting has the same baseline, else one per setting in its colour
    values = set((baselines or {}).values())
    shared_baseline = values.pop() if len(values) == 1 else None
    for ax, (title, lines) in zip(axes, panels.items(), strict=True):
        for label, histories in lines.items():
            colour = _colour(labels.index(label))
            steps = sorted(set.intersection(*({s for s, _ in h} for h in histories)))
            series = [[dict(h)[s] for s in steps] for h in histories]
            n = f" (n={len(histories)})" if len(histories) > 1 else ""
            _draw_mean(ax, steps, series, log_scale, colour, label + n)
            if baselines and label in baselines and shared_baseline is None:
                ax.axhline(
                    baselines[label], color=colour, ls="--", lw=1, label=f"baseline, {label}"
                )
        if shared_baseline is not None:
            ax.axhline(shared_baseline, color="0.35", ls="--", lw=1, label="baseline")
        ax.set_xlabel("training step")
        ax.set_ylabel(AXIS_LABELS.get(metric.rsplit("/", 1)[-1], metric))
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        if log_scale:
            _label_log_axis(ax)
    _figure_legend(fig, axes, "mean, 95% band; dashed: baseline" if baselines else None)
    fig.savefig(out_png)
    return fig


def plot_sweep_profiles(
    panels: dict[str, dict[str, list[list[float]]]], out_png: str | os.PathLike
):
    """dL/dh_t norms against steps back in time, log scale, one panel per key of
    ``panels`` (a cell), one line per setting ({line label: norms for t = 0..T-1, one
    list per seed}; a line is the geometric mean over seeds, with a 95% band, and leaves
    out the steps where any seed's gradient underflowed to 0).

    The panels share the y axis, so cells compare at a glance. Writes ``out_png``
    and returns the ``Figure``.
    """
    fig, axes = _new_figure(len(panels), sharey=True)
    labels = list(dict.fromkeys(label for lines in panels.values() for label in lines))
    for ax, (title, lines) in zip(axes, panels.items(), strict=True):
        for label, profiles in lines.items():
            T = min(len(p) for p in profiles)
            series = [p[:T] for p in profiles]
            n = f" (n={len(profiles)})" if len(profiles) > 1 else ""
            _draw_mean(
                ax, range(T - 1, -1, -1), series, True, _colour(labels.index(label)), label + n
            )
        _profile_axes(ax, title)
    _figure_legend(fig, axes)
    fig.savefig(out_png)
    return fig
