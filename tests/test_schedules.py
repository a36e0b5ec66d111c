"""Learning-rate schedules: the rate of each update, as char-rnn, warm-up cosine and
torch's ReduceLROnPlateau define it, and their state through a save and restore."""

import itertools
import json
import math

import pytest

from rnnlab.nn import ConstantSchedule, CosineSchedule, PlateauSchedule, StepSchedule


def test_constant_gives_the_base_rate_at_every_step():
    s = ConstantSchedule(0.1, 100)
    assert {s.rate(step, epoch) for step in range(100) for epoch in range(3)} == {0.1}


def test_step_decays_once_per_epoch_from_the_start_epoch_on_as_char_rnn():
    # char-rnn: learning_rate_decay=0.97 after each epoch from learning_rate_decay_after=10
    s = StepSchedule(2e-3, 10_000, factor=0.97, start=10)
    assert [s.rate(0, epoch) for epoch in (0, 9, 10, 11, 14)] == pytest.approx(
        [2e-3, 2e-3, 2e-3 * 0.97, 2e-3 * 0.97**2, 2e-3 * 0.97**5]
    )


def test_step_counted_in_steps_decays_every_interval_after_the_start():
    s = StepSchedule(1.0, 100, factor=0.5, start=4, every=3, unit="step")
    assert [s.rate(step, 0) for step in range(12)] == [
        1,
        1,
        1,
        1,
        0.5,
        0.5,
        0.5,
        0.25,
        0.25,
        0.25,
        0.125,
        0.125,
    ]


def test_cosine_warms_up_linearly_then_falls_to_the_final_rate_at_the_last_step():
    s = CosineSchedule(1.0, total_steps=14, warmup=4, final_lr=0.1)
    rates = [s.rate(step, 0) for step in range(14)]
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert rates[4] == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi / 10)))
    assert rates[8] == pytest.approx(0.55)  # half way down
    assert rates[-1] == pytest.approx(0.1)
    assert all(a > b for a, b in itertools.pairwise(rates[3:]))


def test_cosine_without_warm_up_starts_just_below_the_base_rate():
    s = CosineSchedule(1.0, total_steps=2, warmup=0, final_lr=0.0)
    assert [s.rate(0, 0), s.rate(1, 0)] == pytest.approx([0.5, 0.0])


def test_plateau_drops_the_rate_after_patience_evaluations_without_a_new_best():
    # as torch.optim.lr_scheduler.ReduceLROnPlateau(factor=0.5, patience=1, min_lr=0.2)
    s = PlateauSchedule(1.0, 100, factor=0.5, patience=1, floor=0.2)
    rates = []
    for val in (3.0, 2.0, 2.0, 2.5, 1.9, 1.9, 1.9, 1.9, 1.9, 1.9):
        s.observe(val)
        rates.append(s.rate(0, 0))
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]


def test_plateau_counts_only_an_improvement_by_the_relative_threshold():
    s = PlateauSchedule(1.0, 100, factor=0.5, patience=0, threshold=0.1)
    rates = []
    for val in (10.0, 9.5, 8.9, 8.5):  # 9.5 > 10 * 0.9; 8.9 < 9.0; 8.5 > 8.01
        s.observe(val)
        rates.append(s.rate(0, 0))
    assert rates == [1.0, 0.5, 0.5, 0.25]


def test_plateau_state_round_trips_through_json_and_continues_the_same():
    a = PlateauSchedule(1.0, 100, factor=0.5, patience=2)
    for val in (3.0, 3.1, 3.2):
        a.observe(val)
    b = PlateauSchedule(1.0, 100, factor=0.5, patience=2)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    for val in (3.3, 2.0, 2.1):
        a.observe(val)
        b.observe(val)
        assert b.rate(0, 0) == a.rate(0, 0)
    assert b.state_dict() == a.state_dict()
