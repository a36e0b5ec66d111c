"""A run's best checkpoint as an MLflow pyfunc model, under the run's artifact path ``model``.

The model's files are the run's ``config.yaml``, its ``best.npz`` and ``data.json`` (the
dataset's task and sizes, and a text model's characters). Loading rebuilds the model through
rnnlab's registry (a plugin's cell needs its plugin installed) from those files alone: no
data file, no pickled engine object, no torch.

``predict`` by the dataset's task:

- "lm": a table with a ``prime`` column and optionally ``length``, ``temperature``, ``top_k``,
  ``top_p`` (defaults: the run's ``sample`` config) and ``seed`` (same seed, same text; none:
  a fresh draw) -> a table with a ``text`` column, each text starting with its prime;
- "classify": sequences ``(N, T)`` of token ids (or ``(N, T, D)`` floats) -> a table with the
  predicted ``class`` and the class ``probabilities``;
- "regress": the same inputs -> the predicted values, float ``(N, K)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import numbers
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types import ColSpec, DataType, Schema, TensorSpec
from mlflow.types.schema import AnyType, Array

import rnnlab
from rnnlab.config.schema import RunConfig, SampleConfig, check_sample_option
from rnnlab.data.base import Dataset
from rnnlab.data.chars import CharVocabulary
from rnnlab.errors import RnnlabError
from rnnlab.mlflow_plugin.store import first_line
from rnnlab.names import CONFIG_FILE
from rnnlab.nn.model import RecurrentModel
from rnnlab.plugins.registry import get_registry
from rnnlab.plugins.run import Run
from rnnlab.runner.build import build_dataset, build_reading_model
from rnnlab.runner.checkpoint import BEST, Checkpoint
from rnnlab.runner.job import resumed_config
from rnnlab.runner.sampling import generate

MODEL_ARTIFACT_PATH = "model"
#: the model's files, one folder: a run directory's config and best checkpoint, and DATA_FILE
FILES_ARTIFACT = "run"
DATA_FILE = "data.json"
#: the generation options a text model's input may give, each checked by the sample config's rule
TEXT_OPTIONS = ("length", "temperature", "top_k", "top_p")
#: the options that count something
WHOLE_NUMBERS = ("length", "top_k", "seed")
#: characters one row may ask for: a served model answers within seconds
MAX_LENGTH = 100_000
EXAMPLE_LENGTH = 20


@dataclasses.dataclass
class SavedData:
    """What the model needs of its dataset (a ``DataShape``), kept in ``data.json``."""

    task: str
    output_size: int
    vocab_size: int | None = None
    input_size: int | None = None
    seq_len: int | None = None
    #: a text model's characters (``CharVocabulary``)
    chars: str | None = None

    @classmethod
    def of(cls, dataset: Dataset) -> SavedData:
        vocabulary = getattr(dataset, "vocabulary", None)
        chars = vocabulary.chars if isinstance(vocabulary, CharVocabulary) else None
        if not isinstance(dataset.task, str):
            raise RnnlabError(
                f"its dataset ({type(dataset).__name__}) gives a task object, not the name of "
                f"a registered task"
            )
        if dataset.task == "lm" and chars is None:
            raise RnnlabError(
                f"its dataset ({type(dataset).__name__}) has no character vocabulary "
                f"(a CharVocabulary as its 'vocabulary')"
            )
        return cls(
            dataset.task,
            dataset.output_size,
            dataset.vocab_size,
            dataset.input_size,
            dataset.seq_len,
            chars,
        )


def given(row: dict[str, Any], column: str, default: Any) -> Any:
    """The value of ``column`` in ``row``; ``default`` where it is absent or empty (NaN)."""
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    if column != "prime" and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise RnnlabError(f"{column}={value!r} is not allowed: use a number")
    return value


def whole_number(name: str, value: float) -> int:
    """``value`` of the input column ``name`` as an int; RnnlabError unless it is >= 0 and
    has no fraction."""
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise RnnlabError(f"{name}={value!r} is not allowed: use a whole number >= 0")
    return int(value)


def text_options(row: dict[str, Any], defaults: SampleConfig) -> dict[str, Any]:
    """The generation options of one input row, checked like ``rnnlab sample``'s flags."""
    options = {name: given(row, name, getattr(defaults, name)) for name in TEXT_OPTIONS}
    for name, value in options.items():
        check_sample_option(name, name, value, separator="=")
        if name in WHOLE_NUMBERS:
            options[name] = whole_number(name, value)
    if options["length"] > MAX_LENGTH:
        raise RnnlabError(
            f"length={options['length']} is not allowed: use at most {MAX_LENGTH} per row"
        )
    return options


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities of ``logits`` ``(N, C)``, float64."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True), dtype=np.float64)
    return z / z.sum(axis=1, keepdims=True)


