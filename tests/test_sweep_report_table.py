"""The report's tables from a sweep's jobs: entries over seeds, failed jobs, comparisons
between cells, and underflowed gradients."""

from __future__ import annotations

import re

import pytest

from rnnlab.mlflow_plugin.sweep_report import (
    Job,
    Sweep,
    comparison_table,
    decay_entry,
    markdown_table,
)


def job(
    cell: str,
    length: str,
    status: str = "FINISHED",
    history=((3, 0.2), (6, 0.1)),
    profile=(1e-3, 1.0),
    seed: str | None = None,
) -> Job:
    overrides = {"cell": cell, "data.length": length}
    if seed is not None:
        overrides["seed"] = seed
    return Job(
        f"{cell}-adding",
        cell,
        overrides,
        status,
        list(history),
        0.16 if history else None,
        list(profile) if profile else None,
        1.0,
    )


def sweep(*jobs: Job, metric: str = "val/mse") -> Sweep:
    return Sweep("p", "sweep-x", "e", "cell=rnn,gru", metric, list(jobs), 2.0)


def seeded(cell: str, finals: list[float], length: str = "5", **kw) -> list[Job]:
    return [job(cell, length, history=[(6, v)], seed=str(s), **kw) for s, v in enumerate(finals)]


def test_columns_are_the_swept_values_in_numeric_order_and_entries_the_final_metric():
    s = sweep(job("rnn", "100"), job("rnn", "50"), job("gru", "50", history=[(6, 0.0004)]))
    assert markdown_table(s) == (
        "| cell | data.length=50 | data.length=100 |\n| --- | --- | --- |\n"
        "| rnn | 0.100 (n=1; baseline 0.160) | 0.100 (n=1; baseline 0.160) |\n"
        "| gru | 0.000400 (n=1; baseline 0.160) |  |\n"
    )


def test_a_job_that_did_not_finish_shows_its_status():
    s = sweep(job("rnn", "5"), job("gru", "5", status="FAILED", history=(), profile=None))
    assert markdown_table(s) == (
        "| cell | val/mse |\n| --- | --- |\n"
        "| rnn | 0.100 (n=1; baseline 0.160) |\n| gru | 1 FAILED |\n"
    )


def test_jobs_that_differ_only_in_seed_form_one_entry_with_a_student_t_interval():
    # values 1..5: mean 3, sd 1.581, t(0.975, 4) = 2.776 -> half width 1.963
    s = sweep(*seeded("gru", [1.0, 2.0, 3.0, 4.0, 5.0]), metric="val/bpc")
    assert s.swept == [] and s.seeds() == 5
    assert markdown_table(s).splitlines()[-1] == (
        "| gru | 3.00 [1.04, 4.96] (n=5; baseline 0.160) |"
    )


def test_a_mean_squared_error_is_summarised_by_its_geometric_mean():
    s = sweep(*seeded("lstm", [1e-4, 1e-3, 1e-2]))
    entry = markdown_table(s).splitlines()[-1]
    mean, low, high = map(float, re.search(r"(\S+) \[(\S+), (\S+)\]", entry).groups())
    assert mean == pytest.approx(1e-3, rel=1e-3)
    assert low > 0 and low * high == pytest.approx(mean * mean, rel=1e-2)  # symmetric in log


def test_a_seed_that_failed_is_counted_beside_the_interval_of_the_rest():
    jobs = [*seeded("rnn", [0.1, 0.2]), job("rnn", "5", status="FAILED", history=(), seed="2")]
    entry = markdown_table(sweep(*jobs)).splitlines()[-1]
    assert entry.endswith("(n=2; baseline 0.160); 1 FAILED |")


def test_cells_whose_difference_excludes_zero_are_ranked():
    s = sweep(
        *seeded("lstm", [2.20, 2.21, 2.22, 2.23]),
        *seeded("gru", [2.30, 2.31, 2.32, 2.33]),
        metric="val/bpc",
    )
    rows = comparison_table(s).splitlines()
    assert rows[2].startswith("| - | lstm - gru | -0.100 [")
    assert rows[2].endswith("| lstm better (lstm lower) |")


def test_cells_whose_difference_interval_includes_zero_are_not_ranked():
    s = sweep(
        *seeded("lstm", [2.20, 2.40, 2.25, 2.35]),
        *seeded("gru", [2.30, 2.21, 2.39, 2.27]),
        metric="val/bpc",
    )
    assert comparison_table(s).splitlines()[2].endswith("| no ranking: the interval includes 0 |")


def test_higher_accuracy_is_better():
    s = sweep(
        *seeded("rnn", [0.6, 0.61, 0.62]), *seeded("gru", [0.9, 0.91, 0.92]), metric="val/acc"
    )
    assert comparison_table(s).splitlines()[2].endswith("| gru better (rnn lower) |")


def test_single_runs_give_no_comparison():
    assert comparison_table(sweep(job("rnn", "5"), job("gru", "5"))) is None


def test_cells_are_compared_at_each_setting_separately():
    s = sweep(
        *seeded("rnn", [0.16, 0.17], length="50"),
        *seeded("gru", [0.01, 0.02], length="50"),
        *seeded("rnn", [0.15, 0.16], length="100"),
        *seeded("gru", [0.03, 0.02], length="100"),
    )
    rows = comparison_table(s).splitlines()[2:]
    assert [r.split(" | ")[0] for r in rows] == ["| data.length=50", "| data.length=100"]


def test_gradient_decay_is_log10_of_first_over_last_or_where_it_reached_zero():
    assert decay_entry([job("rnn", "5", profile=(1e-3, 1.0))]) == "-3.0"
    assert (
        decay_entry([job("rnn", "5", profile=(0.0, 0.0, 1e-30, 1.0))])
        == "-inf (0 from 2 steps back)"
    )
    assert decay_entry([job("gru", "5", profile=None)]) == ""


def test_gradient_decay_over_seeds_is_a_mean_with_its_interval_and_underflows_counted():
    jobs = [
        job("rnn", "5", profile=(1e-3, 1.0), seed="0"),
        job("rnn", "5", profile=(1e-5, 1.0), seed="1"),
        job("rnn", "5", profile=(0.0, 1.0), seed="2"),
    ]
    assert decay_entry(jobs) == "-4.0 [-16.7, +8.7] (n=2); 1 underflowed to 0"
