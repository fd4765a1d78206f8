"""A network as a list of layers, with the library's model contract.

A network is a list of layer tuples built by the helpers below, e.g.
``[affine("1", 64, 128), relu(), dropout(0.5), affine("2", 128, 10)]``.
:class:`LayerNet` holds its parameters in one dict (``"W1"``, ``"b1"``,
``"gamma2"``, ...) and the running statistics of each batch-norm layer in
another (``states["2"]``). Each layer is a forward/backward pair of
:mod:`dropout_lib.layers`, :mod:`dropout_lib.norm` or :mod:`dropout_lib.conv`.

:class:`LayerNet` has the methods :func:`dropout_lib.training.fit` and
:func:`dropout_lib.training.evaluate` use on an :class:`~dropout_lib.net.MLP`
(``loss_and_grads(X, y, *, train, rng, loss, l2) -> (loss, grads)``,
``scores``, ``check_X``, ``get_params``/``set_params``), so the one trainer
trains both kinds of network and the one ``evaluate`` scores them.

See Also
--------
book/05_noise_and_modern.ipynb : batch normalisation and convolutions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._checks import as_generator, check_bool, check_choice, check_scalar
from ..conv import avg_pool2x2_backward, avg_pool2x2_forward, conv2d_backward, conv2d_forward
from ..layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
)
from ..losses import l2_penalty, softmax_cross_entropy
from ..net import replaced_params
from ..norm import BatchNormState, batchnorm_backward, batchnorm_forward, batchnorm_state

__all__ = ["LayerNet", "affine", "avg_pool", "batchnorm", "conv", "dropout",
           "flatten", "relu"]

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


_KINDS = ("affine", "conv", "batchnorm", "relu", "dropout", "avg_pool", "flatten")


def _init(layers: Sequence[Layer], rng: np.random.Generator) -> tuple[Params, States]:
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


class LayerNet:
    """A network of ``layers`` on inputs of ``input_shape``, trained by ``training.fit``.

    Parameters
    ----------
    layers : sequence of layer tuples
        Built with :func:`affine`, :func:`conv`, :func:`batchnorm`,
        :func:`relu`, :func:`dropout`, :func:`avg_pool`, :func:`flatten`;
        the last layer gives the class scores.
    input_shape : tuple of int
        Shape of one example, e.g. ``(64,)`` or ``(1, 8, 8)``. Inputs are
        rows of ``prod(input_shape)`` features, reshaped on the way in, so
        the same ``Splits`` feed an MLP and a convolutional LayerNet.
    n_outputs : int
        Number of classes K.
    seed : int or SeedSequence, optional
        Seed of the initial weights (He normal); or ``rng``. Exactly one.

    Attributes
    ----------
    params : dict of str to ndarray
    states : dict of str to BatchNormState
        Running statistics; a training pass replaces them.
    """

    dtype = np.dtype(np.float64)

    def __init__(self, layers: Sequence[Layer], *, input_shape: Sequence[int],
                 n_outputs: int, seed: Any = None,
                 rng: np.random.Generator | None = None) -> None:
        layers = [tuple(layer) for layer in layers]
        for layer in layers:
            if not layer or layer[0] not in _KINDS:
                raise ValueError(f"layers holds an unknown layer {layer!r}; build "
                                 "layers with affine(), conv(), batchnorm(), ...")
        if not layers:
            raise ValueError("layers must not be empty")
        self.layers = layers
        self.input_shape = tuple(int(s) for s in input_shape)
        self.n_inputs = int(np.prod(self.input_shape))
        self.n_outputs = int(n_outputs)
        if (seed is None) == (rng is None):
            raise TypeError("give exactly one of seed and rng")
        self.params, self.states = _init(layers, as_generator(seed, rng))

    def __repr__(self) -> str:
        kinds = "-".join(layer[0] for layer in self.layers)
        return f"LayerNet({kinds}, input_shape={self.input_shape})"

    @property
    def uses_batchnorm(self) -> bool:
        return bool(self.states)

    # ------------------------------------------------------------------ the contract

    def check_X(self, X: Any, name: str = "X") -> np.ndarray:
        """Rows of ``prod(input_shape)`` floats, as float64."""
        if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.floating):
            raise TypeError(f"{name} must be a floating NumPy array of shape "
                            f"(N, {self.n_inputs})")
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"{name} must have shape (N, {self.n_inputs}); "
                             f"got {X.shape}")
        return X.astype(self.dtype, copy=False)

    def _check_params(self) -> None:
        for k, v in self.params.items():
            if not isinstance(v, np.ndarray) or not np.issubdtype(v.dtype, np.floating):
                raise TypeError(f"params[{k!r}] must be a float array")

    def get_params(self) -> dict[str, Any]:
        """A copy of the network's state: parameters and batch-norm statistics."""
        return {**{k: v.copy() for k, v in self.params.items()},
                "_states": dict(self.states)}

    def set_params(self, params: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`get_params` (same keys and shapes)."""
        params = dict(params)
        states = params.pop("_states", self.states)
        self.params = replaced_params(self.params, params, self.dtype)
        self.states = dict(states)

    def forward(self, X: np.ndarray, *, train: bool,
                rng: np.random.Generator | None = None,
                upto: int | None = None) -> tuple[np.ndarray, list[Any], States]:
        """Run the layers (the first ``upto`` of them) in order.

        Returns
        -------
        out : ndarray
        caches : list, one per layer, for :meth:`backward`
        new_states : dict
            The batch-norm states after this pass (new ones in training); the
            network's own ``states`` are not changed here.
        """
        train = check_bool(train, "train")
        x = self.check_X(X).reshape((-1, *self.input_shape))
        return self._forward(x, train, rng, self.states, upto)

    def _forward(self, x: np.ndarray, train: bool, rng: np.random.Generator | None,
                 states: States, upto: int | None = None
                 ) -> tuple[np.ndarray, list[Any], States]:
        params = self.params
        caches, new_states = [], dict(states)
        for kind, *args in self.layers[:upto]:
            if kind == "affine":
                x, c = affine_forward(x, params["W" + args[0]], params["b" + args[0]])
            elif kind == "conv":
                x, c = conv2d_forward(x, params["W" + args[0]], params["b" + args[0]])
            elif kind == "batchnorm":
                n = args[0]
                if train and x.shape[0] < 2:
                    raise ValueError("a training batch through batch norm needs at "
                                     "least 2 examples; choose another batch_size")
                x, c, new_states[n] = batchnorm_forward(
                    x, params["gamma" + n], params["beta" + n], new_states[n],
                    train=train)
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
        return x, caches, new_states

    def backward(self, dout: np.ndarray, caches: list[Any]) -> Params:
        """The gradient of every parameter, from the gradient of the output."""
        grads: Params = {}
        for (kind, *args), c in zip(reversed(self.layers), reversed(caches)):
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

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, *, train: bool,
                       rng: np.random.Generator | None = None, loss: str = "softmax",
                       l2: float = 0.0) -> tuple[float, Params]:
        """Softmax cross-entropy (plus the L2 penalty on ``W*``) and every gradient.

        A training pass (``train=True``) also moves the batch-norm running
        statistics, as a training step does.
        """
        check_choice(loss, "loss", ("softmax",))
        l2 = check_scalar(l2, "l2", low=0.0)
        train = check_bool(train, "train")
        return self._loss_and_grads(self.check_X(X), y, train, rng, loss, l2)

    def _loss_and_grads(self, X: np.ndarray, y: np.ndarray, train: bool,
                        rng: np.random.Generator | None, loss: str, l2: float
                        ) -> tuple[float, Params]:
        if loss != "softmax":
            raise ValueError(f"a LayerNet is trained with loss='softmax'; got {loss!r}")
        x = X.reshape((-1, *self.input_shape))
        scores, caches, new_states = self._forward(x, train, rng, self.states)
        value, dscores = softmax_cross_entropy(scores, y)
        grads = self.backward(dscores, caches)
        if l2:
            penalty, pgrads = l2_penalty(self.params, l2)
            value += penalty
            for k, g in pgrads.items():
                grads[k] = grads[k] + g
        if train:
            self.states = new_states
        return value, grads

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Evaluation-mode class scores (no dropout, running BN statistics)."""
        return self._scores(self.check_X(X))

    def _scores(self, X: np.ndarray) -> np.ndarray:
        return self._forward(X.reshape((-1, *self.input_shape)), False, None,
                             self.states)[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluation-mode predicted classes, shape (N,)."""
        return np.argmax(self.scores(X), axis=1).astype(np.int64)

    def apply_max_norm(self, c: float) -> None:
        """Clip each hidden unit's (or filter's) incoming weights to norm ``c``."""
        c = check_scalar(c, "c", low=0.0, low_open=True)
        last = max(i for i, layer in enumerate(self.layers)
                   if layer[0] in ("affine", "conv"))
        for i, (kind, *args) in enumerate(self.layers[:last]):
            if kind == "affine":
                W = self.params["W" + args[0]]
                norms = np.sqrt((W**2).sum(axis=0, keepdims=True))
            elif kind == "conv":
                W = self.params["W" + args[0]]
                norms = np.sqrt((W**2).sum(axis=(1, 2, 3), keepdims=True))
            else:
                continue
            W *= np.minimum(1.0, c / np.maximum(norms, 1e-12))

    # ------------------------------------------------------------------ batch norm

    def bn_input(self, X: np.ndarray, name: str) -> np.ndarray:
        """The input of batch-norm layer ``name`` in evaluation mode."""
        i = [layer[:2] for layer in self.layers].index(("batchnorm", name))
        return self.forward(X, train=False, upto=i)[0]

    def reestimate_bn(self, X: np.ndarray) -> States:
        """New BN states: each layer's input mean and unbiased variance over ``X``.

        The network runs in evaluation mode (no dropout); layers are
        re-estimated in order, each with the ones below it re-estimated.
        The network's own ``states`` are not changed: assign the result.
        """
        x = self.check_X(X).reshape((-1, *self.input_shape))
        new = dict(self.states)
        for i, (kind, *args) in enumerate(self.layers):
            if kind == "batchnorm":
                h = self._forward(x, False, None, new, i)[0]
                mean, var = h.mean(axis=0), h.var(axis=0, ddof=1)
                mean.setflags(write=False)
                var.setflags(write=False)
                new[args[0]] = BatchNormState(mean, var)
        return new


# --------------------------------------------------------------------------- study helpers
# Chapter 5's digits studies share these: choose on a split's validation set,
# score each test image, and pair two arms into an evidence record.


def per_example(net: Any, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each test example's NLL and correctness (0/1) in evaluation mode.

    ``net`` is an :class:`~dropout_lib.net.MLP` or a :class:`LayerNet`.
    """
    s = net.scores(X)
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    idx = np.arange(y.shape[0])
    return -logp[idx, y], (np.argmax(s, axis=1) == y).astype(np.float64)


def choose(settings: list[dict[str, Any]], score: Any, seeds: Sequence[int],
           epochs: int, tick: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The setting with the lowest mean validation loss, and its record.

    ``score(setting, seed)`` trains one network on a split's training set and
    returns its validation loss; a diverged (non-finite) one is never chosen.
    The record is :meth:`Tuned.record`'s, with ``"edges"``.
    """
    from .tuning import Tuned

    scores = np.empty((len(settings), len(seeds)))
    for i, setting in enumerate(settings):
        for j, seed in enumerate(seeds):
            scores[i, j] = score(setting, seed)
            if tick is not None:
                tick()
    mean = scores.mean(axis=1)
    best = int(np.argmin(np.where(np.isfinite(mean), mean, np.inf)))
    t = Tuned(settings[best], settings, np.where(np.isfinite(scores), scores, 1e9),
              "val_loss", [int(s) for s in seeds], best, epochs * scores.size)
    return settings[best], t.record()


def pair(name: str, metric: str, better: str, a: str, b: str,
         values: Mapping[str, Any], examples: Mapping[str, Any] | None = None,
         **kw: Any) -> dict[str, Any]:
    """An evidence record of ``metric(b) - metric(a)`` over splits and seeds.

    ``values[arm]`` has shape (n_splits, n_seeds); ``examples[arm]`` (optional)
    per split an array (n_seeds, n_test) of per-example values, whose seed
    average of ``b - a`` is the record's ``per_example``.
    """
    from .evidence import comparison

    effects = np.asarray(values[b], float) - np.asarray(values[a], float)
    per = None
    if examples is not None:
        per = [np.mean(np.asarray(eb, float) - np.asarray(ea, float), axis=0)
               for ea, eb in zip(examples[a], examples[b])]
    return comparison(name, metric, better, effects, per_example=per, a=a, b=b, **kw)
