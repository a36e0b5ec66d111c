"""Checkpoints as ``.npz`` (no pickle): written atomically, validated before use.

Layout: ``param/<name>``, ``optim/<key>``, ``state/<layer>/<i>`` arrays, and
``meta``: a JSON string (step, data position, RNG states, run meta, the engine's thread count).
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rnnlab.errors import CheckpointError
from rnnlab.files import temp_prefix, write_atomically
from rnnlab.runner.threads import current_threads

log = logging.getLogger("rnnlab")

LAST = "last.npz"
BEST = "best.npz"


def remove_partial_writes(run_dir: Path) -> None:
    """Delete the temp files of checkpoint writes that a killed process left in ``run_dir``."""
    for name in (LAST, BEST):
        for path in Path(run_dir).glob(f"{temp_prefix(name)}*.tmp"):
            path.unlink(missing_ok=True)


def save_checkpoint(path: Path, params: dict, optim_state: dict, states: list, meta: dict) -> None:
    """Write durably and atomically (``write_atomically``): a kill or a crash at any moment
    leaves the old or the new checkpoint under ``path``, never a partial one; loading reads
    only ``path``, and resume deletes leftover temp files."""
    arrays = {f"param/{k}": v for k, v in params.items()}
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in optim_state.items()})
    for layer, state in enumerate(states):
        arrays.update({f"state/{layer}/{i}": a for i, a in enumerate(state)})
    # the thread count splits each step's work differently: bitwise resume holds for the same count
    arrays["meta"] = np.array(json.dumps(dict(meta, threads=current_threads())))
    write_atomically(Path(path), lambda f: np.savez(f, **arrays), durable=True)


def _by_layer(states: list) -> dict[str, np.ndarray]:
    """``[(h, c), ...]`` -> ``{"0/0": h, "0/1": c, ...}``."""
    return {f"{layer}/{i}": a for layer, state in enumerate(states) for i, a in enumerate(state)}


class Checkpoint:
    """A loaded checkpoint: ``params``, ``optim``, ``states`` and ``meta``.

    Read with ``allow_pickle=False``: a file holding pickled objects is refused, never
    unpickled. ``check_fits`` compares every array's name, shape and dtype with the
    model's before anything is used.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise CheckpointError(
                f"no checkpoint at {self.path}; point resume= at a run directory that holds {LAST}"
            )
        try:
            with np.load(self.path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except ValueError as exc:
            if "pickle" not in str(exc):
                raise self._unreadable(exc) from None
            raise CheckpointError(
                f"checkpoint {self.path} holds pickled Python objects, which rnnlab never loads "
                f"(unpickling can run code); use a checkpoint that rnnlab wrote"
            ) from None
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise self._unreadable(exc) from None
        try:
            self.meta = json.loads(str(arrays.pop("meta")))
        except (KeyError, ValueError):
            self.meta = None
        if not isinstance(self.meta, dict):
            raise CheckpointError(
                f"checkpoint {self.path} has no JSON 'meta' entry; it is not an rnnlab checkpoint"
            )
        self.params = {k[6:]: v for k, v in arrays.items() if k.startswith("param/")}
        self.optim = {k[6:]: v for k, v in arrays.items() if k.startswith("optim/")}
        layers: dict[int, dict[int, np.ndarray]] = {}
        for k, v in arrays.items():
            if k.startswith("state/"):
                _, layer, i = k.split("/")
                layers.setdefault(int(layer), {})[int(i)] = v
        self.states = [tuple(layers[l][i] for i in sorted(layers[l])) for l in sorted(layers)]

    def _unreadable(self, exc: Exception) -> CheckpointError:
        return CheckpointError(
            f"checkpoint {self.path} is unreadable ({exc}); it may be "
            f"truncated or not an rnnlab checkpoint"
        )

    def check_fits(
        self, params: dict, optim_state: dict, states: list, meta_keys: Iterable[str]
    ) -> None:
        """Raise unless the names, shapes and dtypes of every parameter, optimizer buffer and
        state array equal those given, and ``meta`` has every key of ``meta_keys``."""
        self.check_params(params)
        self._check_arrays("optimizer state", self.optim, optim_state)
        self._check_arrays("hidden state", _by_layer(self.states), _by_layer(states))
        missing = sorted(set(meta_keys) - set(self.meta))
        if missing:
            raise CheckpointError(
                f"checkpoint {self.path} has no {missing} in its meta entry; "
                f"it was not written by this version of rnnlab"
            )

    def check_params(self, params: dict) -> None:
        """Raise unless names, shapes and dtypes equal the model's ``params``."""
        self._check_arrays("parameter", self.params, params)

    def _check_arrays(self, what: str, saved: dict, expected: dict) -> None:
        missing = sorted(set(expected) - set(saved))
        extra = sorted(set(saved) - set(expected))
        if missing or extra:
            raise CheckpointError(
                f"checkpoint {self.path} is from another model: {what} missing "
                f"{missing or 'nothing'}, unexpected {extra or 'nothing'}; resume a run from "
                f"its own directory"
            )
        for name, value in expected.items():
            value = np.asarray(value)
            if saved[name].shape != value.shape or saved[name].dtype != value.dtype:
                raise CheckpointError(
                    f"checkpoint {self.path}: {what} {name} is {saved[name].dtype}"
                    f"{list(saved[name].shape)} but the model needs {value.dtype}"
                    f"{list(value.shape)} (another cell, vocabulary or size); resume a run "
                    f"from its own directory"
                )

    def copy_params_into(self, params: dict) -> None:
        """Check the model's ``params`` against the checkpoint's and overwrite them with it."""
        self.check_params(params)
        for name, value in params.items():
            value[...] = self.params[name]

    def load_into(self, params: dict) -> None:
        """``copy_params_into``, with a warning if the run computed on another thread count."""
        saved, now = self.meta.get("threads"), current_threads()
        if saved is not None and saved != now:
            log.warning(
                "resuming on %d thread(s), the checkpoint's run used %d: the rest of the run "
                "may differ in the last bits from an uninterrupted one (resume with threads=%d)",
                now,
                saved,
                saved,
            )
        self.copy_params_into(params)
