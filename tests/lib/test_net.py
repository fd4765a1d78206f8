"""Tests of dropout_lib.net: gradients, modes, ablation, initialisation, validation."""

import numpy as np
import pytest

from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.losses import softmax_cross_entropy
from dropout_lib.net import MLP

D, H, K, N = 5, 7, 3, 4
MASK_SEED = 123


def _readonly(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def _well_posed(net, X, y, l2, ablate=None):
    """True if a finite-difference check of this problem is meaningful.

    * No ReLU pre-activation within 1e-3 of the kink (a step h = 1e-5 in one
      weight moves a pre-activation by at most ~1e-5 * |input|, so it never
      crosses 0 and the loss is smooth around the point).
    * Every gradient entry is either exactly 0 (a path cut by a dropout mask
      or a dead ReLU: then both gradients are exactly 0) or at least 1e-3 in
      size. The centred difference has an absolute rounding error of about
      eps * |loss| / h ~ 1e-16 * 10 / 1e-5 = 1e-10, so on an entry of size
      1e-3 the relative error test measures the code (errors ~1e-7 and more
      for a wrong formula), not float64 rounding.
    """
    rng = np.random.default_rng(MASK_SEED)
    _, cache = net.forward(X, train=True, rng=rng, ablate=ablate)
    relu = [k for k, a in enumerate(net.activations, start=1) if a == "relu"]
    if relu and min(np.abs(cache.pre_activations[k]).min() for k in relu) <= 1e-3:
        return False
    _, grads = net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(MASK_SEED),
                                  l2=l2, ablate=ablate)
    g = np.abs(np.concatenate([v.ravel() for v in grads.values()]))
    return bool(np.all((g == 0) | (g >= 1e-3)))


def _small_problem(n_hidden, activation, p_in, mode, seed, ablate=None, l2=0.1):
    """A small net (D=5, hidden 7, K=3) and a batch of N=4 on which a gradient check is meaningful.

    Dropout masks come from a generator re-created with MASK_SEED at every call,
    so every loss evaluation of the numerical gradient sees the same masks.
    """
    for s in range(seed, seed + 200):
        rng = np.random.default_rng(s)
        net = MLP([D] + [H] * n_hidden + [K], activation=activation, p_drop_input=p_in,
                  p_drop_hidden=0.4, dropout_mode=mode, init=0.6, seed=s)
        for k in net.params:
            if k.startswith("b"):
                net.params[k] = 0.3 * rng.standard_normal(net.params[k].shape)
        X = rng.standard_normal((N, D))
        y = rng.integers(0, K, N)
        if _well_posed(net, X, y, l2, ablate):
            return net, X, y
    raise AssertionError("no well-posed gradient-check problem found")  # pragma: no cover


def _check_all_grads(net, X, y, l2, ablate=None):
    loss, grads = net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(MASK_SEED),
                                     l2=l2, ablate=ablate)
    assert set(grads) == set(net.params)
    errors = {}
    for name in net.params:
        def f(w, name=name):
            old = net.params[name]
            net.params[name] = w
            try:
                value, _ = net.loss_and_grads(X, y, train=True,
                                              rng=np.random.default_rng(MASK_SEED),
                                              l2=l2, ablate=ablate)
            finally:
                net.params[name] = old
            return value
        num = numerical_gradient(f, net.params[name])
        assert grads[name].shape == net.params[name].shape
        errors[name] = rel_error(num, grads[name])
    return loss, errors


@pytest.mark.parametrize("mode", ["inverted", "original"])
@pytest.mark.parametrize("p_in", [0.0, 0.3])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("n_hidden", [1, 2, 3])
def test_whole_network_gradient_with_dropout_and_l2(n_hidden, activation, p_in, mode):
    net, X, y = _small_problem(n_hidden, activation, p_in, mode, seed=10 * n_hidden)
    _, errors = _check_all_grads(net, X, y, l2=0.1)
    worst = max(errors.values())
    assert worst < 1e-6, errors


