"""Checkpoints as ``.npz`` (no pickle): written atomically, validated before use.

Layout: ``param/<name>``, ``optim/<key>``, ``state/<layer>/<i>`` arrays, and
``meta``: a JSON string (step, data position, RNG states, run meta).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from rnnlab.errors import CheckpointError

LAST = "last.npz"
BEST = "best.npz"


def temp_prefix(name: str) -> str:
    """A checkpoint ``name`` being written is a temp file ``.<name>.<random>.tmp`` beside it."""
    return f".{name}."


def remove_partial_writes(run_dir: Path) -> None:
    """Delete the temp files of checkpoint writes that a killed process left in ``run_dir``."""
    for name in (LAST, BEST):
        for path in Path(run_dir).glob(f"{temp_prefix(name)}*.tmp"):
            path.unlink(missing_ok=True)


def save_checkpoint(path: Path, params: dict, optim_state: dict, states: list, meta: dict) -> None:
    """Write atomically: temp file in the same folder, fsync, rename, fsync the folder.

    A kill at any moment leaves the old or the new checkpoint under ``path``, never a
    partial one; loading reads only ``path``, and resume deletes leftover temp files."""
    arrays = {f"param/{k}": v for k, v in params.items()}
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in optim_state.items()})
    for layer, state in enumerate(states):
        arrays.update({f"state/{layer}/{i}": a for i, a in enumerate(state)})
    arrays["meta"] = np.array(json.dumps(meta))
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Checkpoint:
    """A loaded checkpoint: ``params``, ``optim``, ``states`` and ``meta``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise CheckpointError(f"no checkpoint at {self.path}; point resume= at a run "
                                  f"directory that holds {LAST}")
        try:
            with np.load(self.path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {self.path} is unreadable ({exc}); it may be "
                                  f"truncated or not an rnnlab checkpoint") from None
        if "meta" not in arrays:
            raise CheckpointError(f"checkpoint {self.path} has no 'meta' entry; it is not an "
                                  f"rnnlab checkpoint")
        self.meta = json.loads(str(arrays.pop("meta")))
        self.params = {k[6:]: v for k, v in arrays.items() if k.startswith("param/")}
        self.optim = {k[6:]: v for k, v in arrays.items() if k.startswith("optim/")}
        layers: dict[int, dict[int, np.ndarray]] = {}
        for k, v in arrays.items():
            if k.startswith("state/"):
                _, layer, i = k.split("/")
                layers.setdefault(int(layer), {})[int(i)] = v
        self.states = [tuple(layers[l][i] for i in sorted(layers[l])) for l in sorted(layers)]

    def check_params(self, params: dict) -> None:
        """Raise unless names, shapes and dtypes equal the model's ``params``."""
        missing = sorted(set(params) - set(self.params))
        extra = sorted(set(self.params) - set(params))
        if missing or extra:
            raise CheckpointError(
                f"checkpoint {self.path} is from another model: missing {missing or 'nothing'}, "
                f"unexpected {extra or 'nothing'}")
        for name, value in params.items():
            saved = self.params[name]
            if saved.shape != value.shape or saved.dtype != value.dtype:
                raise CheckpointError(
                    f"checkpoint {self.path}: parameter {name} is {saved.dtype}{list(saved.shape)} "
                    f"but the model needs {value.dtype}{list(value.shape)} (another cell, "
                    f"vocabulary or size)")

    def load_into(self, params: dict) -> None:
        self.check_params(params)
        for name, value in params.items():
            value[...] = self.params[name]
