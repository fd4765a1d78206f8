"""Chapter 6's checks: right answers pass, each typical mistake gets its message.

The functions below are module-level so that ``test_judges.py`` can load them into a
sandboxed kernel and judge them on hidden inputs as well.
"""
import math

import numpy as np
import pytest

from courseware.checks.sequences import (
    _expected_drop,
    check_alpha_constants,
    check_dropblock_mask,
    check_locked_mask,
)

_AP = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


# --- reference solutions
def reference_locked(batch, steps, width, p_drop, rng):
    keep = rng.random((batch, 1, width)) < 1 - p_drop
    return np.repeat(keep / (1 - p_drop), steps, axis=1)


def reference_dropblock(shape, p_drop, block_size, rng):
    n, c, h, w = shape
    b = block_size
    gamma = p_drop / b**2 * h * w / ((h - b + 1) * (w - b + 1))
    corners = rng.random((n, c, h - b + 1, w - b + 1)) < gamma
    dropped = np.zeros(shape, dtype=bool)
    for i in range(b):
        for j in range(b):
            dropped[:, :, i:i + h - b + 1, j:j + w - b + 1] |= corners
    return ~dropped


def reference_alpha(p_drop):
    q = 1 - p_drop
    a = (q + _AP**2 * q * p_drop) ** -0.5
    return a, -a * p_drop * _AP


# --- typical mistakes
def stub(*args):
    raise NotImplementedError


def locked_fresh(batch, steps, width, p, rng):
    return (rng.random((batch, steps, width)) < 1 - p) / (1 - p)


def locked_batch_shared(batch, steps, width, p, rng):
    keep = rng.random((1, 1, width)) < 1 - p
    return np.broadcast_to(keep / (1 - p), (batch, steps, width)).copy()


def locked_not_scaled(batch, steps, width, p, rng):
    keep = rng.random((batch, 1, width)) < 1 - p
    return np.repeat(keep, steps, axis=1).astype(float)


def locked_backwards(batch, steps, width, p, rng):
    keep = rng.random((batch, 1, width)) < p
    return np.repeat(keep / (1 - p), steps, axis=1)


def locked_global_rng(batch, steps, width, p, rng):
    keep = np.random.random((batch, 1, width)) < 1 - p
    return np.repeat(keep / (1 - p), steps, axis=1)


def locked_wrong_shape(batch, steps, width, p, rng):
    return (rng.random((batch, width)) < 1 - p) / (1 - p)


def dropblock_elementwise(shape, p, b, rng):
    return rng.random(shape) >= p


def dropblock_gamma_is_p(shape, p, b, rng):
    n, c, h, w = shape
    corners = rng.random((n, c, h - b + 1, w - b + 1)) < p
    dropped = np.zeros(shape, dtype=bool)
    for i in range(b):
        for j in range(b):
            dropped[:, :, i:i + h - b + 1, j:j + w - b + 1] |= corners
    return ~dropped


def dropblock_no_edge_factor(shape, p, b, rng):
    n, c, h, w = shape
    corners = rng.random((n, c, h - b + 1, w - b + 1)) < p / b**2
    dropped = np.zeros(shape, dtype=bool)
    for i in range(b):
        for j in range(b):
            dropped[:, :, i:i + h - b + 1, j:j + w - b + 1] |= corners
    return ~dropped


def dropblock_backwards(shape, p, b, rng):
    return ~reference_dropblock(shape, p, b, rng)


def dropblock_shared_channels(shape, p, b, rng):
    n, c, h, w = shape
    one = reference_dropblock((n, 1, h, w), p, b, rng)
    return np.repeat(one, c, axis=1)


def dropblock_float(shape, p, b, rng):
    return reference_dropblock(shape, p, b, rng).astype(float)


def dropblock_centres_clipped(shape, p, b, rng):
    # centres anywhere in the map, blocks clipped at the edges
    n, c, h, w = shape
    gamma = p / b**2 * h * w / ((h - b + 1) * (w - b + 1))
    centres = rng.random(shape) < gamma
    dropped = np.zeros(shape, dtype=bool)
    r = b // 2
    for i in range(-r, b - r):
        for j in range(-r, b - r):
            src = centres[:, :, max(0, -i):h - max(0, i), max(0, -j):w - max(0, j)]
            dropped[:, :, max(0, i):h - max(0, -i), max(0, j):w - max(0, -j)] |= src
    return ~dropped


def dropblock_global_rng(shape, p, b, rng):
    return reference_dropblock(shape, p, b, np.random.default_rng(
        np.random.randint(2**31)))


def alpha_plain_inverted(p):
    return 1 / math.sqrt(1 - p), 0.0


