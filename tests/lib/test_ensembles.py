"""Tests of dropout_lib.analysis.ensembles: the exact identities to machine precision, enumeration,
Monte-Carlo convergence, determinism and argument checking."""
from __future__ import annotations

import math

import numpy as np
import pytest

import dropout_lib as dl
from dropout_lib.analysis import ensembles as E
from dropout_lib.losses import softmax

TIGHT = 1e-12  # "machine precision" for sums of a few thousand float64 terms


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _X(n=25, d=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def _trained_like(net, seed=0, scale=1.0):
    """Give the network random non-zero biases too (biases start at 0), in place."""
    rng = np.random.default_rng(seed)
    for k, v in net.params.items():
        if k.startswith("b"):
            net.params[k] = scale * rng.normal(size=v.shape)
    return net


def _masks_from_cache(cache):
    return np.concatenate([c.mask for kind, _, c in cache.steps if kind == "dropout"], axis=1)


# --------------------------------------------------------------------------- enumeration


@pytest.mark.parametrize("n", [0, 1, 3, 8, 12, 16])
def test_enumerate_masks_are_all_distinct_and_probabilities_sum_to_one(n):
    masks, probs = E.enumerate_masks(n, 0.3)
    assert masks.shape == (2 ** n, n) and masks.dtype == bool
    assert probs.shape == (2 ** n,) and probs.dtype == np.float64
    assert len({row.tobytes() for row in masks}) == 2 ** n
    assert abs(probs.sum() - 1.0) < TIGHT
    assert np.all(probs > 0)


def test_enumerate_masks_bit_order_and_probabilities():
    masks, probs = E.enumerate_masks(3, 0.25)
    # row i keeps unit j exactly when bit j of i is set
    for i in range(8):
        assert masks[i].tolist() == [bool(i >> j & 1) for j in range(3)]
    kept = masks.sum(axis=1)
    np.testing.assert_allclose(probs, 0.75 ** kept * 0.25 ** (3 - kept), rtol=0, atol=1e-15)
    assert not masks[0].any() and masks[-1].all()


def test_enumerate_masks_per_unit_probabilities_and_edge_cases():
    p = np.array([0.0, 0.5, 1.0, 0.2])
    masks, probs = E.enumerate_masks(4, p)
    # unit 0 is never dropped, unit 2 always dropped: only masks with that pattern have mass
    possible = masks[:, 0] & ~masks[:, 2]
    assert np.all(probs[~possible] == 0)
    assert abs(probs.sum() - 1.0) < TIGHT
    # marginal keep probability of each unit equals 1 - p
    np.testing.assert_allclose(probs @ masks, 1 - p, atol=TIGHT)
    np.testing.assert_array_equal(p, [0.0, 0.5, 1.0, 0.2])  # input not modified


def test_enumerate_masks_number_kept_is_binomial():
    n, pd = 12, 0.3
    masks, probs = E.enumerate_masks(n, pd)
    kept = masks.sum(axis=1)
    for k in range(n + 1):
        expected = math.comb(n, k) * 0.7 ** k * 0.3 ** (n - k)
        assert abs(probs[kept == k].sum() - expected) < TIGHT


def test_enumerate_masks_refuses_too_many_units_and_names_the_limit():
    with pytest.raises(ValueError, match=r"MAX_ENUMERATE_UNITS = 16"):
        E.enumerate_masks(E.MAX_ENUMERATE_UNITS + 1, 0.5)
    net = dl.MLP([4, 20, 3], p_drop_hidden=0.5, seed=0)
    with pytest.raises(ValueError, match="limit"):
        E.exact_mean(net, _X(d=4))


@pytest.mark.parametrize("n, p, exc", [
    (-1, 0.5, ValueError), (True, 0.5, TypeError), (2.0, 0.5, TypeError),
    (3, 1.5, ValueError), (3, float("nan"), ValueError), (3, "0.5", TypeError),
    (3, [0.5, 0.5], ValueError), (3, np.array([0.1, 2.0, 0.3]), ValueError),
    (2, np.array([True, False]), TypeError),
])
def test_enumerate_masks_bad_input(n, p, exc):
    with pytest.raises(exc):
        E.enumerate_masks(n, p)


def test_droppable_units_order():
    net = dl.MLP([4, 3, 5, 2], p_drop_input=0.2, p_drop_hidden=[0.0, 0.5], seed=0)
    assert E.droppable_units(net) == [(0, 4, 0.2), (2, 5, 0.5)]
    np.testing.assert_array_equal(E.unit_drop_probabilities(net), [0.2] * 4 + [0.5] * 5)
    assert E.droppable_units(dl.MLP([3, 2], seed=0)) == []


# --------------------------------------------------------------------------- subnetworks


@pytest.mark.parametrize("mode", ["inverted", "original"])
@pytest.mark.parametrize("acts", [("relu", "tanh"), ("sigmoid", "relu")])
def test_subnetwork_outputs_match_the_training_forward_pass(mode, acts):
    net = _trained_like(dl.MLP([5, 4, 3, 2], activation=list(acts), p_drop_input=0.2,
                               p_drop_hidden=[0.5, 0.25], dropout_mode=mode, seed=1))
    X = _X(9, 5)
    scores, cache = net.forward(X, train=True, rng=np.random.default_rng(3))
    masks = _masks_from_cache(cache)  # one mask per example
    out = E.subnetwork_outputs(net, X, masks)
    assert out.shape == (9, 9, 2)
    got = out[np.arange(9), np.arange(9)]
    np.testing.assert_allclose(got, scores, rtol=0, atol=1e-13)


def test_subnetwork_outputs_all_kept_in_original_mode_is_the_unscaled_network():
    net = _trained_like(dl.MLP([3, 4, 2], p_drop_hidden=0.5, dropout_mode="original", seed=2))
    X = _X(5, 3)
    all_kept = np.ones((1, 4), bool)
    # original mode keeps activations unscaled in training; evaluation scales by 1 - p
    W1, b1, W2, b2 = (net.params[k] for k in ("W1", "b1", "W2", "b2"))
    expected = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    np.testing.assert_allclose(E.subnetwork_outputs(net, X, all_kept)[0], expected, atol=1e-13)


def test_subnetwork_outputs_chunking_does_not_change_results(monkeypatch):
    net = _trained_like(dl.MLP([4, 6, 3, 2], p_drop_hidden=0.5, seed=3))
    X = _X(7, 4)
    masks, _ = E.enumerate_masks(9, 0.5)
    full = E.subnetwork_outputs(net, X, masks)
    monkeypatch.setattr(E, "_CHUNK", 37)
    np.testing.assert_array_equal(E.subnetwork_outputs(net, X, masks), full)
    mean37 = E.exact_mean(net, X)
    monkeypatch.setattr(E, "_BLOCK_FLOATS", 1)  # one mask per block
    np.testing.assert_array_equal(E.subnetwork_outputs(net, X, masks), full)
    np.testing.assert_allclose(E.exact_mean(net, X), mean37, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------- exact identities


@pytest.mark.parametrize("mode", ["inverted", "original"])
def test_linear_network_weight_scaling_equals_the_exact_mean(mode):
    """No hidden layer: the output is linear in the mask, so E[f_m] = f(E[m])."""
    net = _trained_like(dl.MLP([10, 3], p_drop_input=0.4, dropout_mode=mode, seed=4))
    X = _X(30, 10)
    exact = E.exact_mean(net, X, output="scores")
    ws = E.weight_scaling(net, X, output="scores")
    assert np.max(np.abs(exact - ws)) < TIGHT
    # ...but not for the probabilities: the softmax is not linear
    assert np.max(np.abs(E.exact_mean(net, X) - E.weight_scaling(net, X))) > 1e-3


def test_single_sigmoid_unit_nwgm_is_sigmoid_of_expected_input():
    """Baldi & Sadowski (2013): NWGM(sigma(z)) = sigma(E[z]) exactly."""
    net = _trained_like(dl.MLP([12, 1], p_drop_input=0.5, seed=5), scale=0.5)
    X = _X(40, 12)
    nwgm = E.exact_nwgm(net, X, output="sigmoid")
    expected_input = E.exact_mean(net, X, output="scores")
    assert np.max(np.abs(nwgm - sigmoid(expected_input))) < TIGHT
    assert np.max(np.abs(nwgm - E.weight_scaling(net, X, output="sigmoid"))) < TIGHT
    # the arithmetic mean of the sigmoids is different (and closer to 1/2)
    am = E.exact_mean(net, X, output="sigmoid")
    assert np.max(np.abs(am - nwgm)) > 1e-3


@pytest.mark.parametrize("mode", ["inverted", "original"])
@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
def test_one_hidden_layer_softmax_mean_network_is_the_geometric_mean(act, mode):
    """Hinton et al. (2012): one hidden layer with dropout, softmax output."""
    net = _trained_like(dl.MLP([6, 11, 4], activation=act, p_drop_hidden=0.5,
                               dropout_mode=mode, seed=6))
    X = _X(30, 6)
    nwgm = E.exact_nwgm(net, X)
    ws = E.weight_scaling(net, X)
    assert np.max(np.abs(nwgm - ws)) < TIGHT
    np.testing.assert_allclose(nwgm.sum(axis=1), 1.0, atol=TIGHT)
    assert np.max(np.abs(E.exact_mean(net, X) - ws)) > 1e-3


def test_nwgm_is_always_the_softmax_of_the_expected_scores():
    net = _trained_like(dl.MLP([5, 6, 5, 3], p_drop_input=0.3, p_drop_hidden=[0.0, 0.5],
                               seed=7))
    X = _X(20, 5)
    nwgm = E.exact_nwgm(net, X)
    assert np.max(np.abs(nwgm - softmax(E.exact_mean(net, X, output="scores")))) < TIGHT


def test_deeper_relu_network_weight_scaling_is_not_exact():
    net = _trained_like(dl.MLP([6, 6, 6, 3], p_drop_hidden=0.5, seed=8))
    X = _X(30, 6)
    ws = E.weight_scaling(net, X)
    assert np.max(np.abs(E.exact_nwgm(net, X) - ws)) > 1e-3
    assert np.max(np.abs(E.exact_mean(net, X, output="scores")
                         - E.weight_scaling(net, X, output="scores"))) > 1e-3


def test_exact_functions_refuse_a_network_without_dropout():
    with pytest.raises(ValueError, match="no dropout"):
        E.exact_mean(dl.MLP([3, 4, 2], seed=0), _X(d=3))


# --------------------------------------------------------------------------- Monte Carlo


def test_mc_average_converges_to_the_exact_mean_within_a_5_sigma_bound():
    net = _trained_like(dl.MLP([4, 10, 3], p_drop_hidden=0.5, seed=9))
    X = _X(15, 4)
    masks, probs = E.enumerate_masks(10, 0.5)
    f = softmax(E.subnetwork_outputs(net, X, masks).reshape(-1, 3)).reshape(len(probs), 15, 3)
    mean = np.tensordot(probs, f, axes=(0, 0))
    sd = np.sqrt(np.tensordot(probs, f ** 2, axes=(0, 0)) - mean ** 2)
    np.testing.assert_allclose(mean, E.exact_mean(net, X), atol=TIGHT)
    errors = []
    for k in (100, 10_000):
        mc = E.mc_average(net, X, n_samples=k, rng=np.random.default_rng(k))
        err = np.abs(mc - mean)
        assert np.all(err <= 5 * sd / np.sqrt(k) + 1e-9), k
        errors.append(err.max())
    assert errors[1] < errors[0] / 3  # shrinks like 1/sqrt(k): 10x expected


def test_mc_average_is_deterministic_and_leaves_inputs_alone():
    net = dl.MLP([4, 8, 3], p_drop_hidden=0.5, seed=10)
    X = _X(6, 4)
    X0, params0 = X.copy(), net.get_params()
    a = E.mc_average(net, X, n_samples=20, rng=np.random.default_rng(1))
    b = E.mc_average(net, X, n_samples=20, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, X0)
    for k in params0:
        np.testing.assert_array_equal(net.params[k], params0[k])


def test_mc_error_curve_matches_running_means():
    net = dl.MLP([4, 8, 3], p_drop_hidden=0.5, seed=11)
    X = _X(30, 4)
    y = np.random.default_rng(0).integers(0, 3, 30)
    ks = [1, 3, 10]
    curve = E.mc_error_curve(net, X, y, ks, rng=np.random.default_rng(5))
    samples = net.mc_predict(X, n_samples=10, rng=np.random.default_rng(5))
    for k, err in zip(ks, curve):
        assert err == np.mean(samples[:k].mean(axis=0).argmax(axis=1) != y)
    geo = E.mc_error_curve(net, X, y, ks, rng=np.random.default_rng(5), combine="geometric")
    for k, err in zip(ks, geo):
        assert err == np.mean(np.log(samples[:k]).mean(axis=0).argmax(axis=1) != y)


@pytest.mark.parametrize("ks, exc", [([], TypeError), ([0, 1], ValueError), ([3, 2], ValueError),
                                     ([1.5], TypeError)])
def test_mc_error_curve_bad_ks(ks, exc):
    net = dl.MLP([4, 8, 3], p_drop_hidden=0.5, seed=11)
    with pytest.raises(exc):
        E.mc_error_curve(net, _X(5, 4), np.zeros(5, np.int64), ks, rng=np.random.default_rng(0))


def test_mc_regression_mean_std_and_noise():
    net = _trained_like(dl.MLP([1, 16, 1], p_drop_hidden=0.3, seed=12))
    X = np.linspace(-2, 2, 11)[:, None]
    m, s = E.mc_regression(net, X, n_samples=50, rng=np.random.default_rng(2))
    samples = net.mc_predict(X, n_samples=50, rng=np.random.default_rng(2), proba=False)[..., 0]
    np.testing.assert_allclose(m, samples.mean(axis=0), atol=1e-14)
    np.testing.assert_allclose(s, samples.std(axis=0), atol=1e-14)
    assert m.shape == s.shape == (11,)
    _, s2 = E.mc_regression(net, X, n_samples=50, rng=np.random.default_rng(2), noise_std=0.5)
    np.testing.assert_allclose(s2, np.sqrt(s ** 2 + 0.25), atol=1e-14)
    # converges to the exact std from the enumeration of 16 units
    exact_m = E.exact_mean(net, X, output="scores")[:, 0]
    masks, probs = E.enumerate_masks(16, 0.3)
    f = E.subnetwork_outputs(net, X, masks)[..., 0]
    exact_s = np.sqrt(probs @ (f - exact_m) ** 2)
    m_big, s_big = E.mc_regression(net, X, n_samples=20_000, rng=np.random.default_rng(3))
    assert np.all(np.abs(m_big - exact_m) <= 5 * exact_s / np.sqrt(20_000) + 1e-12)
    assert np.all(np.abs(s_big - exact_s) <= 0.05 * exact_s + 1e-12)


@pytest.mark.parametrize("kwargs, exc", [({"n_samples": 1}, ValueError),
                                         ({"n_samples": 10, "noise_std": -1.0}, ValueError),
                                         ({"n_samples": 10, "noise_std": "a"}, ValueError)])
def test_mc_regression_bad_input(kwargs, exc):
    net = dl.MLP([1, 4, 1], p_drop_hidden=0.3, seed=0)
    with pytest.raises(exc):
        E.mc_regression(net, np.zeros((3, 1)), rng=np.random.default_rng(0), **kwargs)


# --------------------------------------------------------------------------- bad input


def test_bad_arguments_are_refused_with_clear_errors():
    net = dl.MLP([3, 4, 2], p_drop_hidden=0.5, seed=0)
    X = _X(5, 3)
    with pytest.raises(TypeError, match="MLP"):
        E.exact_mean("net", X)
    with pytest.raises(ValueError, match="output"):
        E.exact_mean(net, X, output="logits")
    with pytest.raises(ValueError, match="output"):
        E.exact_nwgm(net, X, output="scores")
    with pytest.raises(TypeError, match="bool"):
        E.subnetwork_outputs(net, X, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"\(M, 4\)"):
        E.subnetwork_outputs(net, X, np.ones((2, 3), bool))
    with pytest.raises(TypeError, match="rng"):
        E.mc_average(net, X, n_samples=3, rng=None)
    with pytest.raises(ValueError, match="columns"):
        E.weight_scaling(net, _X(5, 4))


# --------------------------------------------------------------------------- real ensembles


def test_training_cost_counts_parameter_example_visits():
    a = dl.MLP([4, 5, 2], seed=0)  # 4*5+5 + 5*2+2 = 37 parameters
    assert a.n_params == 37
    assert E.training_cost(a, n_train=10, epochs=3) == 3 * 10 * 37
    assert E.training_cost([a, a.copy()], n_train=10, epochs=3) == 2 * 3 * 10 * 37
    with pytest.raises(TypeError):
        E.training_cost([], n_train=10, epochs=3)


# --------------------------------------------------------------------------- uncertainty scores


def test_predictive_entropy_is_zero_for_certain_and_log_k_for_uniform():
    P = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    h = E.predictive_entropy(P)
    np.testing.assert_allclose(h, [0.0, np.log(3), np.log(2)], atol=1e-12)
    with pytest.raises(ValueError, match="proba"):
        E.predictive_entropy(np.array([0.5, 0.5]))


def test_mutual_information_is_zero_when_members_agree_and_grows_apart():
    agree = np.tile([[0.7, 0.3]], (4, 5, 1))          # (T, N, K)
    np.testing.assert_allclose(E.mutual_information(agree), 0.0, atol=1e-12)
    # two members certain of opposite classes: MI = H(mean) - 0 = log 2
    apart = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(E.mutual_information(apart), [np.log(2)])
    # it is the entropy of the mean minus the mean entropy
    rng = np.random.default_rng(0)
    S = rng.dirichlet([1, 1, 1], size=(6, 4))
    direct = E.predictive_entropy(S.mean(axis=0)) - np.mean(
        [E.predictive_entropy(s) for s in S], axis=0)
    np.testing.assert_allclose(E.mutual_information(S), direct, atol=1e-12)
    with pytest.raises(ValueError, match="samples"):
        E.mutual_information(S[0])


def test_auroc_counts_pairs_and_ties_half():
    assert E.auroc([0, 1], [2, 3]) == 1.0
    assert E.auroc([2, 3], [0, 1]) == 0.0
    assert E.auroc([1, 1], [1, 1]) == 0.5
    rng = np.random.default_rng(1)
    neg, pos = rng.integers(0, 5, 40), rng.integers(1, 6, 30)
    d = pos[:, None] - neg[None, :]
    assert E.auroc(neg, pos) == pytest.approx(np.mean(d > 0)
                                              + 0.5 * np.mean(d == 0))
    with pytest.raises(ValueError, match="negatives"):
        E.auroc([], [1.0])
