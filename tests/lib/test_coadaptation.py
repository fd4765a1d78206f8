"""Tests of dropout_lib.analysis.coadaptation: knock-outs, pair interactions,
activation statistics."""
from __future__ import annotations


import numpy as np
import pytest

from dropout_lib.analysis import coadaptation as co
from dropout_lib.data import digits_splits
from dropout_lib.experiments import Config, run
from dropout_lib.net import MLP
from dropout_lib.training import fit


@pytest.fixture(scope="module")
def trained():
    """A small trained network (64-32-16-10) and 200 test images."""
    data = digits_splits(seed=0, n_train=300)
    net = MLP([64, 32, 16, 10], p_drop_hidden=0.2, seed=3)
    fit(net, (data.X_train, data.y_train), epochs=30, batch_size=32, optimizer="adam", seed=4)
    X, y = data.get("test")
    return net, X[:200], y[:200]


# --------------------------------------------------------------------------- knock-outs


def test_knockout_of_no_unit_equals_plain_accuracy(trained):
    net, X, y = trained
    acc, loss = co.accuracy_and_loss(net, X, y)
    assert acc == pytest.approx(float(np.mean(net.predict(X) == y)))
    res = co.knockout_curve(net, X, y, [0.0], n_repeats=3, seed=0)
    assert np.all(res["acc"][0] == acc)
    assert np.allclose(res["loss"][0], loss)


@pytest.mark.parametrize("layers", [None, [1], [2]])
def test_knockout_of_all_units_gives_constant_predictions(trained, layers):
    net, X, y = trained
    res = co.knockout_curve(net, X, y, [1.0], layers=layers, n_repeats=2, seed=0)
    lay = 1 if layers is None else layers[0]
    pred = net.predict(X, ablate={lay: np.arange(net.layer_sizes[lay])})
    assert np.all(pred == pred[0])  # the output no longer depends on the input
    assert np.all(res["acc"] == pytest.approx(float(np.mean(y == pred[0]))))
    assert res["acc"].max() <= 0.2  # about chance (10 balanced classes)


def test_knockout_curve_shapes_range_and_determinism(trained):
    net, X, y = trained
    fr = [0.0, 0.25, 0.5, 0.75]
    a = co.knockout_curve(net, X, y, fr, n_repeats=4, seed=11)
    b = co.knockout_curve(net, X, y, fr, n_repeats=4, seed=11)
    c = co.knockout_curve(net, X, y, fr, n_repeats=4, seed=12)
    assert a["acc"].shape == a["loss"].shape == (4, 4)
    assert np.array_equal(a["acc"], b["acc"]) and np.array_equal(a["loss"], b["loss"])
    assert not np.array_equal(a["loss"], c["loss"])
    assert np.all((a["acc"] >= 0) & (a["acc"] <= 1))
    means = a["acc"].mean(axis=1)
    assert means[0] > means[-1]  # removing most units hurts


def test_knockout_does_not_modify_the_network(trained):
    net, X, y = trained
    before = net.get_params()
    co.knockout_curve(net, X, y, [0.5], n_repeats=2, rescale=True, seed=0)
    for k, v in net.get_params().items():
        assert np.array_equal(v, before[k])


def test_knockout_rescale_matches_manual_scaling(trained):
    net, X, y = trained
    res = co.knockout_curve(net, X, y, [0.5], layers=[2], n_repeats=1, rescale=True, seed=5)
    units = np.random.default_rng(5).permutation(16)[:8]
    scaled = net.copy()
    scaled.params["W3"] = scaled.params["W3"] * 2.0
    acc, loss = co.accuracy_and_loss(scaled, X, y, ablate={2: units})
    assert res["acc"][0, 0] == acc and res["loss"][0, 0] == pytest.approx(loss)


def test_knockout_rejects_bad_arguments(trained):
    net, X, y = trained
    with pytest.raises(ValueError, match="fractions"):
        co.knockout_curve(net, X, y, [1.5], seed=0)
    with pytest.raises(ValueError, match="layer"):
        co.knockout_curve(net, X, y, [0.5], layers=[3], seed=0)
    with pytest.raises(TypeError):
        co.knockout_curve(net, X, y, [0.5])  # no seed


