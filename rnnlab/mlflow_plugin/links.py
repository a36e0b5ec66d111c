"""Links into the MLflow UI that land on a run's page or on a runs table.

MLflow 3's UI opens an experiment on its GenAI overview unless the URL selects the
model-training view (``workflowType=machine_learning``); the runs table also takes its search
filter (``searchFilter``) and view (``compareRunsMode``: ``TABLE``, ``CHART``) from the URL.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlparse

#: where ``mlflow ui --host 127.0.0.1`` serves by default
LOCAL_UI = "http://127.0.0.1:5000"


def is_server(tracking_uri: str) -> bool:
    return urlparse(tracking_uri).scheme in ("http", "https")


def ui_base(tracking_uri: str) -> str:
    """The UI's address: the tracking server itself, else ``mlflow ui``'s default."""
    return tracking_uri.rstrip("/") if is_server(tracking_uri) else LOCAL_UI


def run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """The page of one run (with the model-training view's sidebar)."""
    return (
        f"{ui_base(tracking_uri)}/#/experiments/{experiment_id}/runs/{run_id}"
        f"?workflowType=machine_learning"
    )


def runs_link(
    tracking_uri: str,
    experiment_id: str,
    search: str = "",
    view: str = "TABLE",
    best_first: str | None = None,
) -> str:
    """The experiment's runs table (``view="CHART"``: its charts), filtered by ``search``,
    the lowest ``best_first`` metric first (which also lists a sweep's jobs as rows of their
    own rather than folded under their parent)."""
    query = {"workflowType": "machine_learning", "compareRunsMode": view}
    if search:
        query["searchFilter"] = search
    if best_first:
        query.update(orderByKey=f"metrics.`{best_first}`", orderByAsc="true")
    return (
        f"{ui_base(tracking_uri)}/#/experiments/{experiment_id}/runs?"
        f"{urlencode(query, quote_via=quote)}"
    )


def children_filter(parent_id: str) -> str:
    """The runs-table filter that shows a sweep's jobs."""
    return f"tags.mlflow.parentRunId = '{parent_id}'"


def serve_hint(tracking_uri: str) -> str:
    """What serves those links: nothing for a server; else the ``mlflow ui`` command."""
    if is_server(tracking_uri):
        return ""
    return f" (serve it: mlflow ui --host 127.0.0.1 --backend-store-uri {tracking_uri})"
