"""The memory estimate made before a model is built (rnnlab.runner.memory), the bounded
default embedding, and large alphabets end to end."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from rnnlab.cli import CONF_DIR
from rnnlab.config.run_config import to_run_config
from rnnlab.config.store import store_configs
from rnnlab.plugins.registry import get_registry
from rnnlab.runner.build import (
    EMBED_SIZE_BOUND,
    build_dataset,
    build_model,
    build_optimizer,
    memory_need,
    options,
)
from rnnlab.runner.memory import MemoryNeed, NotEnoughMemory, check_fits, quadratic_at

#: records the traced peak of a whole run (from the start of the run to its end) in its
#: run directory; numpy reports its array buffers to tracemalloc
PEAK_PLUGIN = """
import json
import tracemalloc
from pathlib import Path

import rnnlab


@rnnlab.hookimpl
def on_run_start(run):
    tracemalloc.start()


@rnnlab.hookimpl
def on_run_end(run, status, error):
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    Path(run.run_dir, "traced_peak.json").write_text(json.dumps(peak))
"""


def composed(*overrides: str):
    """The validated run config of ``overrides``, as the command composes it."""
    store_configs(get_registry())
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return to_run_config(compose("config", overrides=list(overrides)))


def estimated(conf) -> tuple[MemoryNeed, object]:
    """The memory estimate for ``conf`` and the dataset it was made on."""
    registry = get_registry()
    dataset = build_dataset(conf, registry)
    make_cell = partial(registry.get("cell", conf.cell.name).obj, **options(conf.cell))
    return memory_need(conf, dataset, make_cell, registry), dataset


def write_alphabet_text(path: Path, distinct: int, length: int, seed: int = 0) -> Path:
    """A UTF-8 text of ``length`` characters whose first ``distinct`` are all different
    (CJK and beyond), the rest drawn from them."""
    rng = np.random.default_rng(seed)
    alphabet = np.arange(0x4E00, 0x4E00 + distinct, dtype="<u4")
    points = np.concatenate([rng.permutation(alphabet), rng.choice(alphabet, length - distinct)])
    path.write_bytes(points.tobytes().decode("utf-32-le").encode("utf-8"))
    return path


def test_quadratic_extrapolation_is_exact_for_quadratics():
    def q(x: int) -> int:
        return 4 * x * x + 1027 * x + 8

    assert [quadratic_at((q(1), q(2), q(3)), x) for x in (1, 5, 512, 100_000)] == [
        q(x) for x in (1, 5, 512, 100_000)
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        ["cell=lstm", "data=chars", "model.hidden_size=48"],
        ["cell=gru", "data=chars", "model.hidden_size=20", "model.layers=3", "model.embed_size=7"],
        ["cell=rnn", "data=difference", "model.hidden_size=9", "model.head=flatten"],
        ["cell=lstm", "data=adding", "data.length=30", "model.hidden_size=6", "model.layers=2"],
    ],
    ids=["lstm chars", "gru 3 layers", "rnn flatten head", "lstm dense inputs"],
)
def test_parameter_estimate_equals_the_built_model(overrides):
    conf = composed(*overrides)
    need, dataset = estimated(conf)
    model = build_model(conf, dataset, get_registry())
    itemsize = np.dtype(conf.dtype).itemsize
    assert need.parameters == need.gradients == sum(p.nbytes for p in model.params.values())
    assert need.parameters % itemsize == 0


@pytest.mark.parametrize(
    "optimizer, buffers",
    [
        (["optimizer=sgd"], 0),
        (["optimizer=sgd", "optimizer.momentum=0.9"], 1),
        (["optimizer=adagrad"], 1),
        (["optimizer=adam"], 2),
    ],
)
def test_optimizer_state_counts_the_optimizers_buffers(optimizer, buffers):
    conf = composed("data=difference", "model.hidden_size=16", *optimizer)
    need, dataset = estimated(conf)
    opt = build_optimizer(conf, build_model(conf, dataset, get_registry()), get_registry())
    held = sum(a.nbytes for a in opt.state_dict().values() if a.ndim)
    assert need.optimizer_state == held == buffers * need.parameters
    assert need.checkpoint == need.parameters + held


def test_default_embedding_is_the_vocabulary_size_up_to_the_bound(tmp_path):
    small = composed("data=chars")  # tinyshakespeare: 65 characters and the unknown id
    big = composed("data=chars", f"data.path={write_alphabet_text(tmp_path / 'a.txt', 400, 2000)}")
    registry = get_registry()
    for conf, width in ((small, 66), (big, EMBED_SIZE_BOUND)):
        model = build_model(conf, build_dataset(conf, registry), registry)
        assert model.params["embed.weight"].shape[1] == width


def test_a_model_larger_than_the_memory_available_is_refused_naming_figure_and_settings():
    conf = composed("data=difference", "model.hidden_size=100000")
    need, _ = estimated(conf)
    with pytest.raises(NotEnoughMemory) as refused:
        check_fits(need, 8 * 10**9, ["model.hidden_size", "train.batch_size"])
    message = str(refused.value)
    assert "\n" not in message
    assert f"needs about {need.total / 1e9:.0f} GB" in message
    assert "but 8.00 GB of memory is available" in message
    assert message.endswith("lower model.hidden_size or train.batch_size")


def test_a_model_that_fits_passes():
    conf = composed("data=difference", "model.hidden_size=16")
    need, _ = estimated(conf)
    check_fits(need, need.total, ["model.hidden_size"])


MEASURED_RUNS = {
    # the BPTT cache dominates
    "lstm H=512": ["cell=lstm", "model.hidden_size=512", "optimizer=adagrad"],
    # two layers with dropout, Adam's two buffers
    "gru 2 layers": [
        "cell=gru",
        "model.hidden_size=384",
        "model.layers=2",
        "model.dropout=0.1",
        "optimizer=adam",
    ],
    # the logits over 3,001 classes dominate
    "rnn 3000 characters": ["cell=rnn", "model.hidden_size=64", "ALPHABET"],
}


@pytest.mark.slow
@pytest.mark.parametrize("args", MEASURED_RUNS.values(), ids=MEASURED_RUNS.keys())
def test_estimate_is_within_2x_of_the_traced_peak_of_a_real_run(
    run_rnnlab, plugin_dist, tmp_path, args
):
    """The peak is traced from the start of the run to its end: dataset, model, training
    steps, evaluations, checkpoints, the test pass and sampling."""
    plugin_dist("rnnlab-peak", {"peak": "peak_plugin"}, {"peak_plugin": PEAK_PLUGIN})
    text = write_alphabet_text(tmp_path / "alphabet.txt", 3000, 40_000)
    args = [f"data.path={text}" if a == "ALPHABET" else a for a in args]
    overrides = [
        "data=chars",
        *args,
        "data.train_fraction=0.9",
        "data.val_fraction=0.02",
        "train.steps=3",
        "train.eval_every=2",
        "train.batch_size=16",
        "bptt=48",
        "sample.length=20",
    ]
    proc = run_rnnlab(*overrides, "hydra.run.dir=run", "tracking.trackers=[metrics_file]")
    assert proc.returncode == 0, proc.stderr
    peak = json.loads((tmp_path / "run" / "traced_peak.json").read_text())
    need, _ = estimated(composed(*overrides))
    assert need.total / 2 <= peak <= need.total * 2, (peak, need)


@pytest.mark.slow
def test_a_text_of_30000_distinct_characters_trains_with_a_bounded_embedding(run_rnnlab, tmp_path):
    text = write_alphabet_text(tmp_path / "cjk.txt", 30_000, 120_000)
    proc = run_rnnlab(
        "data=chars",
        f"data.path={text}",
        "model.hidden_size=16",
        "train.batch_size=8",
        "bptt=16",
        "train.steps=2",
        "train.eval_every=2",
        "sample.length=5",
        "hydra.run.dir=run",
        "tracking.trackers=[metrics_file]",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "run" / "last.npz") as ckpt:
        assert ckpt["param/embed.weight"].shape == (30_001, EMBED_SIZE_BOUND)
    assert (tmp_path / "run" / "last.npz").stat().st_size < 100e6