@contextlib.contextmanager
def bad_input() -> Iterator[None]:
    """Turn an RnnlabError about the input into MLflow's bad-parameter error (HTTP 400)."""
    try:
        yield
    except RnnlabError as exc:
        raise MlflowException.invalid_parameter_value(str(exc)) from None


class RnnlabModel(PythonModel):
    """An rnnlab model, rebuilt in ``load_context`` from the files of ``FILES_ARTIFACT``."""

    def load_context(self, context: PythonModelContext) -> None:
        folder = Path(context.artifacts[FILES_ARTIFACT])
        registry = get_registry()
        _, conf, _ = resumed_config(str(folder), registry)
        self.data = SavedData(**json.loads((folder / DATA_FILE).read_text()))
        self.model: RecurrentModel = build_reading_model(conf, self.data, registry)
        Checkpoint(folder / BEST).copy_params_into(self.model.params)
        self.sample = conf.sample


class TextModel(RnnlabModel):
    """A character model: a ``text`` for each row of the input table (see the module)."""

    def load_context(self, context: PythonModelContext) -> None:
        super().load_context(context)
        assert self.data.chars is not None
        self.vocabulary = CharVocabulary(self.data.chars)

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        texts = []
        with bad_input():
            for row in model_input.to_dict(orient="records"):
                options = text_options(row, self.sample)
                seed = given(row, "seed", None)
                rng = np.random.default_rng(None if seed is None else whole_number("seed", seed))
                prime = str(given(row, "prime", ""))
                pieces = generate(self.model, self.vocabulary, prime, rng=rng, **options)
                texts.append("".join(pieces))
        return pd.DataFrame({"text": texts})


