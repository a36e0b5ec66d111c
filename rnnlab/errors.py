"""User-facing errors: each carries a one-line message naming the problem and the fix.

The CLI prints ``rnnlab: error: <message>`` for these and exits non-zero,
without a traceback.
"""

from __future__ import annotations

import errno


class RnnlabError(Exception):
    """A user mistake or an environment problem the user can fix."""


class ConfigError(RnnlabError, ValueError):
    """A composed config value is wrong (names the key and what is allowed)."""


class PluginError(RnnlabError):
    """A plugin failed to load, is missing, or conflicts with another."""


class CheckpointError(RnnlabError):
    """A checkpoint cannot be used (missing, truncated, or from another model)."""


class StorageError(RnnlabError):
    """A file could not be written: no permission, a read-only or full disk, a size limit."""


#: errno values of a write the user can fix: no room, or no permission
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def storage_error(exc: BaseException) -> StorageError | None:
    """``exc`` as a one-line StorageError if it is such a failed write, else None."""
    if not isinstance(exc, OSError) or exc.errno not in _FULL | _DENIED:
        return None
    where = f"'{exc.filename}'" if exc.filename else "an output file"
    fix = "free disk space, or choose" if exc.errno in _FULL else "choose"
    return StorageError(
        f"cannot write {where} ({exc.strerror}); {fix} a writable output "
        f"directory with hydra.run.dir=... (hydra.sweep.dir=... for -m)"
    )
