"""Element-wise against channel dropout in a conv net: saved file consistent and reproducible."""
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import _layers_net as nn
from dropout_lib.experiments import conv_dropout
from dropout_lib.experiments.tuning import without_test
from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.losses import softmax_cross_entropy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return conv_dropout.load(ROOT / conv_dropout.CACHE_FILE)


def test_saved_file_has_the_full_configuration(saved):
    s = conv_dropout.SCALES["full"]
    assert saved["scale"] == "full" and saved["epochs"] == s["epochs"]
    assert saved["seeds"] == list(s["seeds"]) and len(saved["seeds"]) >= 5
    assert not set(saved["seeds"]) & set(saved["tune_seeds"])
    assert set(saved["final"]) == set(conv_dropout.ARMS)


def test_chosen_settings_are_the_validation_argmin(saved):
    for arm, t in saved["tuning"].items():
        mean = np.mean(t["val_loss"], axis=1)
        np.testing.assert_allclose(t["mean_val_loss"], mean, atol=1e-6)
        assert t["chosen"] == int(np.argmin(mean))
        chosen = t["settings"][t["chosen"]]
        assert {k: saved["final"][arm][k] for k in chosen} == chosen


def test_differences_are_the_per_seed_differences(saved):
    final = saved["final"]
    for name, a, b in conv_dropout.COMPARISONS:
        for m in ("test_acc", "test_loss"):
            rec = saved["differences"][name][m]
            d = np.subtract(final[b][m], final[a][m])
            np.testing.assert_allclose(rec["per_seed"], d, atol=2e-6)
            assert rec["mean"] == pytest.approx(d.mean(), abs=2e-6)
            assert rec["low"] <= rec["mean"] <= rec["high"]
    for arm, rec in saved["correlations"].items():
        for k in ("neighbour", "neighbour_abs", "cross_channel", "cross_channel_abs"):
            assert rec[k]["mean"] == pytest.approx(np.mean(final[arm][k]), abs=2e-6)
            assert rec[k]["low"] <= rec[k]["mean"] <= rec[k]["high"]
        d = np.subtract(final[arm]["neighbour"], final[arm]["cross_channel"])
        np.testing.assert_allclose(rec["neighbour_minus_cross_channel"]["per_seed"], d,
                                   atol=2e-6)


def test_cheapest_saved_cell_reruns(saved, numerics_exact):
    """The first tuning run of the network without dropout, at full size."""
    t = saved["tuning"]["no_dropout"]
    r = conv_dropout.train_and_score("no_dropout", t["settings"][0],
                                     without_test(digits_splits(seed=0)),
                                     saved["tune_seeds"][0], saved["epochs"], split="val")
    tol = 1e-6 if numerics_exact else 0.05  # elsewhere: another summation order
    assert abs(r["loss"] - t["val_loss"][0][0]) <= tol


def test_small_study_runs():
    out = conv_dropout.run_study("small")
    assert out["scale"] == "small" and set(out["final"]) == set(conv_dropout.ARMS)
    assert out["final"]["channel"]["shared_axes"] == (2, 3)
    assert 0.0 < out["pixel_neighbour"] < 1.0


def test_correlations_see_shared_rows_and_independent_maps():
    rng = np.random.default_rng(0)
    rows = np.repeat(rng.normal(size=(500, 2, 4, 1)), 4, axis=3)   # constant along W
    r = conv_dropout.feature_correlations(rows)
    assert r["neighbour"] == pytest.approx(0.5, abs=0.05)   # right: 1, down: ~0
    assert abs(r["cross_channel"]) < 0.05
    same = np.repeat(rng.normal(size=(500, 1, 3, 3)), 3, axis=1)   # 3 identical maps
    assert conv_dropout.feature_correlations(same)["cross_channel"] == pytest.approx(1.0)


def test_network_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    layers = conv_dropout.network((2, 3), 0.3)
    params, states = nn.init(layers, rng)
    x, y = rng.normal(size=(4, 1, 8, 8)), np.array([0, 3, 5, 9])

    def loss():
        scores, caches, _, _ = nn.forward(layers, params, states, x, train=True,
                                          rng=np.random.default_rng(7))
        return softmax_cross_entropy(scores, y), caches

    (_, dscores), caches = loss()
    grads = nn.backward(layers, caches, dscores)
    for key in ("W1", "b1", "b2"):   # W1 sees every layer; W2 is checked in test_layers
        def f(w, key=key):
            old, params[key] = params[key], w
            try:
                return loss()[0][0]
            finally:
                params[key] = old
        assert rel_error(grads[key], numerical_gradient(f, params[key])) < 1e-6, key


def test_no_input_is_mutated():
    data = without_test(digits_splits(seed=0))
    before = [a.copy() for a in (data.X_train, data.y_train, data.X_val, data.y_val)]
    conv_dropout.train_and_score("channel", {"lr": 1e-2, "p_drop": 0.3}, data, 0, 1,
                                 split="val")
    for a, b in zip(before, (data.X_train, data.y_train, data.X_val, data.y_val)):
        np.testing.assert_array_equal(a, b)


def test_unknown_scale_and_wrong_format_are_refused(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        conv_dropout.run_study("huge")
    bad = tmp_path / "c.json"
    bad.write_text('{"format": 99}')
    with pytest.raises(ValueError, match="format"):
        conv_dropout.load(bad)
