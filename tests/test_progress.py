"""Plain progress lines (no terminal): their number follows the job's length."""

from __future__ import annotations

import io

from rnnlab.runner.progress import MAX_LINES, Progress


class Clock:
    """A clock the test moves by hand."""

    now = 0.0

    def __call__(self) -> float:
        return self.now


def lines_of_a_job(steps: int, seconds_per_step: float) -> list[str]:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(total=steps, stream=stream, clock=clock)
    for _ in range(steps):
        clock.now += seconds_per_step
        progress.advance(1.0)
    return stream.getvalue().splitlines()


def test_a_job_of_a_few_seconds_prints_only_its_last_step():
    assert lines_of_a_job(300, 0.01) == [
        "step 300/300  loss 1.0000  elapsed 3s  eta 0s",
    ]


def test_a_job_of_two_minutes_prints_a_line_every_ten_seconds():
    assert len(lines_of_a_job(1200, 0.1)) == 12


def test_a_job_of_hours_prints_about_max_lines():
    assert MAX_LINES <= len(lines_of_a_job(10_000, 1.0)) <= MAX_LINES + 1


def test_a_resumed_job_counts_from_where_it_resumed():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(total=1000, initial=900, stream=stream, clock=clock)
    for _ in range(100):
        clock.now += 1.0
        progress.advance(1.0)
    assert stream.getvalue().splitlines()[-1].startswith("step 1000/1000")
    assert len(stream.getvalue().splitlines()) == 10
