"""Tracking outage against a real ``mlflow server``: unreachable at start, the run stops
before training with one line; dying mid-run, training goes on, ``metrics.jsonl`` stays
complete, and ``rnnlab upload`` sends MLflow what it missed once the server is back."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from mlflow.tracking import MlflowClient

from tests_support import (
    PAUSE_PLUGIN,
    free_port,
    metric_points,
    rnnlab_command,
    rnnlab_experiment,
    start_mlflow_server,
    stop_process_group,
    wait_until_paused,
)

pytestmark = pytest.mark.slow

#: checkpoints at steps 10, 20, 30, 40; the server dies at step 15
RUN = [
    "cell=gru",
    "data=chars",
    "model.hidden_size=16",
    "bptt=8",
    "train.batch_size=4",
    "train.steps=40",
    "train.eval_every=10",
    "train.log_every=5",
    "train.eval_batches=2",
    "sample.length=10",
    "threads=1",
    "hydra.run.dir=run",
]


@pytest.fixture
def server(tmp_path):
    """(url, start): ``start()`` runs an ``mlflow server`` on the same port and store each time
    and returns its process."""
    root = tmp_path / "server"
    root.mkdir()
    port = free_port()
    started = []

    def start() -> subprocess.Popen:
        process, _ = start_mlflow_server(
            "server",
            f"sqlite:///{root}/mlflow.db",
            root / f"server-{len(started)}.log",
            "--artifacts-destination",
            str(root / "artifacts"),
            port=port,
        )
        started.append(process)
        return process

    yield f"http://127.0.0.1:{port}", start
    for process in started:
        stop_process_group(process)


def test_an_unreachable_server_stops_the_run_before_training_with_one_line(run_rnnlab, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"

    proc = run_rnnlab(*RUN, env={"MLFLOW_TRACKING_URI": url})

    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"rnnlab: error: cannot reach the MLflow tracking server at {url} ")
    assert line.endswith("or train without MLflow: tracking.trackers=[metrics_file]")
    assert not (tmp_path / "run" / "last.npz").exists()


def run_with_server_dying_at_step_15(tmp_path, url, server, back_at=None):
    """Start training ``RUN`` against ``url`` and kill ``server`` at step 15; the run
    pauses again at step ``back_at`` if given. Returns (the process, the run directory)."""
    # no retries: MLflow's default (7, backoff) would hold training for minutes at the failure
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "RNNLAB_TEST_PAUSE_AT": ",".join(str(s) for s in (15, back_at) if s),
    }
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [rnnlab_command(), *RUN],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until_paused(proc, run_dir, 15)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    (run_dir / "go-15").touch()
    return proc, run_dir


def test_the_server_dying_mid_run_loses_nothing_once_it_is_back_and_uploaded(
    run_rnnlab, tmp_path, plugin_dist, server
):
    plugin_dist("rnnlab-pause", {"pause": "pause_plugin"}, {"pause_plugin": PAUSE_PLUGIN})
    url, start = server
    proc, run_dir = run_with_server_dying_at_step_15(tmp_path, url, start())
    stderr = proc.communicate(timeout=600)[1]

    assert proc.returncode == 0, stderr
    notes = [line for line in stderr.splitlines() if "MLflow" in line]
    assert len(notes) == 2
    assert notes[0].startswith(f"rnnlab: warning: MLflow logging to {url} failed")
    assert notes[1].endswith(f"once it is back: rnnlab upload {run_dir}")
    down = run_rnnlab("upload", str(run_dir))
    assert down.returncode == 1
    assert down.stderr.startswith(
        f"rnnlab: error: cannot reach the MLflow tracking server at {url}"
    )

    start()
    client = MlflowClient(tracking_uri=url)
    [run] = client.search_runs([rnnlab_experiment(client).experiment_id])
    assert run.info.status == "RUNNING"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [5, 10]
    up = run_rnnlab("upload", str(run_dir))

    assert up.returncode == 0, up.stderr
    assert up.stdout.strip().endswith("status FINISHED")
    run = client.get_run(run.info.run_id)
    assert run.info.status == "FINISHED"
    local, remote = metric_points(client, run)
    assert remote == local  # every point once: none missing, none twice
    assert {(40, "test/loss"), (40, "train/loss"), (40, "val/loss")} <= set(local)
    assert [a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")] == [
        "checkpoints/best.npz"
    ]
    assert "samples/final.txt" in [
        a.path for a in client.list_artifacts(run.info.run_id, "samples")
    ]
    again = run_rnnlab("upload", str(run_dir))
    assert again.returncode == 0
    assert again.stdout.startswith("nothing to upload")
    assert metric_points(client, client.get_run(run.info.run_id))[1] == remote


def test_the_server_back_mid_run_gets_what_it_missed_at_the_next_checkpoint(
    tmp_path, plugin_dist, server
):
    plugin_dist("rnnlab-pause", {"pause": "pause_plugin"}, {"pause_plugin": PAUSE_PLUGIN})
    url, start = server
    proc, run_dir = run_with_server_dying_at_step_15(tmp_path, url, start(), back_at=25)
    wait_until_paused(proc, run_dir, 25)
    start()
    (run_dir / "go-25").touch()
    stderr = proc.communicate(timeout=600)[1]

    assert proc.returncode == 0, stderr
    assert [line for line in stderr.splitlines() if "MLflow" in line][1] == (
        f"rnnlab: MLflow logging to {url} works again; sent what it missed"
    )
    client = MlflowClient(tracking_uri=url)
    [run] = client.search_runs([rnnlab_experiment(client).experiment_id])
    assert run.info.status == "FINISHED"
    local, remote = metric_points(client, run)
    assert remote == local
    assert (40, "test/loss") in local
    assert not (run_dir / "mlflow_backlog.json").exists()
