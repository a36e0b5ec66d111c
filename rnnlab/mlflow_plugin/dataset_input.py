"""A run's data as an MLflow dataset input (the UI's Dataset column), and the dataset's
constant facts (baselines) as params rather than metrics, where the UI's plots do not pick
them as the metric to draw."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

#: the metric prefix of a dataset's baselines (``data/unigram_bpc``), which the run reports once
FACT_PREFIX = "data/"
#: ... and the params they become in MLflow (``data.baseline.unigram_bpc``)
BASELINE_PARAM = "data.baseline."
#: bytes of a data file read at a time for its digest
DIGEST_BLOCK = 1 << 20


def dataset_entity(config: dict[str, Any]) -> Any:
    """The ``mlflow.entities.Dataset`` of the run with ``config``: named by the dataset (and
    its file), its digest over the data options and the file's bytes, its source the file or
    the built-in generator, its profile the options and the seed."""
    from mlflow.entities import Dataset

    data = dict(config["data"])
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode())
    path = data.get("path")
    name, source, source_type = data["name"], f"rnnlab:{data['name']}", "code"
    if path and Path(path).expanduser().is_file():
        file = Path(path).expanduser().resolve()
        with file.open("rb") as f:  # in blocks: a corpus may be larger than the memory
            for block in iter(lambda: f.read(DIGEST_BLOCK), b""):
                digest.update(block)
        name, source, source_type = f"{data['name']}:{file.name}", str(file), "local"
    profile = {"options": data, "seed": config.get("seed")}
    return Dataset(
        name=name,
        digest=digest.hexdigest()[:16],
        source_type=source_type,
        source=json.dumps({"uri": source}),
        profile=json.dumps(profile),
    )


def dataset_input(config: dict[str, Any]) -> Any:
    """The run's ``DatasetInput``, in the ``training`` context."""
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    return DatasetInput(dataset_entity(config), [InputTag(MLFLOW_DATASET_CONTEXT, "training")])


def split_facts(metrics: dict[str, float]) -> tuple[dict[str, float], dict[str, str]]:
    """``metrics`` without the dataset's facts, and those facts as params."""
    kept = {k: v for k, v in metrics.items() if not k.startswith(FACT_PREFIX)}
    params = {
        BASELINE_PARAM + k.removeprefix(FACT_PREFIX): repr(float(v))
        for k, v in metrics.items()
        if k.startswith(FACT_PREFIX)
    }
    return kept, params
