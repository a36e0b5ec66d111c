"""The MLflow plugin's subcommands: ``rnnlab upload`` and ``rnnlab report``."""

from __future__ import annotations

import argparse


def upload_command(argv: list[str]) -> None:
    """Send MLflow the metric points, artifacts and final status a run's tracker missed."""
    parser = argparse.ArgumentParser(
        prog="rnnlab upload",
        description="Send MLflow what a run missed while its tracking store was away "
        "(from the run's metrics.jsonl and mlflow_backlog.json); nothing twice.",
    )
    parser.add_argument("run", help="run directory")
    parser.add_argument(
        "--tracking-uri", help="the store to send to (default: the one the run logged to)"
    )
    args = parser.parse_args(argv)
    from rnnlab.mlflow_plugin.upload import upload
    from rnnlab.runner.resume import find_run_dir

    print(upload(find_run_dir(args.run), args.tracking_uri))


def report_command(argv: list[str]) -> None:
    """Write a sweep's results table and plots, read from the MLflow tracking store."""
    parser = argparse.ArgumentParser(
        prog="rnnlab report",
        description="Write a Markdown table and PNG plots of a sweep, read from MLflow "
        "(default: the latest sweep in the store).",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--parent", metavar="RUN_ID", help="the sweep's MLflow parent run id")
    which.add_argument("--experiment", metavar="NAME", help="the latest sweep of this experiment")
    parser.add_argument(
        "--tracking-uri",
        help="default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the working directory",
    )
    parser.add_argument("--out", default="report", help="directory for report.md and the PNGs")
    parser.add_argument(
        "--metric",
        help="validation metric to report (default: the first of "
        "val/mse, val/bpc, val/acc the jobs logged)",
    )
    args = parser.parse_args(argv)

    from rnnlab.mlflow_plugin.sweep_report import find_parent, open_store, read_sweep, write_report

    client, uri = open_store(args.tracking_uri)
    sweep = read_sweep(client, find_parent(client, uri, args.parent, args.experiment), args.metric)
    paths = write_report(sweep, args.out)
    print(paths[0].read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(p) for p in paths))
