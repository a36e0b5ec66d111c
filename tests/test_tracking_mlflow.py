"""The mlflow tracker against a real sqlite tracking store, read back with MlflowClient."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from rnnlab.errors import RnnlabError
from rnnlab.mlflow_plugin.backlog import Backlog
from rnnlab.mlflow_plugin.tracker import MlflowTracker, check_reachable, unique_name
from rnnlab.plugins.manager import LoadedPlugins
from rnnlab.plugins.run import Run
from rnnlab.tracking.metrics_file import MetricsFileTracker
from tests_support import REPO, free_port

PARAMS = {
    "cell.name": "lstm",
    "model.hidden_size": "64",
    "optimizer.lr": "0.1",
    "train.steps": "30",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """One sqlite store for the module (creating one takes about a second); each test
    uses its own experiment."""
    return f"sqlite:///{tmp_path_factory.mktemp('store')}/mlflow.db"


@pytest.fixture(autouse=True)
def no_mlflow_environment(monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_PARENT_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def experiment(request) -> str:
    return request.node.name


def make_run(tmp_path, uri: str, experiment: str, **fields) -> Run:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    defaults = dict(
        params=dict(PARAMS),
        name="lstm-chars-h64",
        tags={"cell": "lstm", "rnnlab.run_dir": str(run_dir)},
    )
    config = {
        "tracking": {
            "trackers": ["metrics_file", "mlflow"],
            "experiment": experiment,
            "tracking_uri": uri,
        }
    }
    return Run(config=config, run_dir=run_dir, **{**defaults, **fields})


def start(run: Run, *others):
    """A plugin manager with a started MLflow tracker (and ``others``, registered first as
    a run does); returns (hook caller, MLflow tracker)."""
    pm = LoadedPlugins().pm
    tracker = MlflowTracker(run)
    for plugin in (*others, tracker):
        pm.register(plugin)
    pm.hook.on_run_start(run=run)
    return pm.hook, tracker


def train(hook, run: Run, steps: range, eval_every: int = 10, checkpoint_dir: Path | None = None):
    """What the trainer reports: train metrics each step, an evaluation and checkpoint
    every ``eval_every`` steps."""
    for step in steps:
        hook.on_metrics(run=run, step=step, metrics={"train/loss": 3.0 / step, "grad/norm": 1.5})
        if step % eval_every == 0:
            hook.on_evaluation(run=run, step=step, split="val", metrics={"val/loss": 3.5 / step})
            path = (checkpoint_dir or run.run_dir) / "best.npz"
            path.write_bytes(f"weights at {step}".encode())
            hook.on_checkpoint(run=run, step=step, path=path, best=True)


def steps_of(client: MlflowClient, run_id: str, key: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, key))


def test_a_finished_run_has_its_params_tags_and_metric_history(tmp_path, store, experiment):
    run = make_run(tmp_path, store, experiment)
    hook, _ = start(run)
    train(hook, run, range(1, 31))
    hook.on_run_end(run=run, status="FINISHED", error=None)

    client = MlflowClient(store)
    logged = client.get_run(run.meta["mlflow_run_id"])
    assert logged.info.status == "FINISHED"
    assert logged.info.run_name == "lstm-chars-h64"
    assert client.get_experiment(logged.info.experiment_id).name == experiment
    assert logged.data.params == PARAMS
    assert logged.data.tags["cell"] == "lstm"
    assert logged.data.tags["mlflow.runName"] == "lstm-chars-h64"
    assert steps_of(client, logged.info.run_id, "train/loss") == list(range(1, 31))
    assert steps_of(client, logged.info.run_id, "val/loss") == [10, 20, 30]
    assert logged.data.metrics["train/loss"] == pytest.approx(3.0 / 30)


def test_metrics_are_sent_in_one_batch_per_evaluation(tmp_path, store, experiment, monkeypatch):
    calls = {"log_batch": 0, "log_metric": 0}
    for name in calls:
        original = getattr(MlflowClient, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            if _name == "log_metric" or kwargs.get("metrics"):
                calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(MlflowClient, name, counted)
    run = make_run(tmp_path, store, experiment)
    hook, _ = start(run)
    train(hook, run, range(1, 51), eval_every=25)
    hook.on_run_end(run=run, status="FINISHED", error=None)

    assert calls == {"log_batch": 2, "log_metric": 0}
    assert steps_of(MlflowClient(store), run.meta["mlflow_run_id"], "grad/norm") == list(
        range(1, 51)
    )


def test_a_full_buffer_is_sent_before_the_next_evaluation(tmp_path, store, experiment, monkeypatch):
    sizes = []
    original = MlflowClient.log_batch

    def recorded(self, run_id, metrics=(), **kwargs):
        if metrics:
            sizes.append(len(metrics))
        return original(self, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", recorded)
    run = make_run(tmp_path, store, experiment)
    hook, _ = start(run)
    for step in range(1, 101):
        hook.on_metrics(run=run, step=step, metrics={f"grad/w{i}": 1.0 for i in range(15)})
    assert sum(sizes) >= 1000

    hook.on_run_end(run=run, status="FINISHED", error=None)
    assert sum(sizes) == 1500
    assert max(sizes) <= 1000


def test_params_are_logged_past_100_and_long_values_truncated(tmp_path, store, experiment):
    params = {f"group.option{i:03d}": str(i) for i in range(250)}
    params["data.text"] = "x" * 10_000
    run = make_run(tmp_path, store, experiment, params=params)
    hook, _ = start(run)
    hook.on_run_end(run=run, status="FINISHED", error=None)

    logged = MlflowClient(store).get_run(run.meta["mlflow_run_id"]).data.params
    assert len(logged) == 251
    assert logged["group.option249"] == "249"
    assert logged["data.text"] == "x" * 6000


def test_artifacts_and_the_best_checkpoint_land_next_to_the_database(
    tmp_path, store, experiment, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # not where the database is
    run = make_run(tmp_path, store, experiment)
    hook, _ = start(run)
    config = run.run_dir / "config.yaml"
    config.write_text("cell: lstm\n")
    hook.on_artifact(run=run, path=config, artifact_path="config")
    train(hook, run, range(1, 21))
    hook.on_run_end(run=run, status="FINISHED", error=None)

    client = MlflowClient(store)
    run_id = run.meta["mlflow_run_id"]
    artifact_root = Path(client.get_run(run_id).info.artifact_uri)
    assert artifact_root.is_relative_to(Path(store.removeprefix("sqlite:///")).parent / "mlruns")
    assert [f.path for f in client.list_artifacts(run_id, "config")] == ["config/config.yaml"]
    best = Path(client.download_artifacts(run_id, "checkpoints/best.npz", str(tmp_path)))
    assert best.read_bytes() == b"weights at 20"


def test_a_failed_run_keeps_the_first_line_of_its_error(tmp_path, store, experiment):
    run = make_run(tmp_path, store, experiment)
    hook, _ = start(run)
    hook.on_run_end(run=run, status="FAILED", error="ValueError: loss is nan\nat step 12")

    logged = MlflowClient(store).get_run(run.meta["mlflow_run_id"])
    assert logged.info.status == "FAILED"
    assert logged.data.tags["error"] == "ValueError: loss is nan"


def test_a_sweep_job_is_a_child_of_the_parent_run_in_its_experiment(
    tmp_path, store, experiment, monkeypatch
):
    client = MlflowClient(store)
    sweep_experiment = client.create_experiment(f"{experiment}-sweep")
    parent = client.create_run(sweep_experiment, run_name="sweep").info.run_id
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", sweep_experiment)
    monkeypatch.setenv("MLFLOW_PARENT_RUN_ID", parent)
    run = make_run(tmp_path, store, experiment)
    hook, _ = start(run)
    hook.on_run_end(run=run, status="FINISHED", error=None)

    child = client.get_run(run.meta["mlflow_run_id"])
    assert child.data.tags["mlflow.parentRunId"] == parent
    assert child.info.experiment_id == sweep_experiment
    assert client.get_experiment_by_name(experiment) is None


def test_resume_continues_the_same_run_without_repeating_steps(tmp_path, store, experiment):
    first = make_run(tmp_path, store, experiment)
    hook, _ = start(first)
    train(hook, first, range(1, 26))  # last checkpoint at step 20
    hook.on_run_end(run=first, status="KILLED", error="interrupted")

    # resumed from the step-20 checkpoint, with train.steps raised from 30 to 40
    resumed = make_run(
        tmp_path,
        store,
        experiment,
        meta=dict(first.meta),
        resumed_from_step=20,
        params={**PARAMS, "train.steps": "40"},
    )
    hook, _ = start(resumed)
    train(hook, resumed, range(21, 41))
    hook.on_run_end(run=resumed, status="FINISHED", error=None)

    client = MlflowClient(store)
    run_id = first.meta["mlflow_run_id"]
    assert resumed.meta["mlflow_run_id"] == run_id
    assert client.get_run(run_id).info.status == "FINISHED"
    assert client.get_run(run_id).data.params == PARAMS
    assert steps_of(client, run_id, "train/loss") == list(range(1, 41))
    assert steps_of(client, run_id, "val/loss") == [10, 20, 30, 40]
    assert len(client.search_runs([client.get_run(run_id).info.experiment_id])) == 1


def test_resuming_a_run_missing_from_the_store_names_the_store(tmp_path, store, experiment):
    run = make_run(
        tmp_path, store, experiment, meta={"mlflow_run_id": "0" * 32}, resumed_from_step=20
    )

    with pytest.raises(RnnlabError, match=f"{'0' * 32}.*not in the tracking store"):
        start(run)


def test_an_unreachable_tracking_server_fails_at_start_with_the_fix(tmp_path, experiment):
    uri = f"http://127.0.0.1:{free_port()}"
    run = make_run(tmp_path, uri, experiment)

    with pytest.raises(
        RnnlabError, match=f"cannot reach .* {uri} .*tracking.trackers=\\[metrics_file\\]"
    ):
        start(run)


def test_a_user_name_in_the_server_uri_does_not_hide_a_running_server(tracking_server):
    check_reachable(tracking_server.replace("http://", "http://alice@"))  # raises if unreachable


def test_a_deleted_experiment_is_reported_with_how_to_restore_it(tmp_path, store, experiment):
    client = MlflowClient(store)
    client.delete_experiment(client.create_experiment(experiment))
    run = make_run(tmp_path, store, experiment)

    with pytest.raises(RnnlabError, match=r"is deleted.*mlflow experiments restore"):
        start(run)


def go_away(tracker, monkeypatch) -> None:
    """The tracking server goes away: the tracker's client now points at a closed port."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    tracker.client = MlflowClient(f"http://127.0.0.1:{free_port()}")


