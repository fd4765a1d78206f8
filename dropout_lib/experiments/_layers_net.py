"""A tiny network as a list of layer pairs, for chapter 5's BN and conv studies.

A network is a list of layer tuples built by the helpers below, e.g.
``[affine("1", 64, 128), relu(), dropout(0.5), affine("2", 128, 10)]``. Its
parameters live in one dict (``"W1"``, ``"b1"``, ``"gamma2"``, ...) and the
running statistics of each batch-norm layer in another (``states["2"]``).
Each layer is a forward/backward pair of :mod:`dropout_lib.layers`,
:mod:`dropout_lib.norm` or :mod:`dropout_lib.conv`. :func:`fit` trains with
Adam on softmax cross-entropy in minibatches; seed ``s`` spawns the initial
weights, the dropout masks and the batch order
(:func:`~dropout_lib.experiments.core.streams`), so two networks with the
same parameter shapes and seed start alike and see the same batches.

See Also
--------
book/05_noise_and_modern.ipynb : batch normalisation and convolutions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..conv import avg_pool2x2_backward, avg_pool2x2_forward, conv2d_backward, conv2d_forward
from ..layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
)
from ..losses import softmax_cross_entropy
from ..norm import BatchNormState, batchnorm_backward, batchnorm_forward, batchnorm_state
from ..optim import Adam
from .core import streams
from .stats import paired_ci, t_interval

Layer = tuple
Params = dict[str, np.ndarray]
States = dict[str, BatchNormState]


def affine(name: str, n_in: int, n_out: int) -> Layer:
    """``x @ W{name} + b{name}``, ``W`` of shape ``(n_in, n_out)``."""
    return ("affine", name, (n_in, n_out))


def conv(name: str, c_in: int, c_out: int, k: int = 3) -> Layer:
    """A 'same' k x k convolution, ``W{name}`` of shape ``(c_out, c_in, k, k)``."""
    return ("conv", name, (c_out, c_in, k, k))


def batchnorm(name: str, d: int) -> Layer:
    """Batch normalisation of ``d`` features (``gamma{name}``, ``beta{name}``)."""
    return ("batchnorm", name, d)


def relu() -> Layer:
    return ("relu",)


def dropout(p_drop: float, shared_axes: tuple[int, ...] = ()) -> Layer:
    """Inverted dropout; ``shared_axes=(2, 3)`` on NCHW maps drops channels."""
    return ("dropout", float(p_drop), tuple(shared_axes))


def avg_pool() -> Layer:
    return ("avg_pool",)


def flatten() -> Layer:
    return ("flatten",)


def init(layers: list[Layer], rng: np.random.Generator) -> tuple[Params, States]:
    """He-normal weights, zero biases, ``gamma = 1``, ``beta = 0``, fresh BN states."""
    params: Params = {}
    states: States = {}
    for kind, *args in layers:
        if kind in ("affine", "conv"):
            name, shape = args
            fan_in = shape[0] if kind == "affine" else int(np.prod(shape[1:]))
            params["W" + name] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
            params["b" + name] = np.zeros(shape[1] if kind == "affine" else shape[0])
        elif kind == "batchnorm":
            name, d = args
            params["gamma" + name], params["beta" + name] = np.ones(d), np.zeros(d)
            states[name] = batchnorm_state(d)
    return params, states


def forward(layers: list[Layer], params: Params, states: States, x: np.ndarray,
            *, train: bool, rng: np.random.Generator | None = None
            ) -> tuple[np.ndarray, list[Any], States, list[np.ndarray]]:
    """Run the layers in order.

    Returns
    -------
    out : numpy.ndarray
    caches : list, one per layer, for :func:`backward`
    new_states : dict
        The batch-norm states after this pass (new ones in training).
    inputs : list of numpy.ndarray
        The input of every layer.
    """
    caches, inputs, new_states = [], [], dict(states)
    for kind, *args in layers:
        inputs.append(x)
        if kind == "affine":
            x, c = affine_forward(x, params["W" + args[0]], params["b" + args[0]])
        elif kind == "conv":
            x, c = conv2d_forward(x, params["W" + args[0]], params["b" + args[0]])
        elif kind == "batchnorm":
            n = args[0]
            x, c, new_states[n] = batchnorm_forward(
                x, params["gamma" + n], params["beta" + n], states[n], train=train)
        elif kind == "relu":
            x, c = relu_forward(x)
        elif kind == "dropout":
            x, c = dropout_forward(x, args[0], train=train, rng=rng,
                                   shared_axes=args[1])
        elif kind == "avg_pool":
            x, c = avg_pool2x2_forward(x)
        else:  # flatten
            x, c = x.reshape(x.shape[0], -1), x.shape
        caches.append(c)
    return x, caches, new_states, inputs


def backward(layers: list[Layer], caches: list[Any], dout: np.ndarray) -> Params:
    """The gradient of every parameter, from the gradient of the output."""
    grads: Params = {}
    for (kind, *args), c in zip(reversed(layers), reversed(caches)):
        if kind == "affine":
            dout, grads["W" + args[0]], grads["b" + args[0]] = affine_backward(dout, c)
        elif kind == "conv":
            dout, grads["W" + args[0]], grads["b" + args[0]] = conv2d_backward(dout, c)
        elif kind == "batchnorm":
            dout, grads["gamma" + args[0]], grads["beta" + args[0]] = (
                batchnorm_backward(dout, c))
        elif kind == "relu":
            dout = relu_backward(dout, c)
        elif kind == "dropout":
            dout = dropout_backward(dout, c)
        elif kind == "avg_pool":
            dout = avg_pool2x2_backward(dout, c)
        else:  # flatten
            dout = dout.reshape(c)
    return grads


def fit(layers: list[Layer], X: np.ndarray, y: np.ndarray, *, epochs: int,
        lr: float, seed: int, batch_size: int = 64) -> tuple[Params, States]:
    """Train a new network of ``layers`` with Adam; return its parameters and BN states.

    A last minibatch of one example is skipped (batch norm needs two).
    """
    init_ss, drop_ss, order_ss = streams(seed)
    params, states = init(layers, np.random.default_rng(init_ss))
    drop_rng, order_rng = np.random.default_rng(drop_ss), np.random.default_rng(order_ss)
    opt = Adam(lr)
    n = X.shape[0]
    for _ in range(epochs):
        order = order_rng.permutation(n)
        for start in range(0, n - 1, batch_size):
            idx = order[start:start + batch_size]
            scores, caches, states, _ = forward(layers, params, states, X[idx],
                                                train=True, rng=drop_rng)
            opt.step(params, backward(layers, caches,
                                      softmax_cross_entropy(scores, y[idx])[1]))
    return params, states


def evaluate(layers: list[Layer], params: Params, states: States,
             X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Mean NLL (``"loss"``) and accuracy (``"acc"``) in evaluation mode."""
    scores = forward(layers, params, states, X, train=False)[0]
    return {"loss": softmax_cross_entropy(scores, y)[0],
            "acc": float(np.mean(scores.argmax(axis=1) == y))}


