"""The dropout / batch-norm variance-shift study: saved evidence consistent and reproducible."""
import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import _layers_net as nn
from dropout_lib.experiments import bn_shift, evidence, registry
from dropout_lib.experiments.tuning import without_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return registry.load(bn_shift.NAME, ROOT / bn_shift.CACHE_FILE)


def test_saved_file_has_three_splits_and_five_seeds(saved):
    assert saved["format"] == bn_shift.FORMAT and saved["scale"] == "full"
    assert len(saved["split_seeds"]) >= 3 and len(saved["seeds"]) >= 5
    assert not set(saved["seeds"]) & set(saved["config"]["tune_seeds"])
    for split in saved["splits"]:
        assert set(split["final"]) == set(bn_shift.ARMS)
    for rec in saved["comparisons"].values():
        assert np.shape(rec["effects"]) == (3, len(saved["seeds"]))
        assert len(rec["per_example"]) == 3


def test_chosen_learning_rate_is_each_splits_validation_argmin(saved):
    for split in saved["splits"]:
        for arm, t in split["tuning"].items():
            lrs = [s["lr"] for s in t["settings"]]
            # the configured grid, extended while the choice sat on its edge
            assert set(saved["config"]["lr_grid"]) <= set(lrs)
            assert lrs == sorted(lrs)
            assert not t["edges"]["lr"]["on_edge"], (arm, lrs)
            assert t["chosen"] == int(np.argmin(np.mean(t["val_loss"], axis=1)))
            assert split["final"][arm]["lr"] == t["settings"][t["chosen"]]["lr"]


def test_comparisons_are_the_per_seed_differences(saved):
    c = saved["comparisons"]
    for p in ("0.2", "0.5"):
        for m in ("loss", "error"):
            rec = c[f"bn-reestimate-p{p}-test-{m}"]
            d = [np.subtract(s["final"][f"before_{p}"][f"test_{m}_reestimated"],
                             s["final"][f"before_{p}"][f"test_{m}_running"])
                 for s in saved["splits"]]
            np.testing.assert_allclose(rec["effects"], d, atol=2e-6)
            rec = c[f"bn-after-p{p}-test-{m}"]
            d = [np.subtract(s["final"][f"after_{p}"][f"test_{m}_running"],
                             s["final"][f"before_{p}"][f"test_{m}_running"])
                 for s in saved["splits"]]
            np.testing.assert_allclose(rec["effects"], d, atol=2e-6)
            assert evidence.verdict(rec).label in evidence.LABELS
    ratio = saved["var_ratio"]
    for arm in bn_shift.ARMS:
        np.testing.assert_allclose(
            ratio["var_ratio"][arm], [s["final"][arm]["var_ratio"] for s in saved["splits"]])
    # the formula predicts a shift only with dropout before the BN layer
    assert np.all(np.array(ratio["predicted_ratio"]["before_0.5"]) < 1)
    assert np.all(np.array(ratio["predicted_ratio"]["after_0.5"]) == 1)


def test_cheapest_saved_cell_reruns(saved, numerics_exact):
    """The first tuning run of the network without dropout, on split 0."""
    split = saved["splits"][0]
    t = split["tuning"]["no_dropout"]
    data = without_test(digits_splits(seed=split["split_seed"]))
    net = bn_shift.train("no_dropout", t["settings"][0]["lr"], data,
                         saved["config"]["tune_seeds"][0], saved["config"]["epochs"])
    loss = nn.per_example(net, data.X_val, data.y_val)[0].mean()
    tol = 1e-6 if numerics_exact else 0.05  # elsewhere: another summation order
    assert abs(loss - t["val_loss"][0][0]) <= tol


def test_small_study_runs():
    out = json.loads(json.dumps(bn_shift.run_study("small")))
    assert out["scale"] == "small" and out["split_seeds"] == [0, 1]
    for f in out["splits"][0]["final"].values():
        assert len(f["test_loss_running"]) == 2 and np.all(np.array(f["var_ratio"]) > 0)


def test_dropout_sits_before_or_after_the_batch_norm_layer():
    kinds = [[layer[0] for layer in bn_shift.network(0.5, pos)] for pos in ("before", "after")]
    assert kinds[0].index("dropout") < kinds[0].index("batchnorm")
    assert kinds[1].index("dropout") > kinds[1].index("batchnorm")
    assert "dropout" not in [layer[0] for layer in bn_shift.network(0.0, "before")]


def test_reestimated_statistics_are_those_of_the_bn_input():
    data = without_test(digits_splits(seed=0))
    net = bn_shift.train("before_0.5", 1e-3, data, 3, 1)
    new = net.reestimate_bn(data.X_train)
    h = net.bn_input(data.X_train, "2")
    np.testing.assert_allclose(new["2"].mean, h.mean(axis=0))
    np.testing.assert_allclose(new["2"].var, h.var(axis=0, ddof=1))
    assert not np.allclose(new["2"].var, net.states["2"].var)  # the old state is kept


def test_predicted_ratio_matches_a_direct_monte_carlo_estimate():
    data = without_test(digits_splits(seed=0))
    net = bn_shift.train("before_0.5", 1e-3, data, 3, 2)
    X = data.X_val
    a = np.maximum(X @ net.params["W1"] + net.params["b1"], 0.0)
    rng = np.random.default_rng(0)
    noisy = np.concatenate([(a * (rng.random(a.shape) < 0.5) / 0.5) @ net.params["W2"]
                            for _ in range(200)])
    clean = a @ net.params["W2"]
    # Var_train = Var_test + dropout's extra variance (noise independent of a)
    direct = np.mean(clean.var(axis=0, ddof=1) / noisy.var(axis=0, ddof=1))
    assert bn_shift.predicted_ratio(net, 0.5, X) == pytest.approx(direct, abs=0.02)


def test_no_input_is_mutated():
    data = digits_splits(seed=0)
    before = [a.copy() for a in (data.X_train, data.y_train, data.X_test, data.y_test)]
    net = bn_shift.train("before_0.5", 1e-3, data, 0, 1)
    bn_shift.measure(net, "before_0.5", data)
    for a, b in zip(before, (data.X_train, data.y_train, data.X_test, data.y_test)):
        np.testing.assert_array_equal(a, b)


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        bn_shift.run_study("huge")
