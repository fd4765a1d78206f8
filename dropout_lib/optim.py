"""Optimizers (SGD with momentum/Nesterov, Adam) and the max-norm constraint.

:meth:`Optimizer.step` updates a parameter dict *in place* (the network's own
state) and never modifies the gradients. Each optimizer keeps per-parameter
state (velocities, moments): use a fresh one, or :meth:`~Optimizer.reset`, per
training run.

See Also
--------
book/02_inverted_dropout.ipynb : training loops that use these optimizers.
book/03_co_adaptation.ipynb : the max-norm constraint next to dropout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from typing import Any

import numpy as np

from ._checks import check_bool, check_scalar

__all__ = ["OPTIMIZERS", "SGD", "Adam", "Optimizer", "make_optimizer", "max_norm"]


def _positive(value: Any, name: str) -> float:
    """A finite number in ``(0.0, inf)``, as a float."""
    return check_scalar(value, name, low=0.0, high=math.inf, low_open=True, high_open=True)


def _unit(value: Any, name: str) -> float:
    """A finite number in ``[0.0, 1.0)``, as a float."""
    return check_scalar(value, name, low=0.0, high=1.0, high_open=True)


class Optimizer:
    """Base class: validates the arguments of :meth:`step` and holds per-parameter state."""

    def __init__(self, lr: float) -> None:
        self.lr = _positive(lr, "lr (learning rate)")
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.t = 0

    def reset(self) -> None:
        """Forget all state (velocities, moments, step count)."""
        self.state = {}
        self.t = 0

    def _check(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        missing = set(params) ^ set(grads)
        if missing:
            raise ValueError(
                "grads must have exactly the keys of params; mismatched keys: "
                f"{sorted(missing)}"
            )
        for k, p in params.items():
            if grads[k].shape != p.shape:
                raise ValueError(
                    f"grads[{k!r}] has shape {grads[k].shape} but params[{k!r}] has {p.shape}"
                )

    def step(self, params: MutableMapping[str, np.ndarray],
             grads: Mapping[str, np.ndarray]) -> None:
        """Update ``params`` in place from ``grads`` (which are not modified)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self._hyper().items())
        return f"{type(self).__name__}({hyper})"

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self.lr}


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta > 0`.
    momentum : float, default 0.0
        Momentum coefficient :math:`\mu \in [0, 1)`; 0 gives plain SGD.
    nesterov : bool, default False
        Use Nesterov's accelerated gradient (needs ``momentum > 0``).

    Notes
    -----
    :math:`v \leftarrow \mu v - \eta g`, then :math:`\theta \leftarrow \theta + v`
    (classical) or :math:`\theta \leftarrow \theta + \mu v - \eta g` (Nesterov,
    in Sutskever et al. 2013's look-ahead form).

    See Also
    --------
    Adam, book/02_inverted_dropout.ipynb
    """

    def __init__(self, lr: float, *, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        self.momentum = _unit(momentum, "momentum")
        self.nesterov = check_bool(nesterov, "nesterov")
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0; got momentum=0.0")

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def step(self, params: MutableMapping[str, np.ndarray],
             grads: Mapping[str, np.ndarray]) -> None:
        """Update ``params`` in place from ``grads`` (which are not modified)."""
        self._check(params, grads)
        self.t += 1
        lr, mu = self.lr, self.momentum
        for k, p in params.items():
            g = grads[k]
            if mu == 0.0:
                p -= lr * g
                continue
            st = self.state.get(k)
            if st is None:
                st = self.state[k] = {"v": np.zeros_like(p)}
            v = st["v"]
            v *= mu
            v -= lr * g
            if self.nesterov:
                p += mu * v - lr * g
            else:
                p += v


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015).

    Parameters
    ----------
    lr : float, default 1e-3
        Step size :math:`\eta > 0`.
    beta1, beta2 : float, default 0.9, 0.999
        Decay rates of the first and second moment estimates, in [0, 1).
    eps : float, default 1e-8
        Added to the denominator for numerical stability, > 0.

    Notes
    -----
    :math:`\theta \leftarrow \theta - \eta\, \hat m_t/(\sqrt{\hat v_t} + \epsilon)`,
    with bias-corrected moments :math:`\hat m_t = m_t/(1-\beta_1^t)` and
    :math:`\hat v_t = v_t/(1-\beta_2^t)` of :math:`g` and :math:`g^2`.

    See Also
    --------
    SGD, book/02_inverted_dropout.ipynb
    """

    def __init__(self, lr: float = 1e-3, *, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1 = _unit(beta1, "beta1")
        self.beta2 = _unit(beta2, "beta2")
        self.eps = _positive(eps, "eps")

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def step(self, params: MutableMapping[str, np.ndarray],
             grads: Mapping[str, np.ndarray]) -> None:
        """Update ``params`` in place from ``grads`` (which are not modified)."""
        self._check(params, grads)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Bias corrections folded into scalars: sqrt(v / c2) = sqrt(v) / sqrt(c2).
        step = self.lr / (1.0 - b1 ** self.t)
        inv_sqrt_c2 = 1.0 / math.sqrt(1.0 - b2 ** self.t)
        for k, p in params.items():
            g = grads[k]
            st = self.state.get(k)
            if st is None:
                st = self.state[k] = {"m": np.zeros_like(p), "v": np.zeros_like(p),
                                      "buf": np.empty_like(p)}
            m, v, buf = st["m"], st["v"], st["buf"]
            # In place, one scratch buffer: no temporaries in the training loop.
            np.multiply(g, 1.0 - b1, out=buf)
            m *= b1
            m += buf
            np.multiply(g, g, out=buf)
            buf *= 1.0 - b2
            v *= b2
            v += buf
            np.sqrt(v, out=buf)
            buf *= inv_sqrt_c2
            buf += self.eps
            np.divide(m, buf, out=buf)
            buf *= step
            p -= buf


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str | Optimizer, **hyper: Any) -> Optimizer:
    """Build an optimizer from its name.

    Parameters
    ----------
    name : {"sgd", "adam"} or Optimizer
        Case-insensitive name; an Optimizer is returned unchanged (then
        ``hyper`` must be empty).
    **hyper
        Constructor arguments, e.g. ``lr=0.1, momentum=0.9``. ``"sgd"``
        defaults to ``lr=0.1``, ``"adam"`` to ``lr=1e-3``.

    Returns
    -------
    Optimizer
    """
    if isinstance(name, Optimizer):
        if hyper:
            raise TypeError("hyperparameters cannot be given with an Optimizer instance")
        return name
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)} or an Optimizer; "
                         f"got {name!r}")
    name = name.lower()
    if name == "sgd":
        hyper.setdefault("lr", 0.1)
    return OPTIMIZERS[name](**hyper)


def max_norm(W: np.ndarray, c: float, *, eps: float = 0.0) -> np.ndarray:
    r"""Clip the L2 norm of every column (one unit's incoming weights) of ``W`` to ``c``.

    Parameters
    ----------
    W : ndarray, shape (D, M)
        Weights of an affine layer ``x @ W + b``; column ``j`` feeds unit ``j``.
    c : float
        Maximum norm, > 0.
    eps : float, default 0.0
        Columns are rescaled only when their norm exceeds ``c + eps``.

    Returns
    -------
    ndarray, shape (D, M)
        A new array: :math:`w_j \leftarrow w_j \cdot \min(1, c/\lVert w_j\rVert_2)`.

    See Also
    --------
    book/03_co_adaptation.ipynb : max-norm (Srivastava et al. 2014, sec. 5.1).
    """
    c = _positive(c, "max_norm (c)")
    W = np.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (D, M); got ndim={W.ndim}")
    norms = np.sqrt(np.sum(W * W, axis=0))
    scale = np.where(norms > c + eps, c / np.maximum(norms, np.finfo(W.dtype).tiny), 1.0)
    return W * scale.astype(W.dtype, copy=False)
