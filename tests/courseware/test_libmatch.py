"""The library's own function is recognised by its bits on hidden inputs; the book's
reference solutions (written the way the exercises ask) never are."""
from __future__ import annotations

import numpy as np
import pytest
from test_checks_inverted import reference_forward
from test_checks_masks import reference_draw_mask, reference_dropconnect
from test_checks_modern import reference_drop_path, reference_gaussian, reference_spatial
from test_checks_sequences import reference_dropblock, reference_locked

import dropout_lib as dl
from courseware.libmatch import matches_library


def _record(fn, calls):
    """(args before the call, kwargs, result) of each call, as RemoteFunction keeps them."""
    import copy

    out = []
    for args, kwargs in calls:
        before = copy.deepcopy(args), copy.deepcopy(kwargs)
        out.append((*before, fn(*args, **kwargs)))
    return out


def _calls(kind, n=4):
    rngs = [np.random.default_rng(s) for s in (11, 12, 13, 14)][:n]
    if kind == "shape":
        return [(((57, 133), 0.27, r), {}) for r in rngs]
    x = np.random.default_rng(0).normal(size=(40, 9, 3, 3))
    if kind == "x":
        return [((x, 0.31, r), {}) for r in rngs]
    if kind == "locked":
        return [((16, 7, 5, 0.31, r), {}) for r in rngs]
    if kind == "dropblock":
        return [(((6, 3, 9, 9), 0.31, 3, r), {}) for r in rngs]
    if kind == "forward":
        return [((x, 0.31), {"train": True, "rng": r}) for r in rngs]
    return [((x[:, :, 0, 0], np.ones((9, 6)), 0.31, r), {}) for r in rngs]


@pytest.mark.parametrize("name, fn, kind", [
    ("draw_mask", reference_draw_mask, "shape"),
    ("dropout_forward", reference_forward, "forward"),
    ("gaussian_dropout", reference_gaussian, "x"),
    ("spatial_dropout", reference_spatial, "x"),
    ("drop_path", reference_drop_path, "x"),
    ("dropconnect", reference_dropconnect, "dropconnect"),
    ("locked_mask", reference_locked, "locked"),
    ("dropblock_mask", reference_dropblock, "dropblock"),
])
def test_the_books_solutions_never_match_the_library(name, fn, kind):
    assert matches_library(name, _record(fn, _calls(kind))) is None


def test_the_librarys_own_functions_are_named():
    record = _record(dl.bernoulli_mask, _calls("shape"))
    assert matches_library("draw_mask", record) == "dropout_lib.bernoulli_mask"
    record = _record(dl.dropout_forward, _calls("forward"))
    assert matches_library("dropout_forward", record) == "dropout_lib.dropout_forward"
    record = _record(dl.dropblock.dropblock_mask, _calls("dropblock"))
    assert (matches_library("dropblock_mask", record)
            == "dropout_lib.dropblock.dropblock_mask")


def test_deterministic_answers_are_not_compared():
    record = [((0.3,), {}, 0.3 / 0.7)]
    assert matches_library("noise_variance", record) is None