def alpha_sign_flipped(p):
    a, b = reference_alpha(p)
    return a, -b


def alpha_no_shift(p):
    return reference_alpha(p)[0], 0.0


def alpha_mask_variance(p):
    q = 1 - p
    a = (q + _AP**2 * q * p) ** -0.5
    return 1.1 * a, -1.1 * a * p * _AP


def alpha_one_number(p):
    return reference_alpha(p)[0]


def test_reference_solutions_pass():
    for result in (check_locked_mask(reference_locked),
                   check_dropblock_mask(reference_dropblock),
                   check_alpha_constants(reference_alpha)):
        assert result.passed, result.messages


def test_the_librarys_dropblock_mask_passes_the_check():
    # the exercise asks for exactly the library's mask (dropout_lib.dropblock)
    from dropout_lib.dropblock import dropblock_mask

    assert check_dropblock_mask(dropblock_mask).passed


def test_the_librarys_alpha_constants_match():
    from dropout_lib.alpha import alpha_dropout_affine

    for p in (0.05, 0.3, 0.7):
        assert np.allclose(reference_alpha(p), alpha_dropout_affine(p))
    assert check_alpha_constants(alpha_dropout_affine).passed


def test_expected_drop_matches_the_library():
    from dropout_lib.dropblock import dropblock_expected_drop

    for args in ((0.15, 3, 12, 12), (0.1, 2, 8, 5), (0.3, 1, 6, 6)):
        assert math.isclose(_expected_drop(*args), dropblock_expected_drop(*args),
                            rel_tol=1e-12)


@pytest.mark.parametrize("check, fn, words", [
    (check_locked_mask, stub, "not implemented"),
    (check_locked_mask, locked_fresh, "changes from step to step"),
    (check_locked_mask, locked_batch_shared, "every sequence got the same mask"),
    (check_locked_mask, locked_not_scaled, "yours are 1"),
    (check_locked_mask, locked_backwards, "backwards"),
    (check_locked_mask, locked_global_rng, "global"),
    (check_locked_mask, locked_wrong_shape, "shape"),
    (check_dropblock_mask, stub, "not implemented"),
    (check_dropblock_mask, dropblock_elementwise, "squares"),
    (check_dropblock_mask, dropblock_gamma_is_p, "eq. 1"),
    (check_dropblock_mask, dropblock_no_edge_factor, "eq. 1"),
    (check_dropblock_mask, dropblock_backwards, "True must mean kept"),
    (check_dropblock_mask, dropblock_shared_channels, "every channel"),
    (check_dropblock_mask, dropblock_float, "boolean"),
    (check_dropblock_mask, dropblock_centres_clipped, "wholly inside"),
    (check_dropblock_mask, dropblock_global_rng, "global"),
    (check_alpha_constants, stub, "not implemented"),
    (check_alpha_constants, alpha_plain_inverted, "alpha'"),
    (check_alpha_constants, alpha_sign_flipped, "wrong sign"),
    (check_alpha_constants, alpha_no_shift, "mean"),
    (check_alpha_constants, alpha_mask_variance, "variance"),
    (check_alpha_constants, alpha_one_number, "two numbers"),
])
def test_mistakes_get_their_message(check, fn, words):
    result = check(fn)
    assert not result.passed and words in result.messages[0], result.messages


@pytest.mark.parametrize("check, fn, kwargs", [
    (check_locked_mask, reference_locked,
     {"sizes": (300, 9, 40), "p_drop": 0.2, "seeds": (3, 4)}),
    (check_locked_mask, reference_locked,
     {"sizes": (500, 20, 30), "p_drop": 0.45, "seeds": (5, 6)}),
    (check_dropblock_mask, reference_dropblock,
     {"shape": (50, 6, 10, 13), "p_drop": 0.2, "block_size": 2, "seeds": (7, 8)}),
    (check_dropblock_mask, reference_dropblock,
     {"shape": (80, 5, 14, 11), "p_drop": 0.1, "block_size": 5, "seeds": (9, 10)}),
    (check_alpha_constants, reference_alpha, {"p_drops": (0.05, 0.35, 0.8)}),
])
def test_other_inputs_pass_the_reference(check, fn, kwargs):
    assert check(fn, **kwargs).passed


@pytest.mark.parametrize("seed", range(6))
def test_the_reference_passes_on_many_seeds(seed):
    # the 5-sigma tolerances hold on more than the visible seeds
    seeds = (100 + seed, 200 + seed)
    assert check_dropblock_mask(reference_dropblock, seeds=seeds).passed
    assert check_locked_mask(reference_locked, seeds=seeds).passed