def test_a_store_failing_mid_run_warns_once_and_names_the_upload_command_at_the_end(
    tmp_path, store, experiment, monkeypatch, capsys
):
    run = make_run(tmp_path, store, experiment)
    hook, tracker = start(run)
    train(hook, run, range(1, 11))
    go_away(tracker, monkeypatch)
    train(hook, run, range(11, 31))
    hook.on_artifact(run=run, path=run.run_dir / "best.npz", artifact_path="checkpoints")
    hook.on_run_end(run=run, status="FINISHED", error=None)

    warning, end = capsys.readouterr().err.strip().splitlines()
    assert warning.startswith("rnnlab: warning: MLflow logging to ")
    assert "metrics.jsonl" in warning
    assert end.endswith(f"once it is back: rnnlab upload {run.run_dir}")
    assert steps_of(MlflowClient(store), run.meta["mlflow_run_id"], "val/loss") == [10]


def test_a_store_failing_mid_run_keeps_the_artifacts_and_status_it_missed(
    tmp_path, store, experiment, monkeypatch
):
    run = make_run(tmp_path, store, experiment)
    hook, tracker = start(run)
    train(hook, run, range(1, 11))
    go_away(tracker, monkeypatch)
    train(hook, run, range(11, 21))
    (run.run_dir / "sample.txt").write_text("text")
    hook.on_artifact(run=run, path=run.run_dir / "sample.txt", artifact_path="samples")
    hook.on_run_end(run=run, status="FAILED", error="training diverged at step 21\ndetails")

    backlog = Backlog.load(run.run_dir)
    assert backlog.run_id == run.meta["mlflow_run_id"]
    assert backlog.tracking_uri == store
    assert backlog.artifacts == [
        [str(run.run_dir / "sample.txt"), "samples"],
        [str(run.run_dir / "best.npz"), "checkpoints"],
    ]
    assert (backlog.status, backlog.error) == ("FAILED", "training diverged at step 21")
    assert MlflowClient(store).get_run(backlog.run_id).info.status == "RUNNING"


