"""A multilayer perceptron with dropout on the inputs and after any hidden layer.

Layers are numbered from 1, like the parameters: hidden layer ``l`` computes
``h_l = act(h_{l-1} @ W{l} + b{l})`` (``h_0`` is the input), and the output
layer is ``scores = h_L @ W{L+1} + b{L+1}``, with no activation and no
dropout. Ablation keys, masks (0 = the inputs) and
:meth:`MLP.hidden_activations` use the same numbers.

The public methods check their arguments once; the work behind them
(:meth:`MLP._forward`, :meth:`MLP._backward`, :meth:`MLP._loss_and_grads`)
calls the unchecked cores of :mod:`dropout_lib.layers`, so a training loop
that checked its data once pays for no checks per minibatch.

See Also
--------
book/02_inverted_dropout.ipynb : inverted versus original dropout in a full network.
book/03_co_adaptation.ipynb : unit ablation and activation histograms.
book/04_ensembles.ipynb : MC dropout and the weight-scaling rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import layers, noise
from ._checks import (
    as_generator,
    check_bool,
    check_choice,
    check_float_array,
    check_int,
    check_p_drop,
    check_rng,
    check_same_shape,
    check_scalar,
)
from .layers import DROPOUT_MODES
from .losses import l2_penalty, mean_squared_error, softmax, softmax_cross_entropy
from .optim import max_norm

__all__ = ["ACTIVATIONS", "DROPOUT_MODES", "LOSSES", "MLP", "NOISES", "ForwardCache",
           "init_params"]

#: Hidden-layer activations by name: the (forward, backward) cores of :mod:`.layers`.
ACTIVATIONS: dict[str, tuple[Any, Any]] = {
    "relu": (layers._relu_forward, layers._relu_backward),
    "sigmoid": (layers._sigmoid_forward, layers._sigmoid_backward),
    "tanh": (layers._tanh_forward, layers._tanh_backward),
}
_LOSS_FUNCTIONS = {"softmax": softmax_cross_entropy, "mse": mean_squared_error}
LOSSES = tuple(_LOSS_FUNCTIONS)
_INITS = ("auto", "he", "glorot")
#: Kinds of dropout noise: Bernoulli masks, or Gaussian noise with the same two moments.
NOISES = ("bernoulli", "gaussian")

Ablation = Mapping[int, Any]


# --------------------------------------------------------------------------- initialisation


def init_params(layer_sizes: Sequence[int], activations: Sequence[str], init: str | float,
                rng: np.random.Generator, dtype: Any = np.float64) -> dict[str, np.ndarray]:
    r"""Initial weights (one draw per layer, in order) and zero biases of an MLP.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[D, H_1, ..., H_L, K]``.
    activations : sequence of str
        The L hidden activations, each "relu", "sigmoid" or "tanh".
    init : {"auto", "he", "glorot"} or float
        ``"auto"``: He for ReLU layers, Glorot for sigmoid/tanh layers; the
        linear output layer always uses Glorot. A float :math:`\sigma` gives
        :math:`N(0, \sigma^2)` weights in every layer (CS231n's ``weight_scale``).
    rng : numpy.random.Generator
    dtype : numpy.float64 or numpy.float32

    Returns
    -------
    dict of str to ndarray
        ``W{l}`` of shape ``(layer_sizes[l-1], layer_sizes[l])`` and ``b{l}``
        of shape ``(layer_sizes[l],)``, for l = 1..L+1.

    Notes
    -----
    He: :math:`W \sim N(0, 2/\text{fan\_in})`, which keeps the variance of
    ReLU pre-activations constant across layers. Glorot: :math:`W \sim U(-a, a)`,
    :math:`a = \sqrt{6/(\text{fan\_in}+\text{fan\_out})}`.
    """
    sizes = _check_layer_sizes(layer_sizes)
    acts = _check_activations(list(activations), len(sizes) - 2)
    return _init_params(sizes, acts, _check_init(init), check_rng(rng), _check_dtype(dtype))


def _init_params(layer_sizes: tuple[int, ...], activations: tuple[str, ...],
                 init: str | float, rng: np.random.Generator,
                 dtype: np.dtype) -> dict[str, np.ndarray]:
    """:func:`init_params` without checks."""
    params: dict[str, np.ndarray] = {}
    n_layers = len(layer_sizes) - 1
    for i in range(1, n_layers + 1):
        shape = (layer_sizes[i - 1], layer_sizes[i])
        hidden = i < n_layers
        if not isinstance(init, str):
            W = init * rng.standard_normal(shape)
        elif hidden and (init == "he" or (init == "auto" and activations[i - 1] == "relu")):
            W = np.sqrt(2.0 / shape[0]) * rng.standard_normal(shape)
        else:
            a = np.sqrt(6.0 / (shape[0] + shape[1]))
            W = rng.uniform(-a, a, shape)
        params[f"W{i}"] = W.astype(dtype, copy=False)
        params[f"b{i}"] = np.zeros(shape[1], dtype=dtype)
    return params


# --------------------------------------------------------------------------- argument checks


def _check_layer_sizes(layer_sizes: Any) -> tuple[int, ...]:
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError("layer_sizes must be a sequence of ints like [64, 256, 10]; "
                        f"got {type(layer_sizes).__name__}")
    try:
        sizes = tuple(check_int(s, "layer_sizes", low=1) for s in layer_sizes)
    except (TypeError, ValueError):
        raise ValueError(f"layer_sizes must hold positive ints; got {list(layer_sizes)}") from None
    if len(sizes) < 2:
        raise ValueError("layer_sizes needs at least an input and an output size, "
                         f"e.g. [64, 10]; got {list(sizes)}")
    return sizes


def _check_activations(activation: Any, n_hidden: int) -> tuple[str, ...]:
    if isinstance(activation, str):
        acts = [activation] * n_hidden
    elif isinstance(activation, Sequence):
        acts = list(activation)
        if len(acts) != n_hidden:
            raise ValueError(f"activation list must have one entry per hidden layer "
                             f"({n_hidden}); got {len(acts)}")
    else:
        raise TypeError(f"activation must be a str or a sequence of str; "
                        f"got {type(activation).__name__}")
    return tuple(check_choice(a, "activation", ACTIVATIONS) for a in acts)


def _check_p(p: Any, name: str) -> float:
    p = check_p_drop(p, name)
    if p >= 1.0:
        raise ValueError(f"{name} must be in [0, 1) for a network (1 drops every unit); got {p}")
    return p


def _check_p_hidden(p_drop_hidden: Any, n_hidden: int) -> tuple[float, ...]:
    if isinstance(p_drop_hidden, np.ndarray):
        raise TypeError("p_drop_hidden must be a float or a list of floats, not an array")
    if isinstance(p_drop_hidden, Sequence) and not isinstance(p_drop_hidden, str):
        ps = list(p_drop_hidden)
        if len(ps) != n_hidden:
            raise ValueError(f"p_drop_hidden has {len(ps)} entries but the network has "
                             f"{n_hidden} hidden layers; give one per hidden layer or a scalar")
    else:
        ps = [_check_p(p_drop_hidden, "p_drop_hidden")] * n_hidden
    return tuple(_check_p(p, f"p_drop_hidden[{i}]") for i, p in enumerate(ps))


def _check_dtype(dtype: Any) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float64 or float32; got {dtype}")
    return dtype


def _check_init(init: Any) -> str | float:
    if isinstance(init, str):
        return check_choice(init, "init", _INITS)
    try:
        return check_scalar(init, "init", low=0.0, low_open=True)
    except (TypeError, ValueError):
        raise ValueError(f"init must be 'auto', 'he', 'glorot' or a positive float; "
                         f"got {init!r}") from None


def _keep_vectors(ablate: Ablation | None, layer_sizes: Sequence[int],
                  dtype: Any) -> dict[int, np.ndarray]:
    """``ablate`` (see :meth:`MLP.forward`) as ``{layer: (H_l,) vector}``, 0 for an ablated unit."""
    if ablate is None:
        return {}
    if not isinstance(ablate, Mapping):
        raise TypeError("ablate must be a dict {hidden_layer: unit indices or bool mask}; "
                        f"got {type(ablate).__name__}")
    n_hidden = len(layer_sizes) - 2
    keep: dict[int, np.ndarray] = {}
    for layer, units in ablate.items():
        try:
            number = check_int(layer, "ablate key", low=1, high=n_hidden)
        except (TypeError, ValueError):
            raise ValueError(f"ablate keys must be hidden layer numbers 1..{n_hidden}; "
                             f"got {layer!r}") from None
        keep[number] = _keep_vector(units, layer_sizes[number], number, dtype)
    return keep


def _keep_vector(units: Any, H: int, layer: int, dtype: Any) -> np.ndarray:
    u = np.asarray(units)
    if u.dtype == bool:
        if u.shape != (H,):
            raise ValueError(f"ablate[{layer}] bool mask must have shape ({H},); got {u.shape}")
    else:
        if u.size and not np.issubdtype(u.dtype, np.integer):
            raise TypeError(f"ablate[{layer}] must be unit indices (ints) or a bool mask; "
                            f"got dtype {u.dtype}")
        u = u.astype(np.int64).ravel()
        if u.size and (u.min() < 0 or u.max() >= H):
            raise ValueError(f"ablate[{layer}] unit indices must lie in 0..{H - 1}; "
                             f"got range {u.min()}..{u.max()}")
    vec = np.ones(H, dtype=dtype)
    vec[u] = 0.0
    return vec


# --------------------------------------------------------------------------- the network


@dataclass
class ForwardCache:
    """Everything :meth:`MLP.backward` needs, plus the hidden activations.

    Attributes
    ----------
    steps : list of tuple
        ``(kind, layer, cache)`` for each operation in forward order; kinds are
        ``"dropout"``, ``"affine"``, ``"act"`` and ``"ablate"``.
    hidden : dict of int to ndarray, shape (N, H_l)
        Hidden layer ``l``'s activations after the nonlinearity and ablation,
        *before* its dropout.
    pre_activations : dict of int to ndarray, shape (N, H_l)
        Hidden layer ``l``'s affine outputs, before the nonlinearity.
    train : bool
        The mode of the forward pass.
    """

    steps: list[tuple[str, int, Any]] = field(default_factory=list)
    hidden: dict[int, np.ndarray] = field(default_factory=dict)
    pre_activations: dict[int, np.ndarray] = field(default_factory=dict)
    train: bool = False



def replaced_params(current: Mapping[str, np.ndarray],
                    params: Mapping[str, Any], dtype: Any) -> dict[str, np.ndarray]:
    """Copies of ``params`` as ``dtype``, checked to have ``current``'s keys and shapes.

    The one check behind every network's ``set_params``.
    """
    if set(params) != set(current):
        raise ValueError(f"params must have the keys {sorted(current)}; "
                         f"got {sorted(params)}")
    new = {}
    for k, v in params.items():
        v = np.asarray(v)
        if v.shape != current[k].shape:
            raise ValueError(f"params[{k!r}] must have shape {current[k].shape}; "
                             f"got {v.shape}")
        new[k] = v.astype(dtype, copy=True)
    return new

class MLP:
    r"""Fully connected network with optional dropout on the inputs and hidden layers.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[D, H_1, ..., H_L, K]``: input size, hidden sizes (any number, also
        none) and output size, e.g. ``[64, 256, 256, 10]``.
    activation : {"relu", "sigmoid", "tanh"} or sequence of them, default "relu"
        One activation for all hidden layers, or one per hidden layer.
    p_drop_input : float, default 0.0
        Drop probability of the input units, in [0, 1).
    p_drop_hidden : float or sequence of float, default 0.0
        Drop probability after each hidden layer: a scalar, or one per hidden
        layer. The output layer is never dropped.
    dropout_mode : {"inverted", "original"}, default "inverted"
        ``"inverted"`` scales kept units by :math:`1/(1-p)` in training;
        ``"original"`` (Srivastava et al. 2014) scales every unit by the keep
        probability :math:`1-p` at test time. Both keep the expected activation.
    noise : {"bernoulli", "gaussian"}, default "bernoulli"
        ``"gaussian"`` multiplies by :math:`N(1, p/(1-p))` noise instead of a
        scaled mask (same mean and variance; inverted mode only).
    init : {"auto", "he", "glorot"} or float, default "auto"
        Weight initialisation, see :func:`init_params`.
    seed : int or SeedSequence, optional
        Seed of the initialisation; or pass ``rng``. Exactly one is required.
    rng : numpy.random.Generator, optional
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        Dtype of the parameters and computations; inputs are converted to it.

    Attributes
    ----------
    params : dict of str to ndarray
        ``"W{l}"`` of shape ``(layer_sizes[l-1], layer_sizes[l])`` and
        ``"b{l}"``, l = 1..L+1; optimizers update them in place.
    n_hidden : int
        Number of hidden layers L.

    See Also
    --------
    book/02_inverted_dropout.ipynb, book/03_co_adaptation.ipynb, book/04_ensembles.ipynb

    Examples
    --------
    >>> net = MLP([64, 256, 256, 10], p_drop_input=0.2, p_drop_hidden=0.5, seed=0)
    >>> scores, cache = net.forward(np.zeros((3, 64)), train=True, rng=np.random.default_rng(1))
    >>> scores.shape
    (3, 10)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        activation: str | Sequence[str] = "relu",
        p_drop_input: float = 0.0,
        p_drop_hidden: float | Sequence[float] = 0.0,
        dropout_mode: str = "inverted",
        noise: str = "bernoulli",
        init: str | float = "auto",
        seed: int | np.random.SeedSequence | None = None,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        self.layer_sizes: tuple[int, ...] = _check_layer_sizes(layer_sizes)
        self.n_hidden: int = len(self.layer_sizes) - 2
        self.activations: tuple[str, ...] = _check_activations(activation, self.n_hidden)
        self.p_drop_input: float = _check_p(p_drop_input, "p_drop_input")
        self.p_drop_hidden: tuple[float, ...] = _check_p_hidden(p_drop_hidden, self.n_hidden)
        self.dropout_mode: str = check_choice(dropout_mode, "dropout_mode", DROPOUT_MODES)
        self.noise: str = check_choice(noise, "noise", NOISES)
        if self.noise == "gaussian" and self.dropout_mode != "inverted":
            raise ValueError("noise='gaussian' has mean 1, so it needs no test-time "
                             "scaling: use dropout_mode='inverted'")
        self.dtype: np.dtype = _check_dtype(dtype)
        self.init: str | float = _check_init(init)
        self.params: dict[str, np.ndarray] = _init_params(
            self.layer_sizes, self.activations, self.init, as_generator(seed, rng), self.dtype)

    # ------------------------------------------------------------------ helpers

    @property
    def n_inputs(self) -> int:
        """Input size D."""
        return self.layer_sizes[0]

    @property
    def n_outputs(self) -> int:
        """Output size K."""
        return self.layer_sizes[-1]

    @property
    def n_params(self) -> int:
        """Total number of parameters."""
        return int(sum(p.size for p in self.params.values()))

    @property
    def uses_dropout(self) -> bool:
        """True if any drop probability is > 0."""
        return self.p_drop_input > 0 or any(p > 0 for p in self.p_drop_hidden)

    def __repr__(self) -> str:
        return (f"MLP({list(self.layer_sizes)}, activation={list(self.activations)}, "
                f"p_drop_input={self.p_drop_input}, p_drop_hidden={list(self.p_drop_hidden)}, "
                f"dropout_mode={self.dropout_mode!r}, "
                + (f"noise={self.noise!r}, " if self.noise != "bernoulli" else "")
                + f"dtype={self.dtype.name})")

    def get_params(self) -> dict[str, np.ndarray]:
        """A deep copy of the parameters."""
        return {k: v.copy() for k, v in self.params.items()}

    def set_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Replace the parameters by copies of ``params`` (same keys and shapes)."""
        self.params = replaced_params(self.params, params, self.dtype)

    def copy(self) -> MLP:
        """An independent copy of the network (parameters copied)."""
        other = object.__new__(MLP)
        other.__dict__.update(self.__dict__)
        other.params = self.get_params()
        return other

    def check_X(self, X: Any, name: str = "X") -> np.ndarray:
        """Validate an input batch and return it in the network's dtype.

        Raises
        ------
        TypeError
            If ``X`` is not a floating NumPy array.
        ValueError
            If ``X`` is not 2-D with ``D`` columns.
        """
        if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.floating):
            got = f"array of dtype {X.dtype}" if isinstance(X, np.ndarray) else type(X).__name__
            raise TypeError(f"{name} must be a floating NumPy array of shape (N, "
                            f"{self.n_inputs}); got {got}")
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D of shape (N, {self.n_inputs}); "
                             f"got ndim={X.ndim} (shape {X.shape})")
        if X.shape[1] != self.n_inputs:
            raise ValueError(f"{name} must have {self.n_inputs} columns (the input size); "
                             f"got shape {X.shape}")
        return X if X.dtype == self.dtype else X.astype(self.dtype)

    def _p_drop(self, layer: int) -> float:
        """Drop probability after layer ``layer`` (0 = the inputs)."""
        return self.p_drop_input if layer == 0 else self.p_drop_hidden[layer - 1]

    # ------------------------------------------------------------------ checks of a pass

    def _check_pass(self, X: Any, train: Any, rng: Any, ablate: Any, masks: Any = None,
                    from_layer: Any = 0) -> tuple:
        """Check the arguments of :meth:`forward`; return those of :meth:`_forward`."""
        train = check_bool(train, "train", "True for training with dropout, False for evaluation")
        start = self._check_start(X, from_layer)
        X = self.check_X(X) if start == 0 else X.astype(self.dtype, copy=False)
        keep = _keep_vectors(ablate, self.layer_sizes, self.dtype)
        if any(layer <= start for layer in keep):
            raise ValueError(f"ablate can only name layers above from_layer={start}")
        masks = self._check_masks(masks, train, rng, X.shape[0], start)
        self._check_params()
        return X, train, rng, keep, masks, start

    def _check_start(self, X: Any, from_layer: Any) -> int:
        """Validate ``from_layer`` and the shape of ``X`` for it."""
        start = check_int(from_layer, "from_layer", low=0, high=self.n_hidden)
        H = self.layer_sizes[start]
        if start and (not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[1] != H):
            raise ValueError(f"with from_layer={start}, X must be layer "
                             f"{start}'s activations of shape (N, {H})")
        return start

    def _check_masks(self, masks: Any, train: bool, rng: Any, n: int,
                     start: int) -> dict[int, np.ndarray]:
        """Validate given keep-masks (N rows); require ``rng`` where a mask must be drawn."""
        masks = dict(masks or {})
        if masks and self.noise != "bernoulli":
            raise ValueError("masks are Bernoulli keep-masks; this network has "
                             f"noise={self.noise!r}")
        if masks and not train:
            raise ValueError("masks are training-mode keep-masks; pass train=True")
        for layer, mask in masks.items():
            if layer not in range(self.n_hidden + 1) or self._p_drop(layer) == 0:
                raise ValueError(f"masks has layer {layer!r}, which has no dropout")
            if layer >= start:
                layers._check_mask(mask, True, (n, self.layer_sizes[layer]))
        drawn = [l for l in range(self.n_hidden + 1) if self._p_drop(l) > 0 and l not in masks]
        if train and drawn and rng is None:
            raise TypeError("rng (a numpy.random.Generator) is required when train=True "
                            "and the network has p_drop > 0; pass rng=np.random."
                            "default_rng(seed)")
        if rng is not None and any(train or layer >= start for layer in drawn):
            check_rng(rng)  # as dropout_forward did in each dropout layer without a mask
        return masks

    def _check_params(self) -> None:
        """Every parameter is still a float array of its layer's shape."""
        for i in range(1, self.n_hidden + 2):
            fan_in, fan_out = self.layer_sizes[i - 1], self.layer_sizes[i]
            for key, shape in ((f"W{i}", (fan_in, fan_out)), (f"b{i}", (fan_out,))):
                name = f"params[{key!r}]"
                check_same_shape(check_float_array(self.params[key], name), shape, name,
                                 f"layer {i}'s {'weights' if key[0] == 'W' else 'biases'}")

    # ------------------------------------------------------------------ forward/backward

    def forward(
        self,
        X: np.ndarray,
        *,
        train: bool,
        rng: np.random.Generator | None = None,
        ablate: Ablation | None = None,
        masks: Mapping[int, np.ndarray] | None = None,
        from_layer: int = 0,
    ) -> tuple[np.ndarray, ForwardCache]:
        """Compute class scores (or regression outputs): the one forward pass.

        Parameters
        ----------
        X : ndarray of float, shape (N, D)
            Inputs; with ``from_layer = l > 0``, layer ``l``'s activations.
        train : bool
            ``True``: masks are drawn from ``rng`` (required); ``False``: none.
        ablate : dict of int to array_like, optional
            Units to switch off, ``{layer: indices or bool mask}`` (layers
            numbered from 1); an ablated unit outputs exactly 0.
        masks : dict of int to bool ndarray, optional
            Keep-masks ``{layer: (N, H_l)}`` (0 = inputs) to use instead of
            drawn ones, with ``train=True``: subnetworks are evaluated so.
        from_layer : int, optional
            Start above hidden layer ``from_layer`` (knock-outs reuse the
            activations below).

        Returns
        -------
        scores : ndarray, shape (N, K)
        cache : ForwardCache
            For :meth:`backward`; ``cache.hidden[l]``: layer ``l``'s activations.

        See Also
        --------
        book/02_inverted_dropout.ipynb, book/04_ensembles.ipynb : masks and subnetworks.
        """
        return self._forward(*self._check_pass(X, train, rng, ablate, masks, from_layer))

    def _forward(self, X: np.ndarray, train: bool, rng: np.random.Generator | None,
                 keep: dict[int, np.ndarray], masks: dict[int, np.ndarray],
                 start: int) -> tuple[np.ndarray, ForwardCache]:
        """:meth:`forward` without checks; ``keep`` from :func:`_keep_vectors`."""
        cache = ForwardCache(train=train)
        h = self._dropout(X, start, train, rng, masks, cache)
        for layer in range(start + 1, self.n_hidden + 1):
            z, c = layers._affine_forward(h, self.params[f"W{layer}"], self.params[f"b{layer}"])
            cache.steps.append(("affine", layer, c))
            a, c = ACTIVATIONS[self.activations[layer - 1]][0](z)
            cache.steps.append(("act", layer, c))
            if layer in keep:
                a = a * keep[layer]
                cache.steps.append(("ablate", layer, keep[layer]))
            cache.pre_activations[layer], cache.hidden[layer] = z, a
            h = self._dropout(a, layer, train, rng, masks, cache)
        L = self.n_hidden + 1
        scores, c = layers._affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        cache.steps.append(("affine", L, c))
        return scores, cache

    def _dropout(self, h, layer, train, rng, masks, cache) -> np.ndarray:
        """Layer ``layer``'s dropout, with a given mask if ``masks`` has one."""
        p = self._p_drop(layer)
        if p == 0:
            return h
        if self.noise == "gaussian":
            h, c = noise._gaussian_dropout_forward(h, p, train, rng, (), None)
            cache.steps.append(("gaussian", layer, c))
            return h
        mask = masks.get(layer)
        h, c = layers._dropout_forward(h, p, train, None if mask is not None else rng,
                                       self.dropout_mode, (), mask)
        cache.steps.append(("dropout", layer, c))
        return h

    def backward(self, dscores: np.ndarray, cache: ForwardCache) -> dict[str, np.ndarray]:
        """Backpropagate ``dscores`` through the pass recorded in ``cache``.

        Parameters
        ----------
        dscores : ndarray, shape (N, K)
            Gradient of the loss with respect to the scores.
        cache : ForwardCache
            From :meth:`forward` (with the same dropout masks and ablation).

        Returns
        -------
        grads : dict of str to ndarray
            Gradient for every parameter, same keys and shapes as :attr:`params`.
        """
        if not isinstance(cache, ForwardCache) or not cache.steps:
            raise TypeError(f"cache must be the ForwardCache returned by forward; "
                            f"got {type(cache).__name__}")
        last = cache.steps[-1][2]
        check_float_array(dscores, "dscores")
        check_same_shape(dscores, (last.x.shape[0], last.W.shape[1]), "dscores",
                         "the scores (N, K)")
        return self._backward(dscores, cache)

    def _backward(self, dscores: np.ndarray, cache: ForwardCache) -> dict[str, np.ndarray]:
        """:meth:`backward` without checks."""
        grads: dict[str, np.ndarray] = {}
        d = dscores
        for kind, layer, c in reversed(cache.steps):
            if kind == "affine":
                d, grads[f"W{layer}"], grads[f"b{layer}"] = layers._affine_backward(d, c)
            elif kind == "act":
                d = ACTIVATIONS[self.activations[layer - 1]][1](d, c)
            elif kind in ("dropout", "gaussian"):
                if layer == 0:
                    break  # the input needs no gradient
                d = (layers._dropout_backward(d, c) if kind == "dropout"
                     else noise._gaussian_dropout_backward(d, c))
            else:  # ablate
                d = d * c
        return grads

    # ------------------------------------------------------------------ conveniences

    def loss_and_grads(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        train: bool,
        rng: np.random.Generator | None = None,
        loss: str = "softmax",
        l2: float = 0.0,
        ablate: Ablation | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        r"""Loss on a batch and the gradient of every parameter.

        Parameters
        ----------
        X : ndarray, shape (N, D)
        y : ndarray
            ``loss="softmax"``: int labels of shape (N,) in ``0..K-1``.
            ``loss="mse"``: float targets of shape (N, K) (or (N,) when K = 1).
        train, rng, ablate
            As for :meth:`forward`.
        loss : {"softmax", "mse"}, default "softmax"
        l2 : float, default 0.0
            L2 weight decay :math:`\frac{\lambda}{2}\sum_l\lVert W_l\rVert^2` on
            the weights (not the biases), included in loss and gradients.

        Returns
        -------
        loss : float
            Data loss plus the L2 penalty.
        grads : dict of str to ndarray

        See Also
        --------
        dropout_lib.losses.softmax_cross_entropy, book/02_inverted_dropout.ipynb
        """
        check_choice(loss, "loss", LOSSES)
        l2 = check_scalar(l2, "l2", low=0.0)
        X, train, rng, keep, _, _ = self._check_pass(X, train, rng, ablate)
        return self._loss_and_grads(X, y, train, rng, loss, l2, keep)

    def _loss_and_grads(self, X: np.ndarray, y: np.ndarray, train: bool,
                        rng: np.random.Generator | None, loss: str, l2: float,
                        keep: dict[int, np.ndarray] | None = None,
                        ) -> tuple[float, dict[str, np.ndarray]]:
        """:meth:`loss_and_grads` without checks of the network's arguments.

        The loss function still checks ``y``; ``l2`` is a float >= 0 and
        ``keep`` comes from :func:`_keep_vectors`.
        """
        scores, cache = self._forward(X, train, rng, keep or {}, {}, 0)
        value, dscores = _LOSS_FUNCTIONS[loss](scores, y)
        grads = self._backward(dscores, cache)
        if l2:
            penalty, pgrads = l2_penalty(self.params, l2)
            value += penalty
            for k, g in pgrads.items():
                grads[k] += g
        return value, grads

    def scores(self, X: np.ndarray, *, ablate: Ablation | None = None) -> np.ndarray:
        """Evaluation-mode outputs (no dropout noise), shape (N, K)."""
        return self.forward(X, train=False, ablate=ablate)[0]

    def predict_proba(self, X: np.ndarray, *, ablate: Ablation | None = None) -> np.ndarray:
        """Evaluation-mode class probabilities (softmax of the scores), shape (N, K)."""
        return softmax(self.scores(X, ablate=ablate))

    def predict(self, X: np.ndarray, *, ablate: Ablation | None = None) -> np.ndarray:
        """Evaluation-mode predicted classes, int64 of shape (N,)."""
        return np.argmax(self.scores(X, ablate=ablate), axis=1).astype(np.int64)

    def hidden_activations(
        self,
        X: np.ndarray,
        *,
        train: bool = False,
        rng: np.random.Generator | None = None,
        ablate: Ablation | None = None,
    ) -> dict[int, np.ndarray]:
        """Hidden activations ``{l: (N, H_l) array}`` for l = 1..L (after ablation, before dropout).

        In training mode the activations of layer ``l >= 2`` depend on the masks
        of the layers below; use it to histogram what the network sees in training.

        See Also
        --------
        book/03_co_adaptation.ipynb : activation histograms and sparsity.
        """
        return self.forward(X, train=train, rng=rng, ablate=ablate)[1].hidden

    def mc_predict(
        self,
        X: np.ndarray,
        *,
        n_samples: int,
        rng: np.random.Generator,
        proba: bool = True,
    ) -> np.ndarray:
        r"""Monte Carlo dropout: ``n_samples`` stochastic forward passes (train mode).

        Parameters
        ----------
        X : ndarray, shape (N, D)
        n_samples : int
            Number of passes T >= 1, each with fresh masks from ``rng``.
        rng : numpy.random.Generator
        proba : bool, default True
            Return softmax probabilities (classification); False returns raw
            outputs (regression).

        Returns
        -------
        ndarray, shape (T, N, K)
            Average over axis 0 for the MC estimate
            :math:`\frac1T\sum_t p(y\mid x, m_t)`; the weight-scaling rule
            (:meth:`predict_proba`) approximates it with one pass.

        See Also
        --------
        book/04_ensembles.ipynb
        """
        n_samples = check_int(n_samples, "n_samples", low=1)
        check_rng(rng)
        X = self._check_pass(X, True, rng, None)[0]
        out = np.empty((n_samples, X.shape[0], self.n_outputs), dtype=self.dtype)
        for t in range(n_samples):
            s = self._forward(X, True, rng, {}, {}, 0)[0]
            out[t] = softmax(s) if proba else s
        return out

    def apply_max_norm(self, c: float, *, include_output: bool = False) -> None:
        """Clip each hidden unit's incoming weight vector to L2 norm ``c`` (in place, own state).

        Parameters
        ----------
        c : float
            Maximum norm, > 0 (Srivastava et al. 2014 used 3 to 4).
        include_output : bool, default False
            Also constrain the output units' incoming weights.

        See Also
        --------
        dropout_lib.optim.max_norm, book/03_co_adaptation.ipynb
        """
        last = self.n_hidden + (1 if include_output else 0)
        for layer in range(1, last + 1):
            key = f"W{layer}"
            self.params[key][...] = max_norm(self.params[key], c)
