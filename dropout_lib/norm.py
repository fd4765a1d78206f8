"""Batch normalisation for ``(N, D)`` features, as a forward/backward pair.

``out, cache, new_state = batchnorm_forward(x, gamma, beta, state, train=...)``
normalises with the minibatch statistics in training and with the running
statistics in ``state`` at evaluation (Ioffe & Szegedy 2015). The state is
never modified: training returns a new :class:`BatchNormState`. Chapter 5
uses the pair to measure the variance shift between dropout and batch
normalisation (Li et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import check_bool, check_float_array, check_int, check_same_shape, check_scalar
from .layers import _check_cache, _check_dout

__all__ = [
    "BatchNormCache",
    "BatchNormState",
    "batchnorm_backward",
    "batchnorm_forward",
    "batchnorm_state",
]


@dataclass(frozen=True, eq=False)
class BatchNormState:
    """Running mean and variance of each feature, shape ``(D,)`` each.

    Immutable: :func:`batchnorm_forward` returns a new state instead of
    updating this one, and its arrays are read-only.
    """

    mean: np.ndarray
    var: np.ndarray


def _frozen_state(mean: np.ndarray, var: np.ndarray) -> BatchNormState:
    mean.setflags(write=False)
    var.setflags(write=False)
    return BatchNormState(mean, var)


def batchnorm_state(num_features: int, dtype: type | np.dtype = np.float64) -> BatchNormState:
    """The initial running statistics: mean 0 and variance 1 for every feature.

    Parameters
    ----------
    num_features : int
        D, the number of features (>= 1).
    dtype : float16/32/64, default float64

    Returns
    -------
    BatchNormState
        Read-only arrays ``mean = zeros(D)`` and ``var = ones(D)``.
    """
    d = check_int(num_features, "num_features", low=1)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating dtype (float16/32/64), got {dtype}")
    return _frozen_state(np.zeros(d, dtype=dtype), np.ones(d, dtype=dtype))


@dataclass(frozen=True, eq=False)
class BatchNormCache:
    """What :func:`batchnorm_backward` needs: the normalised input and ``1 / std``.

    ``inv_std`` comes from the minibatch in training and from the running
    variance at evaluation, where it is a constant of the layer.
    """

    x_hat: np.ndarray = field(repr=False)
    gamma: np.ndarray = field(repr=False)
    inv_std: np.ndarray = field(repr=False)
    train: bool


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    state: BatchNormState,
    *,
    train: bool,
    momentum: float = 0.9,
    eps: float = 1e-5,
) -> tuple[np.ndarray, BatchNormCache, BatchNormState]:
    r"""Batch normalisation forward pass for ``(N, D)`` features.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, D), float16/32/64
        A minibatch; in training ``N >= 2``. Not modified.
    gamma, beta : numpy.ndarray, shape (D,)
        Scale and shift applied after normalising.
    state : BatchNormState
        Running statistics, e.g. from :func:`batchnorm_state`. Not modified.
    train : bool, keyword-only
        ``True``: normalise with the minibatch mean and variance and update
        the running statistics; ``False``: normalise with ``state``.
    momentum : float in [0, 1], keyword-only, default 0.9
        Weight of the old running statistics in the update.
    eps : float > 0, keyword-only, default 1e-5
        Added to the variance before the square root.

    Returns
    -------
    out : numpy.ndarray, shape (N, D)
    cache : BatchNormCache
    new_state : BatchNormState
        Training: a new state with
        ``mean = momentum * state.mean + (1 - momentum) * mu_B`` and the same
        update of ``var`` by the *unbiased* minibatch variance
        ``N / (N - 1) * sigma2_B`` (as Ioffe & Szegedy and PyTorch).
        Evaluation: ``state`` itself, unchanged.

    Notes
    -----
    :math:`y = \gamma \odot (x - \mu) / \sqrt{\sigma^2 + \epsilon} + \beta`,
    with :math:`\mu, \sigma^2` the minibatch mean and biased variance in
    training and the running statistics at evaluation.

    See Also
    --------
    batchnorm_backward
    book/05_noise_and_modern.ipynb : the batch-norm variance shift.
    """
    x = check_float_array(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D) (2 dimensions), got shape {x.shape}")
    d = x.shape[1]
    for name, value in (("gamma", gamma), ("beta", beta)):
        check_same_shape(check_float_array(value, name), (d,), name, "the features of x (D,)")
    if not isinstance(state, BatchNormState):
        raise TypeError(
            "state must be a BatchNormState (e.g. batchnorm_state(D)), "
            f"got {type(state).__name__}"
        )
    for name in ("mean", "var"):
        check_same_shape(getattr(state, name), (d,), f"state.{name}", "the features of x (D,)")
    train = check_bool(train, "train", "True for training, False for evaluation")
    momentum = check_scalar(momentum, "momentum", low=0.0, high=1.0)
    eps = check_scalar(eps, "eps", low=0.0, low_open=True)
    if train and x.shape[0] < 2:
        raise ValueError(
            f"x must hold N >= 2 examples in training (the minibatch variance), got N = {x.shape[0]}"
        )
    return _batchnorm_forward(x, gamma, beta, state, train, momentum, eps)


def _batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    state: BatchNormState,
    train: bool,
    momentum: float,
    eps: float,
) -> tuple[np.ndarray, BatchNormCache, BatchNormState]:
    """:func:`batchnorm_forward` without checks."""
    if train:
        mean, var = x.mean(axis=0), x.var(axis=0)
        n = x.shape[0]
        new_state = _frozen_state(
            momentum * state.mean + (1.0 - momentum) * mean,
            momentum * state.var + (1.0 - momentum) * var * (n / (n - 1)),
        )
    else:
        mean, var, new_state = state.mean, state.var, state
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, BatchNormCache(x_hat, gamma, inv_std, train), new_state


def batchnorm_backward(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Backward pass of :func:`batchnorm_forward`.

    Parameters
    ----------
    dout : numpy.ndarray, shape (N, D), floating
        Upstream gradient. Not modified.
    cache : BatchNormCache
        From :func:`batchnorm_forward`.

    Returns
    -------
    dx : numpy.ndarray, shape (N, D)
    dgamma : numpy.ndarray, shape (D,)
    dbeta : numpy.ndarray, shape (D,)

    Notes
    -----
    In training the minibatch statistics depend on :math:`x`:

    .. math::

        \frac{\partial L}{\partial x} = \frac{s}{N}\Big(N g - \sum_n g_n
        - \hat x \sum_n g_n \hat x_n\Big),\quad g = \gamma \odot
        \frac{\partial L}{\partial y},\ s = 1/\sqrt{\sigma^2 + \epsilon};

    at evaluation :math:`\partial L/\partial x = s\, g` (the statistics are constants).

    See Also
    --------
    batchnorm_forward
    """
    _check_cache(cache, BatchNormCache, "batchnorm_forward")
    _check_dout(dout, cache.x_hat.shape, "batchnorm_forward (N, D)")
    return _batchnorm_backward(dout, cache)


def _batchnorm_backward(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`batchnorm_backward` without checks."""
    x_hat = cache.x_hat
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * cache.gamma
    if not cache.train:
        return g * cache.inv_std, dgamma, dbeta
    n = x_hat.shape[0]
    dx = cache.inv_std / n * (n * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    return dx, dgamma, dbeta