def test_gradient_mixed_activations_and_train_time_ablation():
    ablate = {1: [0, 3], 2: np.array([False, True, False, False, False, False, True])}
    for s in range(200):
        net = MLP([D, H, H, H, K], activation=["tanh", "relu", "sigmoid"], p_drop_input=0.2,
                  p_drop_hidden=[0.5, 0.0, 0.3], init=0.6, seed=s)
        X = np.random.default_rng(s).standard_normal((N, D))
        y = np.arange(N) % K
        if _well_posed(net, X, y, 0.05, ablate):
            break
    else:  # pragma: no cover
        raise AssertionError("no well-posed problem found")
    _, errors = _check_all_grads(net, X, y, l2=0.05, ablate=ablate)
    assert max(errors.values()) < 1e-6, errors
    _, grads = net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(MASK_SEED),
                                  l2=0.05, ablate=ablate)
    # No data gradient flows into ablated units: only the L2 term is left.
    assert np.all(grads["b1"][[0, 3]] == 0)
    np.testing.assert_array_equal(grads["W1"][:, [0, 3]], 0.05 * net.params["W1"][:, [0, 3]])


def test_gradient_check_detects_wrong_gradients():
    # The same check must fail for a gradient computed with other dropout masks,
    # or with the L2 term left out, so the tests above are not vacuous.
    net, X, y = _small_problem(2, "tanh", 0.3, "inverted", seed=0)
    _, right = net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(MASK_SEED),
                                  l2=0.1)
    _, other_mask = net.loss_and_grads(X, y, train=True,
                                       rng=np.random.default_rng(MASK_SEED + 1), l2=0.1)
    _, no_l2 = net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(MASK_SEED))
    assert rel_error(other_mask["W1"], right["W1"]) > 1e-3
    assert rel_error(no_l2["W2"], right["W2"]) > 1e-3


def test_dropout_actually_applied_in_gradcheck_setup():
    # Guard against a vacuous gradient check: masks must drop something and vary with rng.
    net, X, _ = _small_problem(2, "tanh", 0.3, "inverted", seed=0)
    a = net.forward(X, train=True, rng=np.random.default_rng(1))[0]
    b = net.forward(X, train=True, rng=np.random.default_rng(2))[0]
    c = net.forward(X, train=True, rng=np.random.default_rng(1))[0]
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, c)


def test_untrained_loss_near_log_num_classes():
    # With Glorot output weights the scores of an untrained 64-256-256-10 net on the
    # digits have std ~0.4-0.5. For scores independent of the label with variance s^2
    # the expected loss is about log C + s^2 (C - 1) / (2C) (second-order expansion of
    # log-sum-exp), i.e. 0.07-0.11 above log 10; Jensen gives loss >= log C up to
    # sampling noise. Hence the window [log 10 - 0.05, log 10 + 0.25] for every seed.
    from dropout_lib.data import load_digits

    X, y = load_digits()
    for seed in range(3):
        net = MLP([64, 256, 256, 10], p_drop_hidden=0.5, seed=seed)
        loss, _ = softmax_cross_entropy(net.forward(X, train=False)[0], y)
        assert np.log(10) - 0.05 < loss < np.log(10) + 0.25


def test_train_required_and_rng_required():
    net = MLP([4, 5, 3], p_drop_hidden=0.5, seed=0)
    X = np.ones((2, 4))
    with pytest.raises(TypeError, match="train"):
        net.forward(X)  # train is a required keyword
    with pytest.raises(TypeError, match="train must be a bool"):
        net.forward(X, train=1)
    with pytest.raises(TypeError, match=r"rng \(a numpy.random.Generator\) is required"):
        net.forward(X, train=True)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        net.forward(X, train=True, rng=np.random.RandomState(0))
    # Evaluation needs no rng, and a net without dropout needs none in training either.
    net.forward(X, train=False)
    MLP([4, 5, 3], seed=0).forward(X, train=True)