def reestimate_bn(layers: list[Layer], params: Params, states: States,
                  X: np.ndarray) -> States:
    """New BN states: each layer's input mean and unbiased variance over ``X``.

    The network runs in evaluation mode (no dropout); layers are re-estimated
    in order, each with the ones below it already re-estimated.
    """
    new = dict(states)
    for i, (kind, *args) in enumerate(layers):
        if kind == "batchnorm":
            h = forward(layers[:i], params, new, X, train=False)[0]
            mean, var = h.mean(axis=0), h.var(axis=0, ddof=1)
            mean.setflags(write=False)
            var.setflags(write=False)
            new[args[0]] = BatchNormState(mean, var)
    return new


def _r6(x: float) -> float:
    """Rounded to 6 decimals, without a negative zero."""
    return round(x, 6) + 0.0


def interval_record(values: Any) -> dict[str, Any]:
    """JSON-ready Student-t 95% interval of the mean of ``values``."""
    iv = t_interval(values)
    return {"mean": _r6(iv.mean), "low": _r6(iv.low), "high": _r6(iv.high), "n": iv.n}


def paired_record(a: list[float], b: list[float]) -> dict[str, Any]:
    """JSON-ready ``b - a`` seed by seed, with its paired 95% interval."""
    iv = paired_ci(a, b)
    return {"per_seed": [_r6(y - x) for x, y in zip(a, b)],
            "mean": _r6(iv.mean), "low": _r6(iv.low), "high": _r6(iv.high), "n": iv.n}
