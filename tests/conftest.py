"""Shared fixtures: fake plugin distributions on sys.path, and running the installed command."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests_support import mlflow_server, rnnlab_command


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """Create a plugin distribution in a folder put on sys.path (and PYTHONPATH for subprocesses).

    ``plugin_dist("dist-name", {"ep": "module"}, {"module": "source"})`` returns the folder.
    """
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(
            [str(root)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
    )

    def make(
        dist_name: str,
        entry_points: dict[str, str],
        modules: dict[str, str],
        version: str = "0.1.0",
    ) -> Path:
        info = root / f"{dist_name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n"
        )
        (info / "entry_points.txt").write_text(
            "[rnnlab]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items())
        )
        for module, source in modules.items():
            (root / f"{module}.py").write_text(textwrap.dedent(source))
        return root

    return make


@pytest.fixture
def run_rnnlab(tmp_path):
    """Run the installed ``rnnlab`` command in ``tmp_path``; returns the CompletedProcess."""

    def run(
        *args: str,
        cwd: Path | None = None,
        env: dict | None = None,
        timeout: float = 600,
        preexec_fn=None,
    ):
        full_env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
            **(env or {}),
        }
        return subprocess.run(
            [rnnlab_command(), *args],
            cwd=cwd or tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=preexec_fn,
        )

    return run


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    """``mlflow server`` with a sqlite backend and local artifacts, on 127.0.0.1; yields its URL."""
    root = tmp_path_factory.mktemp("server")
    with mlflow_server(
        "server",
        f"sqlite:///{root}/mlflow.db",
        root / "server.log",
        "--artifacts-destination",
        str(root / "artifacts"),
    ) as url:
        yield url
