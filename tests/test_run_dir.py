"""Claiming and locking run directories (rnnlab.runner.run_dir), in one process and across two."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from rnnlab.errors import RnnlabError
from rnnlab.runner.run_dir import LOCK_FILE, RunDirInUse, claim_new_run_dir, lock_run_dir

#: a process that locks the run directory given as its argument, says so, and waits
HOLDER = """
import sys, time
from pathlib import Path
from rnnlab.runner.run_dir import lock_run_dir
lock_run_dir(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(600)
"""


def test_a_taken_default_directory_gives_the_next_free_one(tmp_path):
    (tmp_path / "day" / "12-00-00-gru-chars").mkdir(parents=True)
    (tmp_path / "day" / "12-00-00-gru-chars" / "config.yaml").write_text("")

    first = claim_new_run_dir(tmp_path / "day" / "12-00-00-gru-chars", unique=True)
    second = claim_new_run_dir(tmp_path / "day" / "12-00-00-gru-chars", unique=True)

    assert [first.path.name, second.path.name] == ["12-00-00-gru-chars-2", "12-00-00-gru-chars-3"]
    first.release()
    second.release()


def test_a_chosen_directory_that_holds_a_run_is_refused_untouched(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("x")

    with pytest.raises(RnnlabError, match="already holds a run; continue it with rnnlab resume="):
        claim_new_run_dir(tmp_path / "run", unique=False)
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["config.yaml"]


def test_discarding_a_claim_whose_run_never_started_removes_what_it_made(tmp_path):
    (tmp_path / "outputs").mkdir()
    claim = claim_new_run_dir(tmp_path / "outputs" / "day" / "run", unique=True)
    (claim.path / ".hydra").mkdir()

    claim.discard()

    assert list(tmp_path.iterdir()) == [tmp_path / "outputs"]
    assert list((tmp_path / "outputs").iterdir()) == []


def test_a_started_run_is_kept_when_its_claim_is_discarded(tmp_path):
    claim = claim_new_run_dir(tmp_path / "run", unique=False)
    claim.started = True

    claim.discard()

    assert [p.name for p in (tmp_path / "run").iterdir()] == [LOCK_FILE]


def test_a_directory_locked_by_another_process_names_it_until_that_process_is_killed(tmp_path):
    (tmp_path / "run").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(RunDirInUse, match=f"is in use by process {holder.pid} "):
            lock_run_dir(tmp_path / "run")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    lock_run_dir(tmp_path / "run").release()  # the kill released it
