"""Chapter 5's checks: right answers pass, each typical mistake gets its message.

The functions below are module-level so that ``test_judges.py`` can load them into a
sandboxed kernel and judge them on hidden inputs as well.
"""
import numpy as np
import pytest

from courseware.checks.modern import (
    check_drop_path,
    check_gaussian_dropout,
    check_noise_variance,
    check_spatial_dropout,
)


def _shared(x, p_drop, rng, axes):
    shape = tuple(1 if a in axes else s for a, s in enumerate(x.shape))
    return x * (rng.random(shape) < 1 - p_drop) / (1 - p_drop)


# --- reference solutions
def reference_gaussian(x, p_drop, rng):
    return x * (1 + np.sqrt(p_drop / (1 - p_drop)) * rng.standard_normal(x.shape))


def reference_spatial(x, p_drop, rng):
    return _shared(x, p_drop, rng, (2, 3))


def reference_drop_path(b, p_drop, rng):
    return _shared(b, p_drop, rng, tuple(range(1, b.ndim)))


def reference_variance(p):
    return p / (1 - p)


# --- typical mistakes
def stub(*args):
    raise NotImplementedError


def gaussian_by_variance(x, p, rng):
    return x * (1 + p / (1 - p) * rng.standard_normal(x.shape))


def gaussian_is_bernoulli(x, p, rng):
    return x * (rng.random(x.shape) < 1 - p) / (1 - p)


def gaussian_global_rng(x, p, rng):
    return x * (1 + np.sqrt(p / (1 - p)) * np.random.standard_normal(x.shape))


def gaussian_wrong_mean(x, p, rng):
    return x * rng.normal(1 - p, 0.5, x.shape)


def gaussian_in_place(x, p, rng):
    x *= 1 + np.sqrt(p / (1 - p)) * rng.standard_normal(x.shape)
    return x


def spatial_element_wise(x, p, rng):
    return x * (rng.random(x.shape) < 1 - p) / (1 - p)


def spatial_shared_by_batch(x, p, rng):
    return _shared(x, p, rng, (0, 2, 3))


def spatial_not_scaled(x, p, rng):
    return x * (rng.random(x.shape[:2] + (1, 1)) < 1 - p)


def spatial_backwards(x, p, rng):
    return x * (rng.random(x.shape[:2] + (1, 1)) < p) / (1 - p)


def drop_path_per_token(b, p, rng):
    return _shared(b, p, rng, (2,))


def variance_of_mask(p):
    return p * (1 - p)


def variance_std(p):
    return np.sqrt(p / (1 - p))


def variance_constant(p):
    return 0.5


def variance_text(p):
    return "a lot"


def test_reference_solutions_pass():
    for result in (check_gaussian_dropout(reference_gaussian),
                   check_spatial_dropout(reference_spatial),
                   check_drop_path(reference_drop_path),
                   check_noise_variance(reference_variance)):
        assert result.passed, result.messages


@pytest.mark.parametrize("check, fn, words", [
    (check_gaussian_dropout, stub, "not implemented"),
    (check_gaussian_dropout, gaussian_by_variance, "square root"),
    (check_gaussian_dropout, gaussian_is_bernoulli, "Bernoulli"),
    (check_gaussian_dropout, gaussian_global_rng, "global"),
    (check_gaussian_dropout, gaussian_wrong_mean, "mean 1"),
    (check_gaussian_dropout, gaussian_in_place, "in place"),
    (check_spatial_dropout, stub, "not implemented"),
    (check_spatial_dropout, spatial_element_wise, "one decision"),
    (check_spatial_dropout, spatial_shared_by_batch, "same decisions"),
    (check_spatial_dropout, spatial_not_scaled, "scaled"),
    (check_spatial_dropout, spatial_backwards, "keeps"),
    (check_drop_path, drop_path_per_token, "one decision per example"),
    (check_noise_variance, stub, "not implemented"),
    (check_noise_variance, variance_of_mask, "0/1 mask"),
    (check_noise_variance, variance_std, "standard"),
    (check_noise_variance, variance_constant, "not the variance"),
    (check_noise_variance, variance_text, "ValueError"),
])
def test_mistakes_get_their_message(check, fn, words):
    result = check(fn)
    assert not result.passed and words in result.messages[0], result.messages


@pytest.mark.parametrize("check, fn, kwargs", [
    (check_gaussian_dropout, reference_gaussian,
     {"shape": (350, 420), "p_drop": 0.55, "seeds": (11, 12)}),
    (check_gaussian_dropout, reference_gaussian,
     {"shape": (300, 400), "p_drop": 0.12, "seeds": (13, 14)}),
    (check_spatial_dropout, reference_spatial,
     {"shape": (280, 33, 3, 5), "p_drop": 0.45, "seeds": (3, 4)}),
    (check_drop_path, reference_drop_path,
     {"shape": (1800, 5, 4), "p_drop": 0.2, "seeds": (5, 6)}),
    (check_noise_variance, reference_variance, {"p_drops": (0.15, 0.45, 0.8)}),
])
def test_other_inputs_pass_the_reference(check, fn, kwargs):
    assert check(fn, **kwargs).passed


@pytest.mark.parametrize("p_drop", [0.12, 0.2, 0.3, 0.4])
def test_variance_mistake_is_caught_over_the_hidden_range(p_drop):
    result = check_gaussian_dropout(gaussian_by_variance, p_drop=p_drop)
    assert not result.passed and "square root" in result.messages[0]


def test_right_variance_at_one_half_is_not_called_a_std():
    assert check_noise_variance(reference_variance, p_drops=(0.5,)).passed


@pytest.mark.parametrize("p_drop", [0.15, 0.3, 0.4])
def test_backwards_keep_rule_is_caught_over_the_hidden_range(p_drop):
    result = check_spatial_dropout(spatial_backwards, p_drop=p_drop)
    assert not result.passed and "keeps" in result.messages[0]
