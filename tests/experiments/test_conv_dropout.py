"""Element-wise against channel dropout in a conv net: saved evidence consistent and reproducible."""
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import param_gradient_errors

from dropout_lib.data import digits_splits
from dropout_lib.experiments import _layers_net as nn
from dropout_lib.experiments import conv_dropout, evidence, registry
from dropout_lib.experiments.tuning import without_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return registry.load(conv_dropout.NAME, ROOT / conv_dropout.CACHE_FILE)


def test_saved_file_has_three_splits_and_five_seeds(saved):
    assert saved["format"] == conv_dropout.FORMAT and saved["scale"] == "full"
    assert len(saved["split_seeds"]) >= 3 and len(saved["seeds"]) >= 5
    assert not set(saved["seeds"]) & set(saved["config"]["tune_seeds"])
    grids = saved["config"]["grids"]
    assert grids["elementwise"] == grids["channel"]  # one p_drop grid for both
    for rec in saved["comparisons"].values():
        assert np.shape(rec["effects"]) == (3, len(saved["seeds"]))


def test_chosen_settings_are_each_splits_validation_argmin(saved):
    for split in saved["splits"]:
        for arm, t in split["tuning"].items():
            assert t["chosen"] == int(np.argmin(np.mean(t["val_loss"], axis=1)))
            chosen = t["settings"][t["chosen"]]
            assert {k: split["final"][arm][k] for k in chosen} == chosen


def test_comparisons_are_the_per_seed_differences(saved):
    for name, a, b in conv_dropout.COMPARISONS:
        for m in ("test_loss", "test_error"):
            rec = saved["comparisons"][f"conv-{name}-{m.replace('_', '-')}"]
            d = [np.subtract(s["final"][b][m], s["final"][a][m]) for s in saved["splits"]]
            np.testing.assert_allclose(rec["effects"], d, atol=2e-6)
            assert evidence.verdict(rec).label in evidence.LABELS
    rec = saved["comparisons"]["conv-neighbour-vs-channel-abs-r"]
    d = [np.subtract(s["final"]["no_dropout"]["neighbour_abs"],
                     s["final"]["no_dropout"]["cross_channel_abs"]) for s in saved["splits"]]
    np.testing.assert_allclose(rec["effects"], d, atol=2e-6)


def test_cheapest_saved_cell_reruns(saved, numerics_exact):
    """The first tuning run of the network without dropout, on split 0."""
    split = saved["splits"][0]
    t = split["tuning"]["no_dropout"]
    data = without_test(digits_splits(seed=split["split_seed"]))
    net = conv_dropout.train("no_dropout", t["settings"][0], data,
                             saved["config"]["tune_seeds"][0], saved["config"]["epochs"])
    loss = nn.per_example(net, data.X_val, data.y_val)[0].mean()
    tol = 1e-6 if numerics_exact else 0.05  # elsewhere: another summation order
    assert abs(loss - t["val_loss"][0][0]) <= tol


def test_small_study_runs():
    out = json.loads(json.dumps(conv_dropout.run_study("small")))
    assert out["scale"] == "small" and out["split_seeds"] == [0, 1]
    split = out["splits"][0]
    assert set(split["final"]) == set(conv_dropout.ARMS)
    assert split["final"]["channel"]["shared_axes"] == [2, 3]
    assert 0.0 < split["pixel_neighbour"] < 1.0


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
    net = nn.LayerNet(conv_dropout.network((2, 3), 0.3), input_shape=(1, 8, 8),
                      n_outputs=10, rng=rng)
    net.params["b1"] = net.params["b1"] + 0.1   # off ReLU's kink
    x, y = rng.normal(size=(4, 64)), np.array([0, 3, 5, 9])

    def loss():
        return net.loss_and_grads(x, y, train=True, rng=np.random.default_rng(7))

    # W1 sees every layer; W2 is checked in test_layers
    for key, error in param_gradient_errors(net.params, loss, ("W1", "b1", "b2")).items():
        assert error < 1e-6, key


def test_no_input_is_mutated():
    data = without_test(digits_splits(seed=0))
    before = [a.copy() for a in (data.X_train, data.y_train, data.X_val, data.y_val)]
    conv_dropout.train("channel", {"lr": 1e-2, "p_drop": 0.3}, data, 0, 1)
    for a, b in zip(before, (data.X_train, data.y_train, data.X_val, data.y_val)):
        np.testing.assert_array_equal(a, b)


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        conv_dropout.run_study("huge")
