"""Find the run directory that ``resume=``, ``rnnlab sample`` or ``rnnlab evaluate`` refers to."""

from __future__ import annotations

from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.names import CONFIG_FILE
from rnnlab.plugins.registry import get_registry


def find_run_dir(reference: str) -> Path:
    """``reference`` is a run directory, or what a plugin's ``find_run_dir`` hook resolves
    (the MLflow plugin: the id of an MLflow run made by rnnlab)."""
    path = Path(reference).expanduser()
    if path.is_dir():
        if not (path / CONFIG_FILE).is_file():
            raise RnnlabError(
                f"{path} is not an rnnlab run directory (no {CONFIG_FILE}); give "
                f"the directory of a run, e.g. outputs/<date>/<time>-<cell>-<data>"
            )
        return path
    hook = get_registry().plugins.pm.hook
    found = hook.find_run_dir(reference=reference)
    if found is not None:
        return Path(found)
    forms = [form for form in hook.run_reference_help() if form]
    if not forms:
        raise RnnlabError(f"'{reference}' is not a run directory; give a path under outputs/")
    raise RnnlabError(
        f"'{reference}' is neither a run directory nor {' nor '.join(forms)}; give a path "
        f"under outputs/ or {'one of those' if len(forms) > 1 else 'that'}"
    )