def test_unit_damage_matches_single_ablations(trained):
    net, X, y = trained
    d = co.unit_damage(net, X, y, layer=2)
    assert d.shape == (16,)
    _, loss0 = co.accuracy_and_loss(net, X, y)
    for i in (0, 7, 15):
        _, loss = co.accuracy_and_loss(net, X, y, ablate={2: [i]})
        assert d[i] == pytest.approx(loss - loss0)
    acc_d = co.unit_damage(net, X, y, layer=1, metric="acc")
    assert acc_d.shape == (32,)
    assert np.allclose(acc_d * len(y), np.round(acc_d * len(y)))  # whole examples


def test_pair_interactions_definition_and_determinism(trained):
    net, X, y = trained
    single = co.unit_damage(net, X, y, layer=2)
    p = co.pair_interactions(net, X, y, layer=2, n_pairs=20, single=single, seed=1)
    q = co.pair_interactions(net, X, y, layer=2, n_pairs=20, seed=1)
    for k in p:
        assert np.allclose(p[k], q[k])
    assert np.all(p["i"] < p["j"])
    assert len({(a, b) for a, b in zip(p["i"], p["j"])}) == 20  # distinct pairs
    _, loss0 = co.accuracy_and_loss(net, X, y)
    a, b = p["i"][0], p["j"][0]
    _, loss = co.accuracy_and_loss(net, X, y, ablate={2: [a, b]})
    assert p["d_ij"][0] == pytest.approx(loss - loss0)
    assert p["interaction"][0] == pytest.approx(loss - loss0 - single[a] - single[b])
    s = co.interaction_summary(p)
    assert set(s) == {"mean_single", "mean_interaction", "relative", "frac_negative"}
    assert s["relative"] >= 0 and 0 <= s["frac_negative"] <= 1


def test_activation_stats(trained):
    net, X, y = trained
    st = co.activation_stats(net, X)
    assert set(st) == {1, 2}
    a = net.hidden_activations(X)[1]
    assert st[1]["mean"] == pytest.approx(float(a.mean()))
    assert st[1]["frac_zero"] == pytest.approx(float(np.mean(a == 0)))
    assert st[1]["unit_mean"].shape == (32,)
    assert 0 <= st[2]["frac_dead"] <= 1


def test_epochs_to():
    data = digits_splits(seed=0, n_train=100)
    cfg = Config(hidden=(16,), epochs=5, batch_size=32)
    _, h = run(cfg, data, 0)
    accs = h.metric("train_acc")
    target = float(accs[3])
    first = int(np.flatnonzero(accs >= target)[0])
    assert co.epochs_to(h, "train_acc", target) == h.epochs[first]
    assert co.epochs_to(h, "train_acc", 1.5) is None
    assert co.epochs_to(h, "train_loss", 1e9) == 0


def test_roughness_is_about_one_for_noise_and_zero_for_constant_images():
    rng = np.random.default_rng(0)
    noise = co.roughness(rng.normal(size=(64, 500)))
    assert abs(noise.mean() - 1.0) < 0.05
    assert np.allclose(co.roughness(np.ones((64, 3))), 0.0)


def test_roughness_mask_leaves_out_pixels_and_their_pairs():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(64, 20))
    keep = np.ones(64, dtype=bool)
    keep[[0, 7, 56, 63]] = False  # the four corners
    # Any values on the masked pixels: the result does not change.
    W2 = W.copy()
    W2[~keep] = 1e6
    assert np.allclose(co.roughness(W, mask=keep), co.roughness(W2, mask=keep))
    # A full mask is the default.
    assert np.allclose(co.roughness(W, mask=np.ones(64, bool)), co.roughness(W))
    # A smooth ramp is smoother than noise on the kept pixels too.
    ramp = np.tile(np.arange(64, dtype=float)[:, None] % 8, (1, 3)) + 1.0
    assert co.roughness(ramp, mask=keep).max() < 0.1
    for bad in (np.ones(63, bool), np.zeros(64, bool), np.ones(64)):
        with pytest.raises(ValueError, match="mask"):
            co.roughness(W, mask=bad)
    with pytest.raises(ValueError, match="W must"):
        co.roughness(np.ones((63, 2)))
