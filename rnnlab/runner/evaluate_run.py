"""``rnnlab evaluate``: a finished run's checkpoint scored on other data, printed and logged."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from rnnlab.config.error_lines import one_line
from rnnlab.config.run_config import to_run_config
from rnnlab.config.schema import RunConfig
from rnnlab.data.base import SPLITS, Dataset, TokenStreams
from rnnlab.data.chars import CharDataset, text_source
from rnnlab.errors import RnnlabError
from rnnlab.plugins.registry import get_registry
from rnnlab.runner.build import build_dataset, build_reading_model
from rnnlab.runner.checkpoint import Checkpoint
from rnnlab.runner.data_contract import dataset_task
from rnnlab.runner.evaluation import evaluate
from rnnlab.runner.job import make_run, resumed_config, start_trackers
from rnnlab.runner.progress import format_metrics
from rnnlab.runner.sampling import unseen_characters

#: characters MLflow accepts in a metric name
METRIC_NAME_UNSAFE = re.compile(r"[^\w./\- :]")


def with_data_options(cfg: DictConfig, overrides: list[str]) -> RunConfig:
    """The run's config with ``data.KEY=VALUE`` ``overrides``, validated like a run's."""
    for override in overrides:
        if not override.startswith("data.") or "=" not in override:
            raise RnnlabError(
                f"'{override}' is not a data option; rnnlab evaluate takes data.KEY=VALUE "
                f"(e.g. data.path=other.txt), the rest comes from the run"
            )
    try:
        merged = OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides))
        assert isinstance(merged, DictConfig)
    except Exception as exc:  # OmegaConf raises many types for a wrong key or value
        raise RnnlabError(one_line(exc)) from None
    return to_run_config(merged)


def whole_text(dataset: CharDataset, path: str) -> TokenStreams:
    """The text at ``path`` in ``dataset``'s vocabulary, the same in every split; a warning
    names the characters the model never saw."""
    source, blocks = text_source(path)
    text = "".join(np.asarray(p, dtype="<u4").tobytes().decode("utf-32-le") for p in blocks())
    unseen = unseen_characters(dataset, text)
    if unseen:
        print(
            f"rnnlab: warning: {source} has characters the model never saw in training: "
            f"{', '.join(map(repr, unseen[:10]))}{' ...' if len(unseen) > 10 else ''}; "
            f"each is scored as the unknown character",
            file=sys.stderr,
        )
    ids = dataset.encode(text)
    return TokenStreams(dict.fromkeys(SPLITS, ids), dataset.output_size, source)


def check_same_shape(run_data: Dataset, data: Dataset, overrides: list[str]) -> None:
    """The model of the run must fit the data it is scored on."""
    have = (run_data.vocab_size, run_data.input_size, run_data.output_size)
    want = (data.vocab_size, data.input_size, data.output_size)
    if have != want:
        raise RnnlabError(
            f"{' '.join(overrides)} changes the data's inputs or outputs (vocabulary, input or "
            f"output size {want} instead of the run's {have}); the run's model cannot score it"
        )


def evaluate_run(
    reference: str, overrides: list[str], split: str | None, checkpoint: str
) -> dict[str, float]:
    """Score the ``checkpoint`` ("best" or "last") of the run at ``reference`` on ``split`` of
    its data with ``overrides``; print the metrics, named ``eval/<data>/<metric>``, and give
    them to the trackers' ``on_offline_evaluation`` hook."""
    registry = get_registry()
    cfg, conf, run_dir = resumed_config(reference, registry)
    run_data = build_dataset(conf, registry)
    changed = with_data_options(cfg, overrides) if overrides else conf
    new_path = any(o.startswith("data.path=") for o in overrides)
    data: Dataset
    if new_path and isinstance(run_data, CharDataset):
        if split is not None:
            raise RnnlabError(
                "--split picks a split of the run's own data; with data.path= the whole "
                "file is scored: drop --split"
            )
        data, split = whole_text(run_data, changed.data.path), "test"
        label = Path(changed.data.path).name
    else:
        split = split or "test"
        data = build_dataset(changed, registry) if overrides else run_data
        check_same_shape(run_data, data, overrides)
        label = " ".join([split, *overrides])
    model = build_reading_model(conf, run_data, registry)
    ckpt = Checkpoint(run_dir / f"{checkpoint}.npz")
    ckpt.load_into(model.params)
    task = dataset_task(data, registry)
    metrics = evaluate(model, data, task, split, conf.train.batch_size, conf.bptt)
    label = METRIC_NAME_UNSAFE.sub("_", label)
    named = {f"eval/{label}/{key.split('/', 1)[1]}": v for key, v in metrics.items()}
    step = ckpt.meta.get("step", 0)
    print(f"{format_metrics(named)}\n({checkpoint} checkpoint of {run_dir}, step {step})")

    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    run = make_run(config, run_dir)
    run.meta = ckpt.meta.get("run", {})
    trackers = start_trackers(run, registry)
    try:
        registry.plugins.pm.hook.on_offline_evaluation(run=run, step=step, metrics=named)
    finally:
        for tracker in trackers:
            registry.plugins.pm.unregister(tracker)
    return named
