"""Tests of dropout_lib.optim: SGD (momentum, Nesterov), Adam and max-norm."""

import numpy as np
import pytest

from dropout_lib.optim import SGD, Adam, make_optimizer, max_norm

A = np.array([1.0, 10.0, 0.3])  # diagonal of a badly conditioned quadratic


def _quadratic(x):
    """f(x) = 0.5 * sum(A x^2), gradient A x, minimum 0 at x = 0."""
    return 0.5 * float(np.sum(A * x * x)), A * x


def _run(opt, steps=200):
    params = {"x": np.array([1.0, -1.0, 2.0])}
    f0 = _quadratic(params["x"])[0]
    values = []
    for _ in range(steps):
        f, g = _quadratic(params["x"])
        values.append(f)
        opt.step(params, {"x": g})
    return f0, _quadratic(params["x"])[0], values


@pytest.mark.parametrize("opt", [
    SGD(0.05), SGD(0.05, momentum=0.9), SGD(0.05, momentum=0.9, nesterov=True),
    Adam(0.05), make_optimizer("adam", lr=0.05), make_optimizer("SGD", lr=0.05, momentum=0.5),
], ids=repr)
def test_optimizers_decrease_a_quadratic(opt):
    f0, f_end, values = _run(opt)
    assert f_end < 1e-3 * f0
    assert values[10] < f0


def test_plain_sgd_step_and_momentum_steps():
    p = {"w": np.array([1.0, 2.0])}
    g1, g2 = np.array([0.5, -1.0]), np.array([0.25, 0.5])
    SGD(0.1).step(p, {"w": g1})
    np.testing.assert_allclose(p["w"], [1.0 - 0.05, 2.0 + 0.1])
    # Classical momentum: v1 = -lr g1, v2 = mu v1 - lr g2, x2 = x0 + v1 + v2.
    p = {"w": np.array([1.0, 2.0])}
    opt = SGD(0.1, momentum=0.9)
    opt.step(p, {"w": g1})
    opt.step(p, {"w": g2})
    v1 = -0.1 * g1
    v2 = 0.9 * v1 - 0.1 * g2
    np.testing.assert_allclose(p["w"], np.array([1.0, 2.0]) + v1 + v2, rtol=1e-14)
    # Nesterov: x += mu v - lr g with the updated v.
    p = {"w": np.array([1.0, 2.0])}
    opt = SGD(0.1, momentum=0.9, nesterov=True)
    opt.step(p, {"w": g1})
    np.testing.assert_allclose(p["w"], np.array([1.0, 2.0]) + 0.9 * v1 - 0.1 * g1, rtol=1e-14)


def test_adam_first_step_is_lr_times_sign():
    # Bias correction makes the first step lr * g / (|g| + eps) = lr * sign(g) up to
    # a relative eps/|g| <= 1e-8 / 1e-3 = 1e-5, whatever the scale of g.
    g = np.array([[3.0, -0.1], [250.0, -0.7]])  # smallest |scale * g| is 1e-3
    for scale in (1.0, 1e-2, 1e3):
        p = {"W": np.zeros((2, 2))}
        Adam(lr=0.01).step(p, {"W": scale * g})
        np.testing.assert_allclose(p["W"], -0.01 * np.sign(g), rtol=1e-5)


def test_grads_are_not_modified_and_params_updated_in_place():
    for opt in (SGD(0.1, momentum=0.9), Adam(0.1)):
        w = np.ones(3)
        params = {"w": w}
        g = np.array([1.0, -2.0, 0.5])
        g.flags.writeable = False
        opt.step(params, {"w": g})
        opt.step(params, {"w": g})
        assert params["w"] is w  # the network's own arrays are updated
        np.testing.assert_array_equal(g, [1.0, -2.0, 0.5])


def test_reset_forgets_state():
    opt = Adam(0.1)
    p = {"w": np.zeros(2)}
    opt.step(p, {"w": np.array([1.0, 1.0])})
    opt.reset()
    assert opt.t == 0 and opt.state == {}


@pytest.mark.parametrize("make, exc, match", [
    (lambda: SGD(0.0), ValueError, r"lr \(learning rate\) must be a finite number in \(0.0"),
    (lambda: SGD(-0.1), ValueError, r"lr \(learning rate\)"),
    (lambda: Adam(lr=float("nan")), ValueError, r"lr \(learning rate\)"),
    (lambda: Adam(lr="0.1"), TypeError, r"lr \(learning rate\) must be a real number"),
    (lambda: SGD(0.1, momentum=1.0), ValueError,
     r"momentum must be a finite number in \[0.0, 1.0\)"),
    (lambda: SGD(0.1, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
    (lambda: Adam(beta1=1.0), ValueError, "beta1"),
    (lambda: Adam(eps=0.0), ValueError, "eps"),
    (lambda: make_optimizer("rmsprop"), ValueError, "optimizer must be one of"),
    (lambda: make_optimizer("adam", lr=1e-3, momentum=0.9), TypeError, "momentum"),
])
def test_bad_hyperparameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_step_checks_keys_and_shapes():
    opt = SGD(0.1)
    with pytest.raises(ValueError, match=r"mismatched keys: \['b'\]"):
        opt.step({"w": np.ones(2), "b": np.ones(1)}, {"w": np.ones(2)})
    with pytest.raises(ValueError, match=r"grads\['w'\] has shape \(3,\)"):
        opt.step({"w": np.ones(2)}, {"w": np.ones(3)})


def test_max_norm_clips_columns():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((20, 8)) * np.array([0.01, 0.1, 1, 2, 3, 5, 10, 0.0])
    W.flags.writeable = False
    W0 = W.copy()
    out = max_norm(W, 3.0)
    norms_before = np.linalg.norm(W0, axis=0)
    norms = np.linalg.norm(out, axis=0)
    assert np.all(norms <= 3.0 * (1 + 1e-12))
    big = norms_before > 3.0
    assert big.any() and (~big).any()
    np.testing.assert_allclose(norms[big], 3.0, rtol=1e-12)
    np.testing.assert_array_equal(out[:, ~big], W0[:, ~big])  # untouched below c
    # direction is kept
    np.testing.assert_allclose(out[:, big] / norms[big], W0[:, big] / norms_before[big])
    np.testing.assert_array_equal(W, W0)
    with pytest.raises(ValueError, match=r"max_norm \(c\) must be a finite number in \(0.0"):
        max_norm(W, 0.0)
