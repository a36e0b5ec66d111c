"""Opening an MLflow tracking store: problems said in one line within seconds, no store
created by a command that only reads, and a new sqlite store created by one process.

For a local sqlite store MLflow itself retries a database it cannot open for about
100 s before it fails, creates every missing folder of a mistyped path, and fails
when several processes create a new store at once ("table alembic_version already
exists"). The checks here use the standard library and take milliseconds; the
store is opened under an exclusive lock on its folder, so the first process creates
its tables while the others wait, then find them complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlparse

from rnnlab.errors import RnnlabError
from rnnlab.mlflow_plugin.links import is_server

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

#: seconds to wait for an HTTP tracking server to answer at run start
PROBE_TIMEOUT_S = 10
#: seconds to wait for a writer that holds a sqlite store locked
BUSY_TIMEOUT_S = 30
WITHOUT_MLFLOW = "or train without MLflow: tracking.trackers=[metrics_file]"
#: how to point rnnlab at another store, or train without one
STORE_FIXES = f"fix tracking.tracking_uri or MLFLOW_TRACKING_URI, {WITHOUT_MLFLOW}"


def quiet_store_logs() -> None:
    """Silence the INFO lines MLflow's sqlite store prints when it creates its tables, and the
    traceback it logs for each database error: the error reaches rnnlab, which reports it in one
    line (at start) or warns once and keeps what MLflow missed (mid-run)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


def resolve_tracking_uri(configured: str | None) -> str:
    """``tracking.tracking_uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's default.

    MLflow 3's default is ``sqlite:///mlflow.db`` in the working directory (returned
    with an absolute path), unless ``./mlruns`` holds data of the old file store.
    """
    if configured or os.environ.get("MLFLOW_TRACKING_URI"):  # without importing mlflow
        return configured or os.environ["MLFLOW_TRACKING_URI"]
    import mlflow

    return mlflow.get_tracking_uri()


def check_reachable(tracking_uri: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Fail fast when an HTTP tracking server does not answer.

    The MLflow client would retry a refused connection for minutes before failing;
    any HTTP answer (even an error status) means the server is there.
    """
    import urllib.error
    import urllib.request

    if not is_server(tracking_uri):
        return
    parts = urlparse(tracking_uri)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    try:  # without the user name a URI may carry: urllib would take it for part of the host
        urllib.request.urlopen(parts._replace(netloc=netloc).geturl(), timeout=timeout).close()
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RnnlabError(
            f"cannot reach the MLflow tracking server at {tracking_uri} ({reason}); "
            f"start it (mlflow server --port ...), fix tracking.tracking_uri or "
            f"MLFLOW_TRACKING_URI, {WITHOUT_MLFLOW}"
        ) from None


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def store_failed(tracking_uri: str, when: str, exc: BaseException) -> RnnlabError:
    """The one-line error for a store that raised ``exc`` ``when`` (e.g. "at run start")."""
    fix = (
        "check that its file is writable and its disk has space"
        if urlparse(tracking_uri).scheme == "sqlite"
        else "start the tracking server"
    )
    return RnnlabError(
        f"MLflow tracking store {tracking_uri} failed {when} "
        f"({first_line(str(exc)) or type(exc).__name__}); {fix}, {STORE_FIXES}"
    )


def open_client(tracking_uri: str, create: bool) -> MlflowClient:
    """An ``MlflowClient`` on ``tracking_uri`` once the store is known to work; a one-line
    RnnlabError if it cannot. ``create``: the store is to be written, and a missing sqlite
    database may be created; else it must exist (a command that only reads creates none)."""
    check_reachable(tracking_uri)
    database = sqlite_database(tracking_uri)
    if database is not None:
        check_database(database, tracking_uri, create)
    from mlflow.tracking import MlflowClient

    quiet_store_logs()
    if database is None:
        return MlflowClient(tracking_uri=tracking_uri)
    with creation_lock(database):
        return MlflowClient(tracking_uri=tracking_uri)


def sqlite_database(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative to the working directory
    unless it starts with ``sqlite:////``); None for other stores and in-memory databases."""
    parsed = urlparse(tracking_uri)
    path = unquote(parsed.path[1:])
    if parsed.scheme != "sqlite" or path in ("", ":memory:") or "uri=true" in parsed.query:
        return None
    return Path(path)


def check_database(database: Path, uri: str, create: bool) -> None:
    """Raise a one-line RnnlabError unless MLflow can use ``database``: to read and write it
    (``create``: it may be created), or only to read an existing one."""
    folder = database.absolute().parent
    if database.is_dir():
        raise RnnlabError(
            f"MLflow tracking store {uri} is a directory, not a database file; "
            f"name a file, e.g. sqlite:///{database.absolute() / 'mlflow.db'}, {STORE_FIXES}"
        )
    if not folder.is_dir():
        raise RnnlabError(
            f"the folder {folder} of MLflow tracking store {uri} does not exist; "
            f"check the path for a typo or create the folder, {STORE_FIXES}"
        )
    if not database.exists():
        if not create:
            raise RnnlabError(
                f"no MLflow store at {uri}; run from the directory that holds "
                f"its mlflow.db, or set MLFLOW_TRACKING_URI (--tracking-uri where offered)"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise RnnlabError(
                f"cannot create MLflow tracking store {uri}: the folder {folder} is not "
                f"writable; run from a writable directory, {STORE_FIXES}"
            )
        return
    writable = os.access(database, os.R_OK | os.W_OK) and os.access(folder, os.W_OK | os.X_OK)
    if create and not writable:  # sqlite writes a journal file beside the database
        raise RnnlabError(
            f"MLflow tracking store {uri} is read-only (the file or its folder {folder} is "
            f"not writable); make both writable, {STORE_FIXES}"
        )
    _check_readable(database, uri)


def _check_readable(database: Path, uri: str) -> None:
    """Read the schema of ``database``: a file that is not an sqlite database fails here."""
    try:
        with contextlib.closing(
            sqlite3.connect(
                f"file:{quote(str(database.absolute()))}?mode=ro",
                uri=True,
                timeout=BUSY_TIMEOUT_S,
            )
        ) as connection:
            connection.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.Error as exc:
        raise RnnlabError(
            f"MLflow tracking store {uri} cannot be read ({exc}); if the file is damaged, "
            f"move it away (a new store is then created) or restore it from a backup, "
            f"{STORE_FIXES}"
        ) from None


@contextlib.contextmanager
def creation_lock(database: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder of ``database`` (no file is left behind):
    while one process creates or upgrades the store's tables, the others wait. Where a
    file system cannot lock a folder, it goes on unlocked, as MLflow alone would."""
    try:
        fd = os.open(database.absolute().parent, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
