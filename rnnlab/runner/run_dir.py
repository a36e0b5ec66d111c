"""A run directory belongs to one run: claimed before anything is written, locked while trained.

The lock is ``fcntl.flock`` on ``.rnnlab.lock`` in the directory, which holds the PID of the
process that trains there. The kernel releases it when that process ends, however it ends
(SIGKILL included), so a stale lock never blocks a resume.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.names import CONFIG_FILE

LOCK_FILE = ".rnnlab.lock"


class RunDirInUse(RnnlabError):
    """Another process trains in the run directory."""


class RunDirLock:
    """This process's hold on ``path``. ``created``: for a new run's claim, the folders it
    made (``[]`` if ``path`` was an empty folder already); None for a resumed run."""

    def __init__(self, path: Path, fd: int, created: list[Path] | None):
        self.path, self.fd, self.created = path, fd, created or []
        #: a new run's claim (``claim_new_run_dir``), not a resumed run's lock
        self.fresh = created is not None
        #: set once the run's records exist: a failed run is then kept, not discarded
        self.started = False

    def discard(self) -> None:
        """Undo a new run's claim if the run never started (remove what the claim made and
        what was written since); release the lock."""
        if self.fresh and not self.started:
            if self.created:
                shutil.rmtree(self.created[-1], ignore_errors=True)
                for folder in self.created[:-1][::-1]:  # parents made for it, if still empty
                    try:
                        folder.rmdir()
                    except OSError:
                        break
            else:  # a folder that was empty before the claim
                for entry in self.path.iterdir():
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        if self.fd < 0:
            return
        _held.pop(self.path.resolve(), None)
        os.close(self.fd)
        self.fd = -1


#: the run directories this process holds, by resolved path
_held: dict[Path, RunDirLock] = {}


def held_lock(path: Path) -> RunDirLock | None:
    """This process's lock on ``path``, if it holds one."""
    return _held.get(Path(path).resolve())


def _holder(lock_path: Path) -> str:
    try:
        pid = lock_path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def lock_run_dir(path: Path, created: list[Path] | None = None) -> RunDirLock:
    """Hold the lock on the existing directory ``path`` (at once, or raise RunDirInUse).

    Idempotent within a process: a directory this process holds is returned as is.
    """
    path = Path(path)
    held = held_lock(path)
    if held is not None:
        return held
    lock_path = path / LOCK_FILE
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        raise RunDirInUse(
            f"run directory {path} is in use by {_holder(lock_path)} (it holds {lock_path}); "
            f"wait for it to end, or stop it first"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    lock = _held[path.resolve()] = RunDirLock(path, fd, created)
    return lock


def _holds_files(path: Path) -> bool:
    return path.is_dir() and any(e.name != LOCK_FILE for e in path.iterdir())


def _refuse_taken(path: Path) -> RnnlabError:
    if (path / CONFIG_FILE).is_file():
        return RnnlabError(
            f"{path} already holds a run; continue it with rnnlab resume={path}, or start "
            f"a new run in another directory: hydra.run.dir=<new directory>"
        )
    return RnnlabError(
        f"{path} is not empty and does not hold an rnnlab run; give a new or empty "
        f"directory: hydra.run.dir=<new directory>"
    )


def claim_new_run_dir(path: Path, unique: bool) -> RunDirLock:
    """Make and lock the directory of a new run at ``path``: nothing is written if it fails.

    A directory that holds files is refused; with ``unique`` (a path from the default
    pattern, ``<time>-<cell>-<data>``) the next free ``<path>-2``, ``<path>-3``, ... is
    taken instead, so two runs started in the same second never share one.
    """
    path = Path(path)
    for n in range(1, 10_000):
        candidate = path if n == 1 else path.with_name(f"{path.name}-{n}")
        if _holds_files(candidate) or (candidate.exists() and not candidate.is_dir()):
            if unique:
                continue
            raise _refuse_taken(candidate)
        created = [p for p in (candidate, *candidate.parents) if not p.exists()][::-1]
        try:
            candidate.mkdir(parents=True, exist_ok=not unique)
        except FileExistsError:  # made by another run since the check above
            if unique:
                continue
            raise _refuse_taken(candidate) from None
        lock = lock_run_dir(candidate, created)
        if _holds_files(candidate):  # another run got there between the check and the lock
            lock.release()
            if unique:
                continue
            raise _refuse_taken(candidate)
        return lock
    raise RnnlabError(f"no free run directory next to {path}; give one: hydra.run.dir=...")
