"""Tests of dropout_lib.experiments: seed summaries and sweeps."""

import numpy as np
import pytest

from dropout_lib.analysis.ensembles import ensemble_predict_proba
from dropout_lib.data import digits_splits, make_gap_regression, train_val_test_split
from dropout_lib.experiments import (
    Config,
    run,
    run_bagging,
    run_seeds,
    summarize,
    sweep,
    sweep_p_drop,
    sweep_train_size,
)
from dropout_lib.training import EarlyStopping

TINY = Config(hidden=(16,), p_drop_hidden=0.5, epochs=2, batch_size=32, lr=3e-3)


@pytest.fixture(scope="module")
def data():
    return digits_splits(seed=0, n_train=300)


def test_summarize_mean_std_and_format():
    s = summarize([0.95, 0.96, 0.97])
    assert s.mean == pytest.approx(0.96)
    assert s.std == pytest.approx(0.01)  # sample std (ddof=1): sqrt((1e-4 + 0 + 1e-4) / 2)
    assert s.n == 3 and s.values.tolist() == [0.95, 0.96, 0.97]
    assert s.format() == "0.960 ± 0.010" and str(s) == "0.960 ± 0.010"
    assert s.format(2) == "0.96 ± 0.01"
    one = summarize([0.9574])
    assert np.isnan(one.std) and one.format() == "0.957"
    with pytest.raises(ValueError, match="at least one number"):
        summarize([])


def test_run_seeds_matches_individual_runs(data):
    res = run_seeds(TINY, data, [0, 1, 2])
    assert res.seeds == [0, 1, 2] and len(res.histories) == 3
    singles = [run(TINY, data, s)[1].final["test_acc"] for s in (0, 1, 2)]
    np.testing.assert_array_equal(res.result.values, singles)
    assert res.result.mean == pytest.approx(np.mean(singles))
    assert res.result.std == pytest.approx(np.std(singles, ddof=1))
    assert len(set(singles)) > 1 or res.histories[0] != res.histories[1]
    assert res.summary("val_loss").n == 3
    curves = res.curves("val_acc")
    assert curves.shape == (3, TINY.epochs + 1)
    again = run_seeds(TINY, data, [0, 1, 2])
    np.testing.assert_array_equal(again.result.values, res.result.values)


def test_sweep_p_drop_shapes_and_pairing(data):
    ps = [0.0, 0.5]
    res = sweep_p_drop(TINY, data, ps, seeds=[0, 1])
    assert res.param == "p_drop_hidden" and res.values == ps
    assert res.per_seed.shape == (2, 2) and res.mean.shape == (2,) and res.std.shape == (2,)
    np.testing.assert_allclose(res.mean, res.per_seed.mean(axis=1))
    base = run_seeds(TINY.replace(p_drop_hidden=0.0), data, [0, 1])
    np.testing.assert_array_equal(res.per_seed[0], base.result.values)
    # Paired: for one seed, the untrained network (epoch 0) is the same for every p_drop.
    assert res.histories[0][0].val_loss[0] == res.histories[1][0].val_loss[0]
    assert "p_drop_hidden" in res.table() and "±" in res.table()
    both = sweep_p_drop(TINY, data, [0.2], seeds=[0], where="both")
    assert both.param == "p_drop"
    assert "p_drop_input=0.2, p_drop_hidden=[0.2]" in both.histories[0][0].config["net"]


def test_sweep_train_size(data):
    res = sweep_train_size(TINY, data, [50, 100], seeds=[0, 1],
                           epochs_for=lambda n: 3 if n < 100 else 2)
    assert res.param == "n_train" and res.values == [50, 100]
    assert [h.config["n_train"] for h in res.histories[0]] == [50, 50]
    assert [h.config["epochs"] for h in res.histories[0]] == [3, 3]
    assert [h.config["epochs"] for h in res.histories[1]] == [2, 2]
    # validation/test sets are the same for every size and seed: epoch-0 eval of one
    # seed (same initial weights) is identical across sizes
    assert res.histories[0][0].test_loss[0] == res.histories[1][0].test_loss[0]


