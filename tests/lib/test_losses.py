"""Tests of dropout_lib.losses."""

import numpy as np
import pytest

from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.losses import (
    l2_penalty,
    log_softmax,
    mean_squared_error,
    softmax,
    softmax_cross_entropy,
)


def _readonly(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def test_softmax_cross_entropy_matches_definition():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((6, 4))
    y = np.array([0, 1, 2, 3, 1, 0])
    loss, d = softmax_cross_entropy(s, y)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), y])), rel=1e-12)
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(d, (p - onehot) / 6, rtol=1e-12, atol=1e-15)


def test_uniform_scores_give_log_c():
    for c in (2, 10, 100):
        loss, _ = softmax_cross_entropy(np.zeros((5, c)), np.zeros(5, np.int64))
        assert loss == pytest.approx(np.log(c), rel=1e-14)


def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(1)
    s = rng.standard_normal((5, 3))
    y = np.array([2, 0, 1, 1, 0])
    _, d = softmax_cross_entropy(s, y)
    num = numerical_gradient(lambda v: softmax_cross_entropy(v, y)[0], s)
    assert rel_error(num, d) < 1e-7


def test_softmax_is_stable_for_huge_scores():
    s = np.array([[1e4, 0.0, -1e4], [1000.0, 1000.0, 1000.0], [-800.0, -805.0, -790.0]])
    y = np.array([0, 1, 2])
    loss, d = softmax_cross_entropy(s, y)
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    # Shifting each row by a constant changes nothing.
    shift = np.array([[3.0], [-7.0], [11.0]])
    loss2, d2 = softmax_cross_entropy(s + shift, y)
    assert loss2 == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(d2, d, atol=1e-15)
    # Row 1 is uniform, row 3 prefers class 2 by exp(10) over class 0.
    np.testing.assert_allclose(softmax(s)[1], np.full(3, 1 / 3))
    np.testing.assert_allclose(log_softmax(s)[0, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(softmax(s).sum(axis=1), 1.0)


@pytest.mark.parametrize("y, exc, match", [
    (np.array([0, 1, 3]), ValueError, r"labels must lie in 0\.\.2 for 3 classes"),
    (np.array([0, -1, 2]), ValueError, r"labels must lie in 0\.\.2"),
    (np.array([0.0, 1.0, 2.0]), TypeError, "integer class labels"),
    (np.array([True, False, True]), TypeError, "integer class labels"),
    (np.array([0, 1]), ValueError, "same length"),
    (np.array([[0], [1], [2]]), ValueError, "must be 1-D"),
])
def test_label_validation(y, exc, match):
    with pytest.raises(exc, match=match):
        softmax_cross_entropy(np.zeros((3, 3)), y)


def test_scores_must_be_2d():
    with pytest.raises(ValueError, match="scores must be a 2-D array"):
        softmax_cross_entropy(np.zeros(3), np.array([0, 1, 2]))


def test_mse_value_gradient_and_shapes():
    rng = np.random.default_rng(2)
    pred = rng.standard_normal((6, 2))
    target = rng.standard_normal((6, 2))
    loss, d = mean_squared_error(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2), rel=1e-14)
    num = numerical_gradient(lambda v: mean_squared_error(v, target)[0], pred)
    assert rel_error(num, d) < 1e-7
    # one output: (N,) targets are accepted
    l1, d1 = mean_squared_error(pred[:, :1], target[:, 0])
    l2_, d2 = mean_squared_error(pred[:, :1], target[:, :1])
    assert l1 == l2_ and d1.shape == (6, 1)
    np.testing.assert_array_equal(d1, d2)
    with pytest.raises(ValueError, match="target must have the shape of pred"):
        mean_squared_error(pred, target[:, 0])


def test_l2_penalty_weights_only():
    params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([5.0, 5.0]),
              "W2": np.array([[3.0], [0.5]]), "b2": np.array([1.0])}
    pen, grads = l2_penalty(params, 0.1)
    assert pen == pytest.approx(0.5 * 0.1 * (1 + 4 + 9 + 0.25))
    assert set(grads) == {"W1", "W2"}
    np.testing.assert_allclose(grads["W2"], 0.1 * params["W2"])
    assert l2_penalty(params, 0.0)[0] == 0.0
    with pytest.raises(ValueError, match="l2 must be a finite number >= 0"):
        l2_penalty(params, -1.0)


def test_losses_do_not_modify_inputs():
    s = _readonly(np.random.default_rng(3).standard_normal((4, 3)))
    y = _readonly(np.array([0, 2, 1, 1]))
    t = _readonly(np.ones((4, 3)))
    s0 = s.copy()
    softmax_cross_entropy(s, y)
    mean_squared_error(s, t)
    log_softmax(s)
    l2_penalty({"W1": s}, 0.3)
    np.testing.assert_array_equal(s, s0)
