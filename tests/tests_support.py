"""Helpers shared by test modules (importable: tests/ is on sys.path under pytest)."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the smallest useful job: a few steps of a tiny model on the difference toy
TINY_DIFFERENCE = [
    "data=difference",
    "data.train_size=64",
    "data.val_size=32",
    "data.test_size=32",
    "model.hidden_size=4",
    "train.steps=2",
]


def readme_example(name: str) -> str:
    """The code block that follows ``<!-- example: NAME -->`` in the README.

    Every worked example of the plugin guide carries such a marker, and a test runs it, so the
    guide cannot drift from the code.
    """
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"<!-- example: {name} -->") + 1
    if not lines[start].startswith("```"):
        raise ValueError(f"README: no code block right after the marker of example {name!r}")
    end = lines.index("```", start + 1)
    return "\n".join(lines[start + 1 : end]) + "\n"


def rnnlab_experiment(client):
    """The one experiment rnnlab filed runs under in a store (named after the dataset)."""
    [experiment] = [e for e in client.search_experiments() if e.name != "Default"]
    return experiment


def rnnlab_command() -> str:
    """The installed ``rnnlab`` console script of the interpreter running the tests."""
    path = Path(sys.executable).parent / "rnnlab"
    return str(path) if path.exists() else shutil.which("rnnlab")


def metric_points(client, run) -> tuple[list, list]:
    """(step, metric) pairs of ``run``: from its local metrics.jsonl, and from MLflow, sorted
    (the dataset's baselines, ``data/*`` in the file, are params in MLflow: left out)."""
    local = Path(run.data.tags["rnnlab.run_dir"]) / "metrics.jsonl"
    points = [
        (rec["step"], key)
        for rec in map(json.loads, local.read_text().splitlines())
        for key in rec["metrics"]
        if not key.startswith("data/")
    ]
    remote = [
        (m.step, key)
        for key in run.data.metrics
        for m in client.get_metric_history(run.info.run_id, key)
    ]
    return sorted(points), sorted(remote)


def write_text(path: Path, alphabet: str, n: int = 3000, seed: int = 0) -> Path:
    """``n`` characters drawn uniformly from ``alphabet``, written to ``path`` as UTF-8."""
    import numpy as np

    rng = np.random.default_rng(seed)
    path.write_text("".join(rng.choice(list(alphabet), n)), encoding="utf-8")
    return path


def without_numba(folder: Path) -> dict[str, str]:
    """The environment of a process in which ``import numba`` fails as if it were not
    installed (a package of that name on PYTHONPATH, in ``folder``, raises the error)."""
    package = folder / "numba"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'numba'\", name='numba')\n"
    )
    return {"PYTHONPATH": str(folder)}


def start_rnnlab(cwd: Path, *args: str, **env: str) -> subprocess.Popen:
    """The installed ``rnnlab`` started in ``cwd`` with its store ``cwd/mlflow.db`` and ``env``
    added to the environment; its stderr is a text pipe."""
    return subprocess.Popen(
        [rnnlab_command(), *args],
        cwd=cwd,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd}/mlflow.db", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


#: the files of a sqlite tracking store: compared through its runs (``mlflow_runs``)
STORE_FILES = {"mlflow.db", "mlflow.db-journal"}


def files_of(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` but the tracking store's: relative path -> (bytes, mtime)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and p.name not in STORE_FILES
    }


def mlflow_runs(folder: Path) -> dict:
    """The runs of the store ``folder/mlflow.db``: id -> (status, tags, params, metrics)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{folder}/mlflow.db")
    return {
        r.info.run_id: (r.info.status, r.data.tags, r.data.params, r.data.metrics)
        for e in client.search_experiments()
        for r in client.search_runs([e.experiment_id])
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlflow_server(
    subcommand: str,
    store: str,
    log: Path,
    *options: str,
    port: int | None = None,
    start_timeout_s: float = 120,
):
    """Start ``mlflow ui`` or ``mlflow server`` over ``store`` on 127.0.0.1 (``port``, else a
    free one); returns (the process, its URL) once it answers.

    It runs in a session of its own, so stopping it also ends the workers it started.
    """
    url = f"http://127.0.0.1:{port or free_port()}"
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        subcommand,
        "--backend-store-uri",
        store,
        "--host",
        "127.0.0.1",
        "--port",
        url.rsplit(":", 1)[1],
        "--workers",
        "1",
        *options,
    ]
    # no background job runner: the server only answers tracking calls
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with open(log, "w") as out:
        server = subprocess.Popen(
            command,
            cwd=log.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            assert server.poll() is None, f"mlflow {subcommand} exited:\n{log.read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5).close()
                return server, url
            except OSError:
                assert time.monotonic() < deadline, (
                    f"mlflow {subcommand} did not answer:\n{log.read_text()[-3000:]}"
                )
                time.sleep(0.5)
    except BaseException:
        stop_process_group(server)
        raise


@contextlib.contextmanager
def mlflow_server(
    subcommand: str, store: str, log: Path, *options: str, start_timeout_s: float = 120
):
    """``start_mlflow_server`` as a context: yields the URL, stops the server at the end."""
    server, url = start_mlflow_server(
        subcommand, store, log, *options, start_timeout_s=start_timeout_s
    )
    try:
        yield url
    finally:
        stop_process_group(server)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM ``process``'s whole session, SIGKILL it if it lingers for 30 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


#: a plugin that, at each step listed in RNNLAB_TEST_PAUSE_AT, after the trackers have seen
#: that step's training metrics, touches ``<run_dir>/paused-<step>`` and waits for
#: ``<run_dir>/go-<step>``: a test can then kill the run, or the tracking server, at a known step
PAUSE_PLUGIN = """
import os
import time
from pathlib import Path

import rnnlab


@rnnlab.hookimpl
def on_metrics(run, step, metrics):
    if str(step) not in os.environ.get("RNNLAB_TEST_PAUSE_AT", "").split(","):
        return
    run_dir = Path(run.run_dir)
    (run_dir / f"paused-{step}").touch()
    while not (run_dir / f"go-{step}").exists():
        time.sleep(0.02)
"""


def wait_until_paused(proc, run_dir: Path, step: int, timeout: float = 600) -> None:
    """Wait until the run of ``proc`` (with PAUSE_PLUGIN installed) pauses at ``step``."""
    marker = Path(run_dir) / f"paused-{step}"
    waited = 0.0
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before step {step}: {proc.stderr.read()}")
        if waited > timeout:
            raise AssertionError(f"the run did not reach step {step}")
        time.sleep(0.05)
        waited += 0.05


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def as_user_bound_by_permissions():
    """In the child before exec: drop root's capabilities to write regardless of permissions
    (a no-op for other users), so a read-only directory is read-only for the child too."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def read_only_folder(path: Path) -> Path:
    """``path``, made and read-only for a child started with ``as_user_bound_by_permissions``;
    skips the test where that cannot be done."""
    import pytest

    path.mkdir(exist_ok=True)
    path.chmod(0o555)
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(path / 'probe')!r}, 'w')"],
        preexec_fn=as_user_bound_by_permissions,
        capture_output=True,
    )
    if probe.returncode == 0:
        pytest.skip("cannot make a directory read-only for this user")
    return path