def test_a_store_back_mid_run_gets_what_it_missed_at_the_next_checkpoint(
    tmp_path, store, experiment, monkeypatch, capsys
):
    run = make_run(tmp_path, store, experiment)
    hook, tracker = start(run, MetricsFileTracker(run))
    train(hook, run, range(1, 11))
    go_away(tracker, monkeypatch)
    train(hook, run, range(11, 16))
    (run.run_dir / "sample.txt").write_text("text")
    hook.on_artifact(run=run, path=run.run_dir / "sample.txt", artifact_path="samples")
    tracker.client = MlflowClient(store)  # back
    train(hook, run, range(16, 31))
    hook.on_run_end(run=run, status="FINISHED", error=None)

    client = MlflowClient(store)
    run_id = run.meta["mlflow_run_id"]
    assert steps_of(client, run_id, "train/loss") == list(range(1, 31))
    assert steps_of(client, run_id, "val/loss") == [10, 20, 30]
    assert [a.path for a in client.list_artifacts(run_id, "samples")] == ["samples/sample.txt"]
    assert client.get_run(run_id).info.status == "FINISHED"
    assert Backlog.load(run.run_dir) is None
    _warning, back, where = capsys.readouterr().err.strip().splitlines()
    assert back == f"rnnlab: MLflow logging to {store} works again; sent what it missed"
    assert where.startswith(f"MLflow run '{run.name}': http://127.0.0.1:5000/") and run_id in where


