"""Nothing let in, nothing let out: checkpoints never unpickle and are checked before use,
artifacts stay inside the run, and no environment variable or secret is stored with a run."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from rnnlab.errors import CheckpointError, RnnlabError
from rnnlab.mlflow_plugin.tracker import check_artifact
from rnnlab.runner.checkpoint import Checkpoint, save_checkpoint
from tests_support import TINY_DIFFERENCE

PARAMS = {"cells.0.weight_hh": np.zeros((4, 4), np.float32), "head.bias": np.zeros(3, np.float32)}
OPTIM = {"cells.0.weight_hh/sum": np.zeros((4, 4), np.float32), "steps": np.array(7)}
STATES = [(np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32))]
META = {"step": 7, "run": {}}


class LeavesAMark:
    """Unpickling this creates the file ``path``: the proof that a pickle was loaded."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_a_checkpoint_holding_a_pickle_is_refused_and_never_unpickled(tmp_path):
    mark = tmp_path / "unpickled"
    ckpt = tmp_path / "last.npz"
    save_checkpoint(ckpt, PARAMS, OPTIM, STATES, META)
    with np.load(ckpt) as z:
        arrays = dict(z)
    arrays["param/head.bias"] = np.array([LeavesAMark(str(mark))], dtype=object)
    np.savez(ckpt, **arrays)
    with pytest.raises(CheckpointError, match="pickled Python objects, which rnnlab never loads"):
        Checkpoint(ckpt)
    assert not mark.exists()


def test_a_bare_pickle_file_is_refused_and_never_unpickled(tmp_path):
    mark = tmp_path / "unpickled"
    ckpt = tmp_path / "last.npz"
    ckpt.write_bytes(pickle.dumps(LeavesAMark(str(mark))))
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        Checkpoint(ckpt)
    assert not mark.exists()


def _changed(group: dict, key: str, value) -> dict:
    return {**group, key: value}


MISFITS = {
    "parameter name": (
        dict(
            params={
                "cells.0.weight_xx": PARAMS["cells.0.weight_hh"],
                "head.bias": PARAMS["head.bias"],
            }
        ),
        "parameter missing",
    ),
    "parameter shape": (
        dict(params=_changed(PARAMS, "head.bias", np.zeros(5, np.float32))),
        "parameter head.bias is float32[3]",
    ),
    "parameter dtype": (
        dict(params=_changed(PARAMS, "head.bias", np.zeros(3))),
        "but the model needs float64[3]",
    ),
    "optimizer buffer": (dict(optim={"steps": np.array(7)}), "optimizer state missing nothing"),
    "optimizer shape": (
        dict(optim=_changed(OPTIM, "cells.0.weight_hh/sum", np.zeros((4, 5), np.float32))),
        "optimizer state cells.0.weight_hh/sum",
    ),
    "hidden state shape": (
        dict(states=[(np.zeros((3, 4), np.float32),) * 2]),
        "hidden state 0/0 is float32[2, 4]",
    ),
    "hidden state layers": (dict(states=STATES * 2), "hidden state missing ['1/0', '1/1']"),
    "meta key": (dict(meta_keys=["step", "run", "epoch"]), "has no ['epoch'] in its meta"),
}


@pytest.mark.parametrize("expected, message", MISFITS.values(), ids=MISFITS.keys())
def test_a_checkpoint_that_does_not_fit_is_refused_before_use(tmp_path, expected, message):
    save_checkpoint(tmp_path / "last.npz", PARAMS, OPTIM, STATES, META)
    ckpt = Checkpoint(tmp_path / "last.npz")
    given = {
        "params": PARAMS,
        "optim_state": OPTIM,
        "states": STATES,
        "meta_keys": META.keys(),
        **{("optim_state" if k == "optim" else k): v for k, v in expected.items()},
    }
    with pytest.raises(CheckpointError) as err:
        ckpt.check_fits(**given)
    assert message in str(err.value)


def test_a_checkpoint_that_fits_passes(tmp_path):
    save_checkpoint(tmp_path / "last.npz", PARAMS, OPTIM, STATES, META)
    Checkpoint(tmp_path / "last.npz").check_fits(PARAMS, OPTIM, STATES, META.keys())


@pytest.mark.parametrize(
    "inside, artifact_path",
    [
        (True, "../escaped"),
        (True, "plots/../../escaped"),
        (True, "/etc"),
        (True, "..\\escaped"),
        (False, "config"),
    ],
    ids=["parent", "parent inside", "absolute", "backslash", "file outside the run"],
)
def test_artifacts_cannot_escape_the_run_directory(tmp_path, inside, artifact_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    path = (run_dir if inside else tmp_path) / "file.txt"
    path.write_text("x")
    with pytest.raises(RnnlabError, match="is refused: artifacts must be files in the run"):
        check_artifact(run_dir, path, artifact_path)


@pytest.mark.parametrize("artifact_path", [None, "plots", "samples/step_1"])
def test_artifacts_inside_the_run_directory_pass(tmp_path, artifact_path):
    (tmp_path / "file.txt").write_text("x")
    check_artifact(tmp_path, tmp_path / "file.txt", artifact_path)


SECRETS = {
    "RNNLAB_FAKE_SECRET": "fake-secret-5b1e",
    "MLFLOW_TRACKING_PASSWORD": "pw-9c2f",
    "AWS_SECRET_ACCESS_KEY": "aws-77d0",
}


@pytest.mark.slow
def test_no_environment_variable_or_secret_is_stored_with_a_run(run_rnnlab, tmp_path):
    proc = run_rnnlab(*TINY_DIFFERENCE, env=SECRETS)
    assert proc.returncode == 0, proc.stderr
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    [run] = client.search_runs([client.get_experiment_by_name("rnnlab").experiment_id])
    logged = [*run.data.params.items(), *run.data.tags.items()]
    assert len(run.data.params) > 20
    env_names = set(os.environ) | set(SECRETS)
    for key, value in logged:
        assert key not in env_names
        assert not any(secret in value for secret in SECRETS.values()), (key, value)
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]  # run files, artifacts, database
    assert any(p.name == "mlflow.db" for p in stored) and any(p.suffix == ".npz" for p in stored)
    for path in stored:
        data = path.read_bytes()
        assert not any(secret.encode() in data for secret in SECRETS.values()), path


@pytest.mark.slow
def test_a_tracking_uri_with_a_password_is_refused_without_echoing_it(run_rnnlab):
    proc = run_rnnlab("tracking.tracking_uri=http://alice:s3cret-41@127.0.0.1:5000")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "tracking.tracking_uri is not allowed: use a URI without a password" in proc.stderr
    assert "MLFLOW_TRACKING_PASSWORD" in proc.stderr and "s3cret-41" not in proc.stderr
