"""The run's PNG plots: learning curves and the dL/dh_t profile."""

from __future__ import annotations

import math

import pytest
from matplotlib.image import imread

from rnnlab.tracking.plots import (
    DPI,
    PANEL_SIZE,
    plot_curves,
    plot_grad_profile,
    plot_sweep_profiles,
)

PANEL_PIXELS = (round(PANEL_SIZE[1] * DPI), round(PANEL_SIZE[0] * DPI))  # rows, columns


def lm_records() -> list:
    records = [(0, {"data/unigram_bpc": 4.6})]
    for step in range(10, 201, 10):
        loss = 1.5 + 2.5 * math.exp(-step / 50)
        records.append((step, {"train/loss": loss, "train/bpc": loss / math.log(2)}))
        if step % 50 == 0:
            records.append((step, {"val/loss": loss + 0.1, "val/bpc": (loss + 0.1) / math.log(2)}))
    records.append((200, {"test/loss": 1.7, "test/bpc": 1.7 / math.log(2)}))
    return records


def visible_tick_labels(ax) -> list[str]:
    """The y tick labels a reader sees, within the axis' limits."""
    ax.figure.canvas.draw()
    low, high = ax.get_ylim()
    return [
        t.get_text()
        for t, v in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)
        if t.get_text() and low <= v <= high
    ]


def test_curves_with_bits_per_character_get_a_second_panel_with_the_baselines(tmp_path):
    out = tmp_path / "curves.png"
    fig = plot_curves(lm_records(), out)

    assert imread(out).shape[:2] == (PANEL_PIXELS[0], 2 * PANEL_PIXELS[1])
    loss, bpc = fig.axes
    assert [line.get_label() for line in loss.lines] == ["train/loss", "val/loss", "test/loss"]
    assert [line.get_label() for line in bpc.lines] == [
        "train/bpc",
        "val/bpc",
        "test/bpc",
        "baseline: unigram",
    ]
    (baseline,) = [line for line in bpc.lines if line.get_label() == "baseline: unigram"]
    assert list(baseline.get_ydata()) == [4.6, 4.6]


def test_every_axis_names_its_unit(tmp_path):
    fig = plot_curves(lm_records(), tmp_path / "curves.png")
    assert [ax.get_ylabel() for ax in fig.axes] == ["cross-entropy (nats)", "bits per character"]
    assert all(ax.get_xlabel() == "training step" for ax in fig.axes)


def test_a_regression_run_plots_its_mean_squared_error(tmp_path):
    records = [(s, {"train/loss": 1 / s, "val/loss": 1 / s, "val/mse": 1 / s}) for s in (1, 2)]
    (ax,) = plot_curves(records, tmp_path / "curves.png").axes
    assert ax.get_ylabel() == "mean squared error"


def test_legends_sit_outside_the_data(tmp_path):
    fig = plot_curves(lm_records(), tmp_path / "curves.png")
    fig.canvas.draw()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent()
        assert legend.x0 >= ax.get_window_extent().x1


def test_curves_of_loss_alone_fill_one_panel(tmp_path):
    out = tmp_path / "curves.png"
    records = [(step, {"train/loss": 1.0 / step, "val/loss": 1.2 / step}) for step in range(1, 30)]
    fig = plot_curves(records, out)

    image = imread(out)
    assert image.shape[:2] == PANEL_PIXELS
    assert image[..., :3].std() > 0  # something is drawn
    assert [line.get_label() for line in fig.axes[0].lines] == ["train/loss", "val/loss"]


def profiles_at(steps, decades: float = 3.0) -> dict[str, list[float]]:
    return {
        f"step {s}": [10.0 ** (-decades * (63 - t) / 63) * (1 + s / 1e4) for t in range(64)]
        for s in steps
    }


def test_gradient_profile_draws_every_evaluation_coloured_by_its_step(tmp_path):
    out = tmp_path / "grad_profile.png"
    steps = range(250, 3001, 250)
    ax, colorbar = plot_grad_profile(profiles_at(steps), out).axes

    image = imread(out)
    assert image.shape[:2] == PANEL_PIXELS
    assert image[..., :3].std() > 0
    assert len(ax.lines) == len(steps) == 12
    assert ax.get_yscale() == "log"
    assert colorbar.get_ylabel() == "training step of the profile"
    assert colorbar.get_ylim() == (250, 3000)
    colours = [tuple(line.get_color()) for line in ax.lines]
    assert len(set(colours)) == 12  # one per step, from the colour scale


def test_a_log_axis_over_one_decade_labels_more_than_one_tick(tmp_path):
    ax, _ = plot_grad_profile(profiles_at([100, 200], decades=1.2), tmp_path / "g.png").axes
    assert len(visible_tick_labels(ax)) >= 3


def test_a_log_axis_over_many_decades_labels_decades(tmp_path):
    ax, _ = plot_grad_profile(profiles_at([100], decades=12), tmp_path / "g.png").axes
    labels = visible_tick_labels(ax)
    assert len(labels) >= 4 and all("10^" in text for text in labels)


def test_a_sweep_profile_is_the_geometric_mean_over_seeds_and_stops_where_one_underflowed(
    tmp_path,
):
    seeds = [[1e-6, 1e-3, 1.0], [1e-4, 1e-1, 1.0], [0.0, 1e-2, 1.0]]
    fig = plot_sweep_profiles({"rnn": {"data.length=3": seeds}}, tmp_path / "p.png")
    (line,) = fig.axes[0].lines
    # drawn from the last step back: x = T-1-t
    assert list(line.get_xdata()) == [2, 1, 0]
    y = line.get_ydata()
    assert math.isnan(y[0])  # t=0: one seed underflowed to 0
    assert y[1] == pytest.approx(1e-2) and y[2] == pytest.approx(1.0)
    assert line.get_label() == "data.length=3 (n=3)"