def test_resume_after_an_outage_sends_the_points_missed_up_to_the_checkpoint(
    tmp_path, store, experiment, monkeypatch
):
    first = make_run(tmp_path, store, experiment)
    hook, tracker = start(first, MetricsFileTracker(first))
    train(hook, first, range(1, 11))
    go_away(tracker, monkeypatch)
    train(hook, first, range(11, 26))  # checkpoint at 20, killed at 25: no run end

    resumed = make_run(tmp_path, store, experiment, meta=dict(first.meta), resumed_from_step=20)
    hook, _ = start(resumed, MetricsFileTracker(resumed))
    train(hook, resumed, range(21, 31))
    hook.on_run_end(run=resumed, status="FINISHED", error=None)

    client = MlflowClient(store)
    run_id = first.meta["mlflow_run_id"]
    assert steps_of(client, run_id, "train/loss") == list(range(1, 31))
    assert steps_of(client, run_id, "val/loss") == [10, 20, 30]
    assert client.get_run(run_id).info.status == "FINISHED"
    assert Backlog.load(first.run_dir) is None


def test_importing_the_builtin_trackers_does_not_import_mlflow():
    code = "import sys, rnnlab.builtins.trackers; print('mlflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["lstm chars", "o'brien", 'say "hi"', 'it\'s "x"', "50% off"])
def test_a_taken_run_name_gets_the_next_free_number(store, experiment, name):
    client = MlflowClient(store)
    experiment_id = client.create_experiment(f"{experiment}-{name}")
    assert unique_name(client, experiment_id, name) == name
    for _ in range(2):  # takes the name, then "(2)"
        client.create_run(experiment_id, run_name=unique_name(client, experiment_id, name))
        client.create_run(experiment_id, run_name=f"{name}x")  # a longer name is not a clash
    assert unique_name(client, experiment_id, name) == f"{name} (3)"
