"""A finished run's best checkpoint as an MLflow pyfunc model: logged, loaded in a fresh
process, served over HTTP, registered; real sqlite store, real ``mlflow models serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from tests_support import (
    TINY_DIFFERENCE,
    free_port,
    rnnlab_command,
    stop_process_group,
    write_text,
)

pytestmark = pytest.mark.slow

TINY_CHARS = [
    "cell=lstm",
    "data=chars",
    "model.hidden_size=8",
    "bptt=8",
    "train.batch_size=4",
    "train.steps=4",
    "train.eval_every=2",
    "sample.length=5",
]


def train(folder: Path, *overrides: str) -> str:
    """Train with the installed ``rnnlab`` in ``folder`` (its store: ``mlflow.db``); the run id."""
    subprocess.run(
        [rnnlab_command(), *overrides, "hydra.run.dir=run"],
        cwd=folder,
        env={**os.environ, "MLFLOW_TRACKING_URI": store(folder)},
        check=True,
        capture_output=True,
    )
    runs = MlflowClient(store(folder)).search_runs(
        [e.experiment_id for e in MlflowClient(store(folder)).search_experiments()]
    )
    return runs[0].info.run_id


def store(folder: Path) -> str:
    return f"sqlite:///{folder}/mlflow.db"


@pytest.fixture(scope="module")
def chars_run(tmp_path_factory) -> tuple[Path, str]:
    """A tiny character model trained on a tiny text, its model registered as ``tiny-chars``."""
    folder = tmp_path_factory.mktemp("chars")
    write_text(folder / "tiny.txt", "abcdefgh \n", 3000)
    run_id = train(folder, *TINY_CHARS, "data.path=tiny.txt", "tracking.register_model=tiny-chars")
    return folder, run_id


def load_and_predict(folder: Path, model_uri: str, rows: list[dict]) -> list[dict]:
    """``mlflow.pyfunc.load_model(model_uri).predict(rows)`` in a fresh Python process, with the
    modules it imported."""
    script = (
        "import json, sys, mlflow\n"
        f"model = mlflow.pyfunc.load_model({model_uri!r})\n"
        f"out = model.predict({rows!r})\n"
        "print(json.dumps({'rows': out.to_dict('records'), 'modules': sorted(sys.modules)}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=folder / "run",  # not where the text is: the model needs no data file
        env={**os.environ, "MLFLOW_TRACKING_URI": store(folder)},
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["rows"], result["modules"]


def test_a_text_model_loads_in_a_fresh_process_and_continues_the_prime(chars_run):
    folder, run_id = chars_run
    rows = [
        {"prime": "abc", "length": 30, "seed": 1},
        {"prime": "abc", "length": 30, "seed": 1},
        {"prime": "h g", "temperature": 0},
    ]
    out, modules = load_and_predict(folder, f"runs:/{run_id}/model", rows)
    texts = [r["text"] for r in out]
    assert texts[0].startswith("abc") and len(texts[0]) == 3 + 30
    assert texts[0] == texts[1]  # same seed, same text
    assert texts[2].startswith("h g") and len(texts[2]) == 3 + 5  # the run's sample.length
    assert "torch" not in modules


def test_the_model_fills_the_runs_models_and_is_registered(chars_run):
    folder, run_id = chars_run
    client = MlflowClient(store(folder))
    run = client.get_run(run_id)
    (output,) = run.outputs.model_outputs
    model = client.get_logged_model(output.model_id)
    assert (model.name, model.source_run_id) == ("model", run_id)
    assert model.experiment_id == run.info.experiment_id
    (version,) = client.search_model_versions("name='tiny-chars'")
    assert version.run_id == run_id
    out, _ = load_and_predict(folder, "models:/tiny-chars/1", [{"prime": "ab", "length": 3}])
    assert out[0]["text"].startswith("ab")


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def venv_path() -> str:
    """``PATH`` with the test interpreter's scripts first."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def test_a_served_model_answers_over_http(chars_run, tmp_path):
    folder, run_id = chars_run
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "mlflow"),
                *("models", "serve", "-m", f"runs:/{run_id}/model", "--env-manager", "local"),
                *("--host", "127.0.0.1", "-p", str(port)),
            ],
            cwd=tmp_path,
            # as in an activated venv: mlflow starts the venv's uvicorn by name
            env={**os.environ, "MLFLOW_TRACKING_URI": store(folder), "PATH": venv_path()},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                urllib.request.urlopen(f"{url}/ping", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
        body = {"dataframe_records": [{"prime": "bad ", "length": 10, "seed": 0}]}
        status, answer = post(f"{url}/invocations", body)
        assert status == 200, answer
        (row,) = answer["predictions"]
        assert row["text"].startswith("bad ") and len(row["text"]) == 14
        status, answer = post(f"{url}/invocations", {"dataframe_records": [{"prime": ""}]})
        assert status == 400
        assert "the priming text is empty" in answer["message"]
    finally:
        stop_process_group(server)


def test_a_model_trained_with_the_numba_kernel_serves_without_numba(tmp_path):
    write_text(tmp_path / "tiny.txt", "abcdefgh \n", 3000)
    run_id = train(tmp_path, *TINY_CHARS, "data.path=tiny.txt", "cell.kernel=numba")
    out, modules = load_and_predict(tmp_path, f"runs:/{run_id}/model", [{"prime": "abc"}])
    assert out[0]["text"].startswith("abc") and len(out[0]["text"]) == 3 + 5
    assert "numba" not in modules


def test_a_classifier_predicts_classes_and_probabilities(tmp_path):
    run_id = train(tmp_path, *TINY_DIFFERENCE, "train.eval_every=1")
    mlflow.set_tracking_uri(store(tmp_path))
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    sequences = np.array([[1, 2], [9, 0], [3, 3]])
    out = model.predict(sequences)
    assert list(out.columns) == ["class", "probabilities"]
    assert set(out["class"]) <= {0, 1}
    assert np.allclose([sum(p) for p in out["probabilities"]], 1.0)
    with pytest.raises(mlflow.exceptions.MlflowException, match="token ids"):
        model.predict(np.array([[1, 10]]))


def test_a_regressor_predicts_one_value_per_sequence(tmp_path):
    run_id = train(
        tmp_path,
        "data=adding",
        "data.length=6",
        "data.train_size=16",
        "data.val_size=8",
        "data.test_size=8",
        "model.hidden_size=4",
        "train.batch_size=4",
        "train.steps=2",
        "train.eval_every=1",
    )
    mlflow.set_tracking_uri(store(tmp_path))
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    sequences = np.random.default_rng(0).random((3, 6, 2))
    assert model.predict(sequences).shape == (3, 1)


def test_no_model_is_logged_with_log_model_false(tmp_path):
    run_id = train(tmp_path, *TINY_DIFFERENCE, "train.eval_every=1", "tracking.log_model=false")
    run = MlflowClient(store(tmp_path)).get_run(run_id)
    assert not run.outputs.model_outputs