def test_eval_is_deterministic_and_train_differs():
    net = MLP([6, 20, 20, 4], p_drop_input=0.2, p_drop_hidden=0.5, seed=0)
    X = np.random.default_rng(0).standard_normal((10, 6))
    e1, e2 = net.scores(X), net.forward(X, train=False)[0]
    np.testing.assert_array_equal(e1, e2)
    t = net.forward(X, train=True, rng=np.random.default_rng(0))[0]
    assert not np.allclose(t, e1)


def test_inverted_eval_is_plain_network_and_original_eval_scales_weights():
    X = np.random.default_rng(1).standard_normal((8, 6))
    p_in, p_h = 0.2, [0.5, 0.3]
    inv = MLP([6, 9, 9, 4], p_drop_input=p_in, p_drop_hidden=p_h, seed=3)
    plain = MLP([6, 9, 9, 4], seed=3)
    np.testing.assert_array_equal(inv.scores(X), plain.scores(X))
    orig = MLP([6, 9, 9, 4], p_drop_input=p_in, p_drop_hidden=p_h, dropout_mode="original",
               seed=3)
    # Weight-scaling rule: multiplying layer outputs by the keep probability equals
    # multiplying the outgoing weights by it.
    scaled = plain.copy()
    scaled.params["W1"] = scaled.params["W1"] * (1 - p_in)
    scaled.params["W2"] = scaled.params["W2"] * (1 - p_h[0])
    scaled.params["W3"] = scaled.params["W3"] * (1 - p_h[1])
    np.testing.assert_allclose(orig.scores(X), scaled.scores(X), rtol=1e-12, atol=1e-12)


def test_train_mode_expectation_matches_eval_for_linear_net():
    # Without a nonlinearity after the dropped layer the MC average converges to eval.
    net = MLP([3, 4], p_drop_input=0.5, seed=0)
    X = np.array([[1.0, -2.0, 0.5]])
    mc = net.mc_predict(X, n_samples=4000, rng=np.random.default_rng(0), proba=False)
    assert mc.shape == (4000, 1, 4)
    np.testing.assert_allclose(mc.mean(axis=0), net.scores(X), atol=0.1)


@pytest.mark.parametrize("mode", ["inverted", "original"])
def test_ablation_equals_zeroing_outgoing_weights(mode):
    net = MLP([6, 10, 8, 3], activation="tanh", p_drop_hidden=0.5, dropout_mode=mode, seed=0)
    X = np.random.default_rng(0).standard_normal((7, 6))
    units1, units2 = [2, 7], [0, 5, 6]
    zeroed = net.copy()
    zeroed.params["W2"] = zeroed.params["W2"].copy()
    zeroed.params["W2"][units1, :] = 0.0
    zeroed.params["W3"] = zeroed.params["W3"].copy()
    zeroed.params["W3"][units2, :] = 0.0
    ablated = net.scores(X, ablate={1: units1, 2: units2})
    np.testing.assert_allclose(ablated, zeroed.scores(X), rtol=1e-12, atol=1e-14)
    assert not np.allclose(ablated, net.scores(X))
    mask2 = np.zeros(8, bool)
    mask2[units2] = True
    np.testing.assert_array_equal(net.scores(X, ablate={1: units1, 2: mask2}), ablated)
    hidden = net.hidden_activations(X, ablate={1: units1})
    assert np.all(hidden[1][:, units1] == 0)
    assert np.all(hidden[1][:, [0, 1]] != 0)


def test_ablation_validation():
    net = MLP([4, 5, 5, 2], seed=0)
    X = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"hidden layer numbers 1\.\.2"):
        net.scores(X, ablate={0: [1]})
    with pytest.raises(ValueError, match=r"hidden layer numbers 1\.\.2"):
        net.scores(X, ablate={3: [1]})
    with pytest.raises(ValueError, match=r"must lie in 0\.\.4"):
        net.scores(X, ablate={1: [5]})
    with pytest.raises(ValueError, match=r"bool mask must have shape \(5,\)"):
        net.scores(X, ablate={2: np.zeros(4, bool)})
    with pytest.raises(TypeError, match="ablate must be a dict"):
        net.scores(X, ablate=[1, 2])
    with pytest.raises(TypeError, match="unit indices"):
        net.scores(X, ablate={1: [0.5]})
    np.testing.assert_array_equal(net.scores(X, ablate={1: []}), net.scores(X))


