"""Choosing the next character: temperature, greedy, top-k and nucleus (top-p) sampling; and
the warning about characters of a prime that the model never saw."""

import numpy as np
import pytest

from rnnlab.data import CharDataset
from rnnlab.runner.sampling import next_token, unseen_characters, warn_unseen

LOGITS = np.log(np.array([0.05, 0.4, 0.1, 0.3, 0.15]))


def draws(n=4000, seed=0, **options):
    rng = np.random.default_rng(seed)
    options = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, **options}
    return np.bincount([next_token(LOGITS, rng=rng, **options) for _ in range(n)], minlength=5)


def test_temperature_zero_takes_the_most_likely_id_and_draws_no_random_number():
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    assert next_token(LOGITS, 0.0, 0, 1.0, rng) == 1
    assert rng.bit_generator.state == before


def test_temperature_one_draws_in_proportion_to_the_probabilities():
    counts = draws()
    np.testing.assert_allclose(counts / counts.sum(), np.exp(LOGITS), atol=0.03)


def test_top_k_draws_only_among_the_k_most_likely():
    counts = draws(top_k=2)
    assert counts[[0, 2, 4]].sum() == 0
    assert counts[1] / counts[3] == pytest.approx(0.4 / 0.3, rel=0.15)


def test_top_k_of_one_is_greedy():
    assert set(np.nonzero(draws(n=200, top_k=1))[0]) == {1}


def test_top_p_keeps_the_fewest_most_likely_ids_that_reach_the_probability():
    # 0.4 + 0.3 = 0.7 reaches 0.6: ids 1 and 3; 0.4 + 0.3 + 0.15 = 0.85 reaches 0.8
    assert set(np.nonzero(draws(top_p=0.6))[0]) == {1, 3}
    assert set(np.nonzero(draws(top_p=0.8))[0]) == {1, 3, 4}
    assert set(np.nonzero(draws(n=200, top_p=0.3))[0]) == {1}


def test_unseen_characters_of_a_prime_are_named_once_each(tmp_path, capsys):
    path = tmp_path / "text.txt"
    path.write_text("abcabc abc\n" * 40, encoding="utf-8")
    data = CharDataset(path)
    assert unseen_characters(data, "abé€é") == ["é", "€"]
    warn_unseen(data, "abé€é", "--prime")
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "rnnlab: warning: --prime has characters the model never saw in training: 'é', '€'; "
        "it reads each as one unknown character"
    ]
    warn_unseen(data, "abc", "--prime")
    assert capsys.readouterr().err == ""
