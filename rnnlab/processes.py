"""Is a process of this host still running? (to find runs and sweeps that were killed hard)"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name; None without that file."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def process_identity(pid: int) -> str:
    """``pid:start`` (start in clock ticks since boot, on Linux), so that a later process
    given the same pid is not taken for this one; ``pid`` where /proc is missing."""
    fields = _stat_fields(pid)
    return f"{pid}:{fields[19]}" if fields else str(pid)


def process_alive(identity: str) -> bool:
    """Whether the process of ``identity`` (a pid, or ``process_identity``) still runs:
    not gone, not a zombie waiting to be reaped, not another process with its pid."""
    pid_text, _, start = identity.partition(":")
    pid = int(pid_text)
    fields = _stat_fields(pid)
    if fields is not None:
        return fields[0] not in ("Z", "X") and (not start or fields[19] == start)
    if Path("/proc/self/stat").exists():  # Linux: no entry, no process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        pass
    return True
