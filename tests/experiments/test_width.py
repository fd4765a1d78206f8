"""The width x p_drop grid of chapter 5: the saved file is consistent and reproducible."""
import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import evidence, registry, width
from dropout_lib.experiments.core import run
from dropout_lib.experiments.tuning import without_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return registry.load(width.NAME, ROOT / width.CACHE_FILE)


def test_saved_grid_has_the_full_shape(saved):
    s = width.SCALES["full"]
    assert saved["widths"] == list(s["widths"])
    assert saved["p_drops"] == list(s["p_drops"])
    assert len(saved["split_seeds"]) >= 3 and len(saved["seeds"]) >= 5
    shape = (len(saved["split_seeds"]), len(s["widths"]), len(s["p_drops"]),
             len(s["seeds"]))
    for key in ("val_error", "val_loss", "train_error", "test_error"):
        a = np.array(saved[key])
        assert a.shape == shape and np.all(np.isfinite(a)) and np.all(a >= 0)
    assert np.array(saved["lr"]).shape == shape[:3]


def test_every_dropout_rate_tests_the_rule_exactly(saved):
    pairs = width.rule_pairs(saved["widths"], saved["p_drops"])
    assert {p for _, p, _ in pairs} == {p for p in saved["p_drops"] if p > 0}
    for n, p, nq in pairs:
        assert nq == n * (1 - p) and nq != n
        rec = saved["comparisons"][f"width-rule-n{n}-p{p:g}"]
        i, j, i0 = (saved["widths"].index(n), saved["p_drops"].index(p),
                    saved["widths"].index(nq))
        err = np.array(saved["test_error"])
        np.testing.assert_allclose(rec["effects"], err[:, i, j] - err[:, i0, 0], atol=2e-6)
        assert evidence.verdict(rec).label in evidence.LABELS


def test_each_cells_lr_is_its_validation_argmin(saved):
    for a, records in enumerate(saved["tuning"]):
        for i, w in enumerate(saved["widths"]):
            for j, p in enumerate(saved["p_drops"]):
                t = records[f"{w}/{p:g}"]
                best = int(np.argmin(np.mean(t["val_loss"], axis=1)))
                assert t["chosen"] == best
                assert saved["lr"][a][i][j] == t["settings"][best]["lr"]


def test_one_cell_of_the_saved_grid_reruns_exactly(saved, numerics_exact):
    i, j, k = 0, 1, 0                       # width 16, p_drop 0.5, first seed
    w, p = saved["widths"][i], saved["p_drops"][j]
    cfg = width.BASE.replace(hidden=(w, w), p_drop_hidden=p, lr=saved["lr"][0][i][j],
                             epochs=saved["config"]["epochs"])
    final = run(cfg, without_test(digits_splits(seed=saved["split_seeds"][0])),
                saved["seeds"][k], curves=False)[1].final
    tol = 1e-6 if numerics_exact else 0.05  # elsewhere: another summation order
    assert abs((1.0 - final["val_acc"]) - saved["val_error"][0][i][j][k]) <= tol
    assert abs(final["val_loss"] - saved["val_loss"][0][i][j][k]) <= tol


def test_small_study_runs_and_is_json():
    out = json.loads(json.dumps(width.run_study("small")))
    assert np.array(out["val_error"]).shape == (2, 2, 2, 1)
    assert list(out["comparisons"]) == ["width-rule-n32-p0.5"]


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        width.run_study("huge")
