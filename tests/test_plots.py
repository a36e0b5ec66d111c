"""The run's PNG plots: learning curves and the dL/dh_t profile."""

from __future__ import annotations

import math

from matplotlib.image import imread

from rnnlab.tracking.plots import DPI, PANEL_SIZE, plot_curves, plot_grad_profile

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


def test_curves_with_bits_per_character_get_a_second_panel(tmp_path):
    out = tmp_path / "curves.png"
    fig = plot_curves(lm_records(), out)

    assert imread(out).shape[:2] == (PANEL_PIXELS[0], 2 * PANEL_PIXELS[1])
    loss, bpc = fig.axes
    assert [line.get_label() for line in loss.lines] == ["train/loss", "val/loss", "test/loss"]
    assert [line.get_label() for line in bpc.lines] == ["train/bpc", "val/bpc", "test/bpc"]


def test_curves_of_loss_alone_fill_one_panel(tmp_path):
    out = tmp_path / "curves.png"
    records = [(step, {"train/loss": 1.0 / step, "val/loss": 1.2 / step}) for step in range(1, 30)]
    fig = plot_curves(records, out)

    image = imread(out)
    assert image.shape[:2] == PANEL_PIXELS
    assert image[..., :3].std() > 0  # something is drawn
    assert [line.get_label() for line in fig.axes[0].lines] == ["train/loss", "val/loss"]


def test_gradient_profile_plots_one_line_per_label_on_a_log_scale(tmp_path):
    out = tmp_path / "grad_profile.png"
    profiles = {
        f"step {s}": [10.0 ** (-(63 - t) / 20) for t in range(64)] for s in range(100, 1300, 100)
    }
    (ax,) = plot_grad_profile(profiles, out).axes

    image = imread(out)
    assert image.shape[:2] == PANEL_PIXELS
    assert image[..., :3].std() > 0
    assert len(ax.lines) == 12
    assert ax.get_yscale() == "log"
    assert len(ax.get_legend().get_texts()) == 8  # the first, the last and evenly between