def test_generic_sweep_and_regression_metric():
    X, y = make_gap_regression(60, seed=0)
    s = train_val_test_split(X, y, seed=0)
    cfg = Config(hidden=(8,), loss="mse", epochs=2, batch_size=16)
    res = sweep(cfg, s, param="l2", values=[0.0, 0.1], seeds=[0], metric="val_loss")
    assert res.per_seed.shape == (1 * 2, 1) and np.isnan(res.std).all()
    with pytest.raises(ValueError, match=r"metric must be one of \['train_loss'"):
        run_seeds(cfg, s, [0], metric="test_acc")


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(lr=0.0), ValueError, r"lr \(learning rate\)"),
    (dict(lr=-1e-3), ValueError, r"lr \(learning rate\)"),
    (dict(p_drop_hidden=(0.5, 0.5, 0.5)), ValueError,
     "p_drop_hidden has 3 entries but the network has 2 hidden layers"),
    (dict(activation="gelu"), ValueError, "activation must be one of"),
    (dict(optimizer="lbfgs"), ValueError, "optimizer must be one of"),
    (dict(epochs=0), ValueError, "epochs must be an int >= 1"),
    (dict(l2=-1.0), ValueError, "l2 must be a finite number >= 0"),
    (dict(loss="hinge"), ValueError, "loss must be 'softmax' or 'mse'"),
    (dict(hidden=64), TypeError, "hidden must be a tuple of layer sizes"),
])
def test_bad_config(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Config(**kwargs)


def test_bad_sweep_arguments_fail_before_training(data, capsys):
    with pytest.raises(ValueError, match="p_drop_hidden"):
        sweep_p_drop(TINY, data, [0.0, 1.5], seeds=[0])
    with pytest.raises(ValueError, match="where must be"):
        sweep_p_drop(TINY, data, [0.0], seeds=[0], where="output")
    with pytest.raises(ValueError, match=r"n_trains must be an int in 1\.\.300"):
        sweep_train_size(TINY, data, [50, 500], seeds=[0])
    with pytest.raises(ValueError, match="param must be a Config field"):
        sweep(TINY, data, param="learning_rate", values=[0.1], seeds=[0])
    with pytest.raises(ValueError, match="seeds must be distinct"):
        run_seeds(TINY, data, [1, 1])
    with pytest.raises(TypeError, match="seeds must be a sequence of ints"):
        run_seeds(TINY, data, 5)
    with pytest.raises(ValueError, match="metric must be one of"):
        run_seeds(TINY, data, [0], metric="test_f1")
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_progress_only_when_asked(data, capsys):
    run_seeds(TINY, data, [0])
    assert capsys.readouterr() == ("", "")
    sweep_p_drop(TINY, data, [0.0, 0.5], seeds=[0], progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "2/2" in err


def test_run_bagging_is_deterministic_and_members_differ(data):
    cfg = TINY.replace(hidden=(8,), epochs=2)
    X0 = data.X_train.copy()
    nets, hists = run_bagging(cfg, data, 5, n_members=3)
    again, _ = run_bagging(cfg, data, 5, n_members=3)
    assert len(nets) == len(hists) == 3
    for a, b in zip(nets, again, strict=True):
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(nets[0].params["W1"], nets[1].params["W1"])
    np.testing.assert_array_equal(data.X_train, X0)
    n = data.X_train.shape[0]
    assert hists[0].config["n_train"] == n  # a bootstrap sample has N examples
    # Without the bootstrap every member trains on the data itself, so the
    # members' training losses at epoch 0 are those of their initial weights.
    same, h2 = run_bagging(cfg, data, 5, n_members=2, bootstrap=False)
    assert h2[0].config["n_train"] == n
    assert not np.array_equal(same[0].params["W1"], same[1].params["W1"])
    P = ensemble_predict_proba(nets, data.X_test)
    np.testing.assert_allclose(
        P, np.mean([m.predict_proba(data.X_test) for m in nets], axis=0))
    with pytest.raises(TypeError, match="config"):
        run_bagging("adam", data, 0, n_members=2)
    with pytest.raises(ValueError, match="n_members"):
        run_bagging(cfg, data, 0, n_members=0)
    with pytest.raises(TypeError, match="bootstrap"):
        run_bagging(cfg, data, 0, n_members=2, bootstrap=1)


def test_run_bagging_members_stop_early_on_validation(data):
    cfg = TINY.replace(hidden=(8,), epochs=30, lr=0.05,
                       early_stopping=EarlyStopping(patience=2))
    nets, hists = run_bagging(cfg, data, 1, n_members=2)
    for net, h in zip(nets, hists, strict=True):
        assert h.stopped_early and h.epochs[-1] < 30
        assert h.final["val_loss"] == min(h.val_loss)