def test_hidden_activations_access():
    net = MLP([6, 10, 8, 3], p_drop_hidden=0.5, seed=0)
    X = np.random.default_rng(0).standard_normal((7, 6))
    hidden = net.hidden_activations(X)
    assert sorted(hidden) == [1, 2]
    assert hidden[1].shape == (7, 10) and hidden[2].shape == (7, 8)
    assert np.all(hidden[1] >= 0)
    np.testing.assert_allclose(hidden[1], np.maximum(X @ net.params["W1"] + net.params["b1"], 0))
    _, cache = net.forward(X, train=False)
    np.testing.assert_array_equal(cache.hidden[2], hidden[2])


def test_initialisation_schemes():
    relu = MLP([400, 300, 300, 10], activation="relu", seed=0)
    tanh = MLP([400, 300, 300, 10], activation="tanh", seed=0)
    # He: std sqrt(2 / fan_in); 120k samples give a relative standard error ~0.2 %.
    assert relu.params["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert relu.params["W2"].std() == pytest.approx(np.sqrt(2 / 300), rel=0.02)
    # Glorot uniform: |w| <= sqrt(6 / (fan_in + fan_out)), std = bound / sqrt(3).
    bound = np.sqrt(6 / 700)
    assert np.abs(tanh.params["W1"]).max() <= bound
    assert tanh.params["W1"].std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    for net in (relu, tanh):  # linear output layer: Glorot
        assert np.abs(net.params["W3"]).max() <= np.sqrt(6 / 310)
        assert all(np.all(net.params[f"b{i}"] == 0) for i in (1, 2, 3))
    for k in relu.params:
        assert relu.params[k].dtype == np.float64
    same = MLP([400, 300, 300, 10], activation="relu", seed=0)
    other = MLP([400, 300, 300, 10], activation="relu", seed=1)
    for k in relu.params:
        np.testing.assert_array_equal(relu.params[k], same.params[k])
    assert not np.array_equal(relu.params["W1"], other.params["W1"])
    # p_drop does not change the initial weights (paired comparisons).
    dropped = MLP([400, 300, 300, 10], activation="relu", p_drop_hidden=0.5, seed=0)
    np.testing.assert_array_equal(relu.params["W2"], dropped.params["W2"])


def test_float32_network():
    net = MLP([6, 10, 3], p_drop_hidden=0.5, seed=0, dtype=np.float32)
    X = np.random.default_rng(0).standard_normal((5, 6))
    scores, cache = net.forward(X, train=True, rng=np.random.default_rng(0))
    assert scores.dtype == np.float32
    grads = net.backward(np.ones_like(scores), cache)
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(p_drop_hidden=[0.5, 0.5, 0.5]), ValueError,
     r"p_drop_hidden has 3 entries but the network has 2 hidden layers"),
    (dict(p_drop_hidden=1.0), ValueError, r"p_drop_hidden.*\[0, 1\)"),
    (dict(p_drop_hidden=[0.5, -0.1]), ValueError, r"p_drop_hidden\[1\]"),
    (dict(p_drop_input=1.5), ValueError, "p_drop_input"),
    (dict(p_drop_input="0.5"), TypeError, "p_drop_input"),
    (dict(activation="softplus"), ValueError, "activation must be one of"),
    (dict(activation=["relu"]), ValueError, r"one entry per hidden layer \(2\)"),
    (dict(dropout_mode="gaussian"), ValueError, "dropout_mode must be one of"),
    (dict(init="lecun"), ValueError, "init must be one of"),
    (dict(dtype=np.int32), ValueError, "dtype must be float64 or float32"),
])
def test_bad_configuration(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MLP([4, 5, 5, 2], seed=0, **kwargs)


def test_bad_layer_sizes_and_missing_seed():
    with pytest.raises(ValueError, match="at least an input and an output size"):
        MLP([4], seed=0)
    with pytest.raises(ValueError, match="positive ints"):
        MLP([4, 0, 2], seed=0)
    with pytest.raises(TypeError, match="layer_sizes must be a sequence"):
        MLP(4, seed=0)
    with pytest.raises(TypeError, match="seed .* or rng .* is required"):
        MLP([4, 2])


def test_bad_inputs():
    net = MLP([4, 5, 2], seed=0)
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        net.scores(np.ones(4))
    with pytest.raises(ValueError, match="X must have 4 columns"):
        net.scores(np.ones((3, 5)))
    with pytest.raises(TypeError, match="X must be a floating NumPy array"):
        net.scores(np.ones((3, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="loss must be one of"):
        net.loss_and_grads(np.ones((3, 4)), np.zeros(3, int), train=False, loss="hinge")
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.1"):
        net.loss_and_grads(np.ones((3, 4)), np.array([0, 1, 2]), train=False)


def test_inputs_not_modified():
    net = MLP([6, 10, 10, 3], p_drop_input=0.2, p_drop_hidden=0.5, seed=0)
    X = _readonly(np.random.default_rng(0).standard_normal((7, 6)))
    y = _readonly(np.arange(7) % 3)
    X0, y0 = X.copy(), y.copy()
    params0 = net.get_params()
    scores, cache = net.forward(X, train=True, rng=np.random.default_rng(0),
                                ablate={1: [1, 2]})
    dscores = _readonly(np.random.default_rng(1).standard_normal(scores.shape))
    d0 = dscores.copy()
    net.backward(dscores, cache)
    net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(0), l2=0.1)
    net.loss_and_grads(X, y.astype(np.int32), train=False)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(dscores, d0)
    for k in params0:
        np.testing.assert_array_equal(net.params[k], params0[k])


def test_max_norm_on_network():
    net = MLP([6, 10, 10, 3], seed=0, init=3.0)
    w3 = net.params["W3"].copy()
    net.apply_max_norm(1.5)
    for k in ("W1", "W2"):
        assert np.all(np.linalg.norm(net.params[k], axis=0) <= 1.5 + 1e-12)
    np.testing.assert_array_equal(net.params["W3"], w3)  # output layer untouched
    net.apply_max_norm(1.5, include_output=True)
    assert np.all(np.linalg.norm(net.params["W3"], axis=0) <= 1.5 + 1e-12)


def test_copy_set_params_and_predict():
    net = MLP([6, 10, 3], seed=0)
    twin = net.copy()
    twin.params["W1"] += 1.0
    assert not np.array_equal(twin.params["W1"], net.params["W1"])
    with pytest.raises(ValueError, match="must have shape"):
        net.set_params({**net.get_params(), "W1": np.zeros((2, 2))})
    X = np.random.default_rng(0).standard_normal((5, 6))
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(net.predict(X), proba.argmax(axis=1))
    assert net.n_params == 6 * 10 + 10 + 10 * 3 + 3


def test_zero_hidden_layers_is_softmax_regression():
    net = MLP([4, 3], p_drop_input=0.5, seed=0)
    X = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_allclose(net.scores(X), X @ net.params["W1"] + net.params["b1"])
    _, errors = _check_all_grads(net, X, np.arange(5) % 3, l2=0.1)
    assert max(errors.values()) < 1e-6


# --------------------------------------------------------------------------- forward hooks


def _hook_net():
    return MLP([6, 5, 4, 3], p_drop_input=0.2, p_drop_hidden=[0.5, 0.3], seed=1)


def test_given_masks_reproduce_the_drawn_ones():
    net = _hook_net()
    X = np.random.default_rng(0).standard_normal((7, 6))
    scores, cache = net.forward(X, train=True, rng=np.random.default_rng(3))
    drawn = {layer: c.mask for kind, layer, c in cache.steps if kind == "dropout"}
    assert sorted(drawn) == [0, 1, 2]
    again, _ = net.forward(X, train=True, masks=drawn)  # no rng needed
    assert np.array_equal(scores, again)
    # a mask for some layers only: the others are drawn, so rng is required
    with pytest.raises(TypeError, match="rng"):
        net.forward(X, train=True, masks={0: drawn[0]})


def test_masks_hook_refuses_eval_mode_and_layers_without_dropout():
    net = MLP([6, 5, 3], p_drop_hidden=0.5, seed=1)
    X = np.ones((2, 6))
    with pytest.raises(ValueError, match="train=True"):
        net.forward(X, train=False, masks={1: np.ones((2, 5), bool)})
    with pytest.raises(ValueError, match="no dropout"):
        net.forward(X, train=True, masks={0: np.ones((2, 6), bool)})
    with pytest.raises(ValueError, match="mask must have the same shape"):
        net.forward(X, train=True, masks={1: np.ones((3, 5), bool)})


def test_from_layer_matches_ablation_from_the_inputs():
    net = _hook_net()
    X = np.random.default_rng(1).standard_normal((9, 6))
    a = net.hidden_activations(X)[1].copy()
    a[:, [0, 3]] = 0
    from_hidden, _ = net.forward(a, train=False, from_layer=1)
    ablated = net.scores(X, ablate={1: [0, 3]})
    assert np.array_equal(from_hidden, ablated)
    with pytest.raises(ValueError, match="shape \\(N, 5\\)"):
        net.forward(X, train=False, from_layer=1)
    with pytest.raises(ValueError, match="from_layer must be an int in 0..2"):
        net.forward(a, train=False, from_layer=3)
    with pytest.raises(ValueError, match="above from_layer=1"):
        net.forward(a, train=False, from_layer=1, ablate={1: [0]})


# --------------------------------------------------------------------------- checks at the boundary


def test_mc_predict_equals_a_loop_of_public_forward_passes():
    net = _hook_net()
    X = np.random.default_rng(2).standard_normal((5, 6))
    rng = np.random.default_rng(9)
    want = np.stack([net.forward(X, train=True, rng=rng)[0] for _ in range(6)])
    got = net.mc_predict(X, n_samples=6, rng=np.random.default_rng(9), proba=False)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="n_samples must be an int >= 1"):
        net.mc_predict(X, n_samples=0, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        net.mc_predict(X, n_samples=2, rng=None)


def test_init_params_is_the_networks_initialisation():
    from dropout_lib.net import init_params

    for init in ("auto", "he", "glorot", 0.3):
        net = MLP([5, 7, 6, 3], activation=["relu", "tanh"], init=init, seed=4)
        params = init_params([5, 7, 6, 3], ["relu", "tanh"], init, np.random.default_rng(4))
        assert params.keys() == net.params.keys()
        for k in params:
            np.testing.assert_array_equal(params[k], net.params[k])
    with pytest.raises(ValueError, match="one entry per hidden layer"):
        init_params([5, 7, 3], [], "auto", np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init_params([5, 7, 3], ["relu"], "auto", 0)


def test_forward_checks_parameters_replaced_by_hand():
    net = MLP([4, 5, 3], seed=0)
    X = np.ones((2, 4))
    net.params["W1"] = np.ones((4, 6))
    with pytest.raises(ValueError, match=r"params\['W1'\] must have the same shape .* \(4, 5\)"):
        net.scores(X)
    net.params["W1"] = np.ones((4, 5), dtype=np.int64)
    with pytest.raises(TypeError, match=r"params\['W1'\] must be a NumPy array of floating"):
        net.loss_and_grads(X, np.zeros(2, int), train=False)


def test_backward_checks_dscores_and_cache():
    net = MLP([4, 5, 3], p_drop_hidden=0.5, seed=0)
    _, cache = net.forward(np.ones((2, 4)), train=True, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"dscores must have the same shape .* \(2, 3\)"):
        net.backward(np.ones((3, 3)), cache)
    with pytest.raises(TypeError, match="dscores must be a NumPy array of floating"):
        net.backward(np.ones((2, 3), dtype=int), cache)
    with pytest.raises(TypeError, match="cache must be the ForwardCache"):
        net.backward(np.ones((2, 3)), None)


def test_rng_and_masks_are_checked_where_the_layers_checked_them():
    net = MLP([4, 5, 3], p_drop_hidden=0.5, seed=0)
    X = np.ones((2, 4))
    # evaluation draws nothing, but a given rng must still be a Generator
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        net.forward(X, train=False, rng=np.random.RandomState(0))
    MLP([4, 3], seed=0).forward(X, train=False, rng="unused: no layer has dropout")
    with pytest.raises(TypeError, match="mask must be a NumPy bool array"):
        net.forward(X, train=True, masks={1: np.ones((2, 5))})
    ones = np.ones((2, 5), bool)
    np.testing.assert_array_equal(net.forward(X, train=True, masks={1: ones})[0],
                                  net.forward(X, train=True, masks={1: ones.copy()})[0])


# --- Gaussian dropout noise in the network (chapter 5) ----------------------------------

def test_gaussian_noise_network_gradient_matches_numeric():
    X = np.random.default_rng(0).normal(size=(5, 4))
    y = np.array([0, 1, 2, 1, 0])
    net = MLP([4, 6, 3], p_drop_input=0.2, p_drop_hidden=0.5, noise="gaussian", seed=1)

    def loss(params):
        other = net.copy()
        other.set_params(params)
        return other.loss_and_grads(X, y, train=True, rng=np.random.default_rng(7))[0]

    _, grads = net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(7))
    params = net.get_params()
    for key in ("W1", "b2"):
        num = np.zeros_like(params[key])
        for idx in np.ndindex(params[key].shape):
            for sign in (1, -1):
                p = {k: v.copy() for k, v in params.items()}
                p[key][idx] += sign * 1e-6
                num[idx] += sign * loss(p) / 2e-6
        assert rel_error(grads[key], num) < 1e-6


def test_gaussian_noise_is_identity_at_evaluation_and_random_in_training():
    X = np.random.default_rng(0).normal(size=(8, 4))
    g = MLP([4, 16, 3], p_drop_hidden=0.5, noise="gaussian", seed=1)
    b = MLP([4, 16, 3], p_drop_hidden=0.5, seed=1)
    np.testing.assert_array_equal(g.scores(X), b.scores(X))
    s1 = g.forward(X, train=True, rng=np.random.default_rng(1))[0]
    s2 = g.forward(X, train=True, rng=np.random.default_rng(2))[0]
    assert not np.allclose(s1, s2)
    s3 = b.forward(X, train=True, rng=np.random.default_rng(1))[0]
    assert not np.allclose(s1, s3)        # not Bernoulli masks in disguise


@pytest.mark.parametrize("kwargs, match", [
    ({"noise": "uniform"}, "noise"),
    ({"noise": "gaussian", "dropout_mode": "original"}, "dropout_mode"),
    ({"noise": "gaussian", "p_drop_input": 1.0}, "p_drop_input"),
])
def test_bad_noise_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP([4, 6, 3], p_drop_hidden=0.5, seed=0, **kwargs)


def test_gaussian_network_refuses_bernoulli_masks():
    net = MLP([4, 6, 3], p_drop_hidden=0.5, noise="gaussian", seed=0)
    with pytest.raises(ValueError, match="Bernoulli"):
        net.forward(np.zeros((2, 4)), train=True, masks={1: np.ones((2, 6), bool)})


def test_repr_names_the_noise_only_when_gaussian():
    assert "noise" not in repr(MLP([4, 6, 3], seed=0))
    assert "noise='gaussian'" in repr(MLP([4, 6, 3], noise="gaussian", seed=0))
