"""A sweep's job in a process of its own stops when the sweep's process dies.

joblib, submitit and Ray run jobs in worker processes that outlive a sweep killed
hard (SIGKILL, out of memory): they would train on and log to MLflow with nobody
to collect them. Each such job watches the sweep's process; once it is gone the
job is interrupted as by Ctrl-C (its run ends KILLED, with how to resume it) and
its process exits. A job that cannot end within ``GRACE_S`` is ended at once; its
run is then marked KILLED the next time the store is opened on this host. Jobs on
other machines (a Slurm or Ray cluster) cannot see the sweep's process: they run on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator

from rnnlab.processes import process_alive, process_identity

#: the sweep's process: ``<host>/<process_identity>``
SWEEP_PROCESS_ENV = "RNNLAB_SWEEP_PROCESS"
#: seconds between two looks at the sweep's process
POLL_S = 0.5
#: seconds an interrupted job has to end its run before its process exits anyway
GRACE_S = 10
#: exit status of a job process whose sweep is gone (as after SIGTERM)
ORPHAN_EXIT = 143


def export_sweep_process() -> None:
    """In the sweep's process: name it to the jobs."""
    os.environ[SWEEP_PROCESS_ENV] = f"{socket.gethostname()}/{process_identity(os.getpid())}"


def _leave(message: str) -> None:
    print(f"rnnlab: {message}", file=sys.stderr, flush=True)
    os._exit(ORPHAN_EXIT)  # nobody is left to return the job's result to


def _watch(sweep: str, done: threading.Event, orphaned: threading.Event) -> None:
    while not done.wait(POLL_S):
        if not process_alive(sweep):
            orphaned.set()
            os.kill(os.getpid(), signal.SIGTERM)  # the job ends its run as KILLED
            if not done.wait(GRACE_S):
                _leave(f"the sweep's process is gone; job ended after {GRACE_S} s")
            return


@contextlib.contextmanager
def stop_with_the_sweep() -> Iterator[None]:
    """Run a job so that it stops when the sweep's process dies (a no-op outside a sweep,
    for jobs in the sweep's own process, and on other machines)."""
    host, _, sweep = os.environ.get(SWEEP_PROCESS_ENV, "").rpartition("/")
    if host != socket.gethostname() or sweep.partition(":")[0] == str(os.getpid()):
        yield
        return
    if not process_alive(sweep):
        _leave("the sweep's process is gone; job not started")
    done, orphaned = threading.Event(), threading.Event()
    threading.Thread(
        target=_watch, args=(sweep, done, orphaned), name="rnnlab-sweep-watch", daemon=True
    ).start()
    try:
        yield
    except KeyboardInterrupt as exc:
        if orphaned.is_set():
            _leave(f"the sweep's process is gone; {str(exc) or 'job interrupted'}")
        raise
    finally:
        done.set()
