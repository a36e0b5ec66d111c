"""``rnnlab ... | head``: a reader that stops early ends the command quietly, no traceback."""

from __future__ import annotations

import subprocess

import pytest

from tests_support import rnnlab_command


@pytest.mark.parametrize("args", [["--help"], ["plugins"]])
def test_a_closed_output_pipe_ends_the_command_without_a_message(args):
    proc = subprocess.Popen(
        [rnnlab_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the reader is gone before the first line is written
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 1
    assert stderr == ""