class SequenceModel(RnnlabModel):
    """A classifier or regressor of fixed-length sequences (see the module)."""

    def predict(
        self,
        context: PythonModelContext,
        model_input: np.ndarray,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame | np.ndarray:
        sequences, data = np.asarray(model_input), self.data
        step = () if data.input_size is None else (data.input_size,)
        with bad_input():
            if sequences.ndim != 2 + len(step) or sequences.shape[1:] != (data.seq_len, *step):
                want = ", ".join(map(str, ("N", data.seq_len, *step)))
                raise RnnlabError(
                    f"the model takes sequences of shape ({want}), got {sequences.shape}; "
                    f"give a list of sequences of {data.seq_len} steps"
                )
            if data.vocab_size is not None and (
                not np.issubdtype(sequences.dtype, np.integer)
                or (
                    sequences.size and not 0 <= sequences.min() <= sequences.max() < data.vocab_size
                )
            ):
                raise RnnlabError(
                    f"the model takes token ids: whole numbers in [0, {data.vocab_size})"
                )
        xs = np.swapaxes(sequences, 0, 1)
        out, _ = self.model.forward(xs, self.model.initial_state(len(sequences)), train=False)
        if data.task != "classify":
            return out
        p = softmax(out)
        return pd.DataFrame({"class": p.argmax(axis=1), "probabilities": p.tolist()})


def signature_and_example(
    data: SavedData, dataset: Dataset, conf: RunConfig
) -> tuple[ModelSignature, Any]:
    """The model's signature and an input example (a text model: its run's prime; otherwise
    the first two test sequences of its dataset)."""
    if data.task == "lm":
        columns: list[ColSpec | TensorSpec] = [ColSpec(DataType.string, "prime")]
        # any type: MLflow refuses ints for a float column, and a missing value in an int one
        columns += [ColSpec(AnyType(), name, required=False) for name in (*TEXT_OPTIONS, "seed")]
        inputs = Schema(columns)
        example = pd.DataFrame({"prime": [conf.sample.prime], "length": [EXAMPLE_LENGTH]})
        return ModelSignature(inputs, Schema([ColSpec(DataType.string, "text")])), example
    xs = dataset.batch("test", 0, 0, 2, conf.bptt)[0]
    dtype = np.dtype(np.int64 if data.vocab_size is not None else np.float64)
    example = np.swapaxes(xs, 0, 1).astype(dtype)
    inputs = Schema([TensorSpec(dtype, (-1, *example.shape[1:]))])
    if data.task == "classify":
        classes: list[ColSpec | TensorSpec] = [
            ColSpec(DataType.long, "class"),
            ColSpec(Array(DataType.double), "probabilities"),
        ]
        return ModelSignature(inputs, Schema(classes)), example
    values = TensorSpec(np.dtype(conf.dtype), (-1, data.output_size))
    return ModelSignature(inputs, Schema([values])), example


def quiet_model_logging() -> None:
    """Keep MLflow's lines about logging a model off the run's console: its note that the
    model object is pickled (it holds no state: ``load_context`` rebuilds everything from the
    files), the input-example check, and the progress bar of downloading the model back."""
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    for name in ("mlflow.pyfunc", "mlflow.models"):
        logging.getLogger(name).setLevel(logging.ERROR)


def log_run_model(tracking_uri: str, run_id: str, run: Run) -> None:
    """Log the best checkpoint of the finished ``run`` as the pyfunc model ``model`` of the
    MLflow run ``run_id`` (registered as ``tracking.register_model`` if set). A model that
    cannot be logged costs one warning line, not the run."""
    registry = get_registry()
    model_id: str | None = None
    quiet_model_logging()
    try:
        _, conf, run_dir = resumed_config(str(run.run_dir), registry)
        if not (run_dir / BEST).is_file():
            return  # nothing evaluated yet
        dataset = build_dataset(conf, registry)
        data = SavedData.of(dataset)
        signature, example = signature_and_example(data, dataset, conf)
        with tempfile.TemporaryDirectory(prefix="rnnlab-model-") as tmp:
            folder = Path(tmp) / FILES_ARTIFACT
            folder.mkdir()
            shutil.copyfile(run_dir / CONFIG_FILE, folder / CONFIG_FILE)
            shutil.copyfile(run_dir / BEST, folder / BEST)
            (folder / DATA_FILE).write_text(json.dumps(dataclasses.asdict(data)))
            mlflow.set_tracking_uri(tracking_uri)  # Model.log reads the global one
            client = mlflow.MlflowClient(tracking_uri)
            experiment_id = client.get_run(run_id).info.experiment_id
            # made here: Model.log would file it under the process's active experiment
            logged = client.create_logged_model(experiment_id, MODEL_ARTIFACT_PATH, run_id)
            model_id = logged.model_id
            Model.log(
                artifact_path=None,
                name=MODEL_ARTIFACT_PATH,
                model_id=model_id,
                flavor=mlflow.pyfunc,
                run_id=run_id,
                python_model=TextModel() if data.task == "lm" else SequenceModel(),
                artifacts={FILES_ARTIFACT: str(folder)},
                signature=signature,
                input_example=example,
                pip_requirements=[f"rnnlab=={rnnlab.__version__}", f"numpy=={np.__version__}"],
                registered_model_name=run.config["tracking"].get("register_model"),
            )
    except Exception as exc:
        if model_id is not None:  # no model without its files
            with contextlib.suppress(Exception):
                mlflow.MlflowClient(tracking_uri).delete_logged_model(model_id)
        print(
            f"rnnlab: warning: the model of {run.name} was not logged to MLflow "
            f"({first_line(str(exc)) or type(exc).__name__}); its checkpoint is "
            f"{run.run_dir / BEST}",
            file=sys.stderr,
        )
        return
