"""The dropout / batch-norm variance-shift study: saved file consistent and reproducible."""
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import _layers_net as nn
from dropout_lib.experiments import bn_shift
from dropout_lib.experiments.tuning import without_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return bn_shift.load(ROOT / bn_shift.CACHE_FILE)


def _check_interval(rec):
    assert rec["low"] <= rec["mean"] <= rec["high"]


def test_saved_file_has_the_full_configuration(saved):
    s = bn_shift.SCALES["full"]
    assert saved["scale"] == "full" and saved["epochs"] == s["epochs"]
    assert saved["seeds"] == list(s["seeds"]) and len(saved["seeds"]) >= 5
    assert saved["tune_seeds"] == list(s["tune_seeds"])
    assert not set(saved["seeds"]) & set(saved["tune_seeds"])
    assert set(saved["final"]) == set(bn_shift.ARMS)


def test_chosen_learning_rate_is_the_validation_argmin(saved):
    for arm, t in saved["tuning"].items():
        assert t["lr"] == bn_shift.LR_GRID
        mean = np.mean(t["val_loss"], axis=1)
        np.testing.assert_allclose(t["mean_val_loss"], mean, atol=1e-6)
        assert t["chosen"] == int(np.argmin(mean))
        assert saved["final"][arm]["lr"] == t["lr"][t["chosen"]]


def test_differences_are_the_per_seed_differences(saved):
    final = saved["final"]
    for arm, rec in saved["reestimated_minus_running"].items():
        for m in ("acc", "loss"):
            d = np.subtract(final[arm][f"{m}_reestimated"], final[arm][f"{m}_running"])
            np.testing.assert_allclose(rec[f"test_{m}"]["per_seed"], d, atol=2e-6)
            assert rec[f"test_{m}"]["mean"] == pytest.approx(d.mean(), abs=2e-6)
            _check_interval(rec[f"test_{m}"])
    for name, a, b in bn_shift.REMEDY_2:
        for m in ("acc", "loss"):
            rec = saved["after_minus_before"][name][f"test_{m}"]
            d = np.subtract(final[b][f"{m}_running"], final[a][f"{m}_running"])
            np.testing.assert_allclose(rec["per_seed"], d, atol=2e-6)
            _check_interval(rec)
    for arm, rec in saved["var_ratio"].items():
        assert rec["mean"] == pytest.approx(np.mean(final[arm]["var_ratio"]), abs=2e-6)
        _check_interval(rec)


def test_cheapest_saved_cell_reruns(saved, numerics_exact):
    """The first tuning run of the network without dropout, at full size."""
    t = saved["tuning"]["no_dropout"]
    r = bn_shift.train_and_measure("no_dropout", t["lr"][0],
                                   without_test(digits_splits(seed=0)),
                                   saved["tune_seeds"][0], saved["epochs"], split="val")
    tol = 1e-6 if numerics_exact else 0.05  # elsewhere: another summation order
    assert abs(r["loss_running"] - t["val_loss"][0][0]) <= tol


def test_small_study_runs():
    out = bn_shift.run_study("small")
    assert out["scale"] == "small" and set(out["final"]) == set(bn_shift.ARMS)
    for f in out["final"].values():
        assert len(f["acc_running"]) == 2 and np.all(np.array(f["var_ratio"]) > 0)


def test_dropout_sits_before_or_after_the_batch_norm_layer():
    kinds = [[layer[0] for layer in bn_shift.network(0.5, pos)] for pos in ("before", "after")]
    assert kinds[0].index("dropout") < kinds[0].index("batchnorm")
    assert kinds[1].index("dropout") > kinds[1].index("batchnorm")
    assert "dropout" not in [layer[0] for layer in bn_shift.network(0.0, "before")]


def test_reestimated_statistics_are_those_of_the_bn_input():
    data = without_test(digits_splits(seed=0))
    layers = bn_shift.network(0.5, "before")
    params, states = nn.fit(layers, data.X_train, data.y_train, epochs=1, lr=1e-3, seed=3)
    new = nn.reestimate_bn(layers, params, states, data.X_train)
    i = [layer[0] for layer in layers].index("batchnorm")
    h = nn.forward(layers[:i], params, states, data.X_train, train=False)[0]
    np.testing.assert_allclose(new["2"].mean, h.mean(axis=0))
    np.testing.assert_allclose(new["2"].var, h.var(axis=0, ddof=1))
    assert not np.allclose(new["2"].var, states["2"].var)   # a new state, old one kept


def test_no_input_is_mutated():
    data = without_test(digits_splits(seed=0))
    before = [a.copy() for a in (data.X_train, data.y_train, data.X_val, data.y_val)]
    bn_shift.train_and_measure("before_0.5", 1e-3, data, 0, 1, split="val")
    for a, b in zip(before, (data.X_train, data.y_train, data.X_val, data.y_val)):
        np.testing.assert_array_equal(a, b)


def test_unknown_scale_and_wrong_format_are_refused(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        bn_shift.run_study("huge")
    bad = tmp_path / "b.json"
    bad.write_text('{"format": 99}')
    with pytest.raises(ValueError, match="format"):
        bn_shift.load(bad)
