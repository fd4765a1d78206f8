"""The width x p_drop grid of chapter 5: the saved file is consistent and reproducible."""
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import width
from dropout_lib.experiments.core import run
from dropout_lib.experiments.tuning import without_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return width.load(ROOT / width.CACHE_FILE)


def test_saved_grid_has_the_full_shape(saved):
    s = width.SCALES["full"]
    assert saved["widths"] == list(s["widths"])
    assert saved["p_drops"] == list(s["p_drops"])
    shape = (len(s["widths"]), len(s["p_drops"]), len(s["seeds"]))
    for key in ("val_error", "val_loss", "train_error"):
        a = np.array(saved[key])
        assert a.shape == shape
        assert np.all(np.isfinite(a)) and np.all(a >= 0)
    assert np.all(np.array(saved["val_error"]) <= 1)


def test_one_cell_of_the_saved_grid_reruns_exactly(saved, numerics_exact):
    i, j, k = 0, 2, 0                       # width 16, p_drop 0.5, first seed
    w, p = saved["widths"][i], saved["p_drops"][j]
    cfg = width.BASE.replace(hidden=(w, w), p_drop_hidden=p,
                             epochs=saved["config"]["epochs"])
    final = run(cfg, without_test(digits_splits(seed=0)),
                saved["seeds"][k], curves=False)[1].final
    tol = 1e-6 if numerics_exact else 0.05  # elsewhere: another summation order
    assert abs((1.0 - final["val_acc"]) - saved["val_error"][i][j][k]) <= tol
    assert abs(final["val_loss"] - saved["val_loss"][i][j][k]) <= tol


def test_small_study_never_reads_the_test_split():
    out = width.run_study("small")
    assert np.array(out["val_error"]).shape == (2, 2, 1)
    assert "test" not in " ".join(out)


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        width.run_study("huge")


def test_wrong_format_is_refused(tmp_path):
    bad = tmp_path / "w.json"
    bad.write_text('{"format": 99}')
    with pytest.raises(ValueError, match="format"):
        width.load(bad)
