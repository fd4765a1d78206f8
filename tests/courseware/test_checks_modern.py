"""Chapter 5's checks: right answers pass, each typical mistake gets its message."""
import numpy as np
import pytest

from courseware.checks.modern import (
    check_drop_path,
    check_gaussian_dropout,
    check_noise_variance,
    check_spatial_dropout,
)


def gaussian(x, p_drop, rng):
    return x * (1 + np.sqrt(p_drop / (1 - p_drop)) * rng.standard_normal(x.shape))


def _shared(x, p_drop, rng, axes):
    shape = tuple(1 if a in axes else s for a, s in enumerate(x.shape))
    return x * (rng.random(shape) < 1 - p_drop) / (1 - p_drop)


def spatial(x, p_drop, rng):
    return _shared(x, p_drop, rng, (2, 3))


def drop_path(b, p_drop, rng):
    return _shared(b, p_drop, rng, tuple(range(1, b.ndim)))


def test_reference_solutions_pass():
    for result in (check_gaussian_dropout(gaussian), check_spatial_dropout(spatial),
                   check_drop_path(drop_path),
                   check_noise_variance(lambda p: p / (1 - p))):
        assert result.passed, result.messages


@pytest.mark.parametrize("fn, words", [
    (lambda x, p, rng: x * (1 + p / (1 - p) * rng.standard_normal(x.shape)), "square root"),
    (lambda x, p, rng: x * (rng.random(x.shape) < 1 - p) / (1 - p), "Bernoulli"),
    (lambda x, p, rng: x * (1 + np.sqrt(p / (1 - p))
                            * np.random.standard_normal(x.shape)), "global"),
    (lambda x, p, rng: x * rng.normal(1 - p, 0.5, x.shape), "mean 1"),
])
def test_gaussian_mistakes_get_their_message(fn, words):
    result = check_gaussian_dropout(fn)
    assert not result.passed and words in result.messages[0]


def test_mutating_the_input_is_caught():
    def bad(x, p, rng):
        x *= 1 + np.sqrt(p / (1 - p)) * rng.standard_normal(x.shape)
        return x
    assert "in place" in check_gaussian_dropout(bad).messages[0]


@pytest.mark.parametrize("fn, words", [
    (lambda x, p, rng: x * (rng.random(x.shape) < 1 - p) / (1 - p), "one decision"),
    (lambda x, p, rng: _shared(x, p, rng, (0, 2, 3)), "same decisions"),
    (lambda x, p, rng: x * (rng.random(x.shape[:2] + (1, 1)) < 1 - p), "scaled"),
    (lambda x, p, rng: x * (rng.random(x.shape[:2] + (1, 1)) < p) / (1 - p), "keeps"),
])
def test_spatial_mistakes_get_their_message(fn, words):
    result = check_spatial_dropout(fn)
    assert not result.passed and words in result.messages[0]


def test_drop_path_element_wise_is_caught():
    result = check_drop_path(lambda b, p, rng: _shared(b, p, rng, (2,)))
    assert not result.passed and "one decision per example" in result.messages[0]


@pytest.mark.parametrize("fn, words", [
    (lambda p: p * (1 - p), "0/1 mask"), (lambda p: np.sqrt(p / (1 - p)), "standard"),
    (lambda p: 0.5, "not the variance"), (lambda p: "a lot", "ValueError"),
])
def test_noise_variance_mistakes(fn, words):
    result = check_noise_variance(fn)
    assert not result.passed and words in result.messages[0]


def test_noise_variance_stub_is_not_implemented():
    def stub(p):
        raise NotImplementedError
    assert "not implemented" in check_noise_variance(stub).messages[0]
