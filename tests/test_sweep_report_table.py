"""The report's tables from a sweep's jobs: entries, failed jobs, and underflowed gradients."""

from __future__ import annotations

from rnnlab.tracking.sweep_report import Job, Sweep, decay_entry, markdown_table


def job(
    cell: str,
    length: str,
    status: str = "FINISHED",
    history=((3, 0.2), (6, 0.1)),
    profile=(1e-3, 1.0),
) -> Job:
    return Job(
        f"{cell}-adding",
        cell,
        {"cell": cell, "data.length": length},
        status,
        list(history),
        0.16 if history else None,
        list(profile) if profile else None,
        1.0,
    )


def sweep(*jobs: Job) -> Sweep:
    return Sweep("p", "sweep-x", "e", "cell=rnn,gru", "val/mse", list(jobs), 2.0)


def test_columns_are_the_swept_values_in_numeric_order_and_entries_the_final_metric():
    s = sweep(job("rnn", "100"), job("rnn", "50"), job("gru", "50", history=[(6, 0.0004)]))
    assert markdown_table(s) == (
        "| cell | data.length=50 | data.length=100 |\n| --- | --- | --- |\n"
        "| rnn | 0.100 (baseline 0.160) | 0.100 (baseline 0.160) |\n"
        "| gru | 0.000400 (baseline 0.160) |  |\n"
    )


def test_a_job_that_did_not_finish_shows_its_status():
    s = sweep(job("rnn", "5"), job("gru", "5", status="FAILED", history=(), profile=None))
    assert markdown_table(s) == (
        "| cell | val/mse |\n| --- | --- |\n| rnn | 0.100 (baseline 0.160) |\n| gru | FAILED |\n"
    )


def test_gradient_decay_is_log10_of_first_over_last_or_where_it_reached_zero():
    assert decay_entry(job("rnn", "5", profile=(1e-3, 1.0))) == "-3.0"
    assert (
        decay_entry(job("rnn", "5", profile=(0.0, 0.0, 1e-30, 1.0))) == "-inf (0 from 2 steps back)"
    )
    assert decay_entry(job("gru", "5", profile=None)) == ""
