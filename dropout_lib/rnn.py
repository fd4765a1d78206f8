"""A vanilla tanh recurrent layer with dropout masks, and a sequence classifier.

:func:`rnn_forward` / :func:`rnn_backward` are a forward/backward pair in
the style of :mod:`dropout_lib.layers`, with backpropagation through time.
Dropout enters through three optional masks (``"input"``, ``"state"``,
``"output"``); each is an inverted-dropout mask (entries 0 or
``1 / (1 - p_drop)``), either one per sequence, shape ``(N, W)``
(*locked*: the same units dropped at every step), or one per step, shape
``(N, T, W)`` (*fresh*). :func:`rnn_masks` draws them for a scheme:

- ``"none"``: no masks;
- ``"naive"``: fresh masks at every step on the inputs, the recurrent
  state and the outputs (standard dropout applied everywhere, redrawn at
  each step);
- ``"locked"``: one mask per sequence on the inputs, the recurrent state
  and the outputs (Gal & Ghahramani 2016);
- ``"zaremba"``: fresh masks on the non-recurrent connections only, the
  inputs and the outputs; none on the state (Zaremba et al. 2014).

So ``"naive"`` and ``"locked"`` drop the same connections and differ only
in whether the mask is redrawn over time, and ``"zaremba"`` differs from
``"naive"`` only in leaving the recurrent state alone.

:class:`RNNClassifier` reads an example's features as ``steps`` rows (the
8 x 8 digits as 8 steps of 8 pixels), runs the layer, and classifies the
last hidden state with an affine layer. It has the model contract of
:mod:`dropout_lib.training`, so :func:`~dropout_lib.training.fit` trains it
and :func:`~dropout_lib.training.evaluate` scores it.

See Also
--------
book/01_masks.ipynb : the locked (per-sequence) mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checks import (
    as_generator,
    check_bool,
    check_choice,
    check_float_array,
    check_int,
    check_p_drop,
    check_rng,
    check_scalar,
)
from .losses import l2_penalty, softmax_cross_entropy
from .masks import _draw_mask, _threshold
from .net import replaced_params

__all__ = ["MASK_KINDS", "RNNCache", "RNNClassifier", "SCHEMES",
           "rnn_backward", "rnn_forward", "rnn_masks"]

#: Where a mask may act: the layer's inputs, its recurrent state
#: (``h_{t-1}`` before ``W_h``) and its outputs.
MASK_KINDS: tuple[str, ...] = ("input", "state", "output")

#: The dropout schemes of :func:`rnn_masks`: per scheme, the mask kinds it
#: draws and whether each is locked (one per sequence) or fresh (per step).
SCHEMES: dict[str, dict[str, str]] = {
    "none": {},
    "naive": {"input": "fresh", "state": "fresh", "output": "fresh"},
    "locked": {"input": "locked", "state": "locked", "output": "locked"},
    "zaremba": {"input": "fresh", "output": "fresh"},
}

Masks = Mapping[str, np.ndarray]


# --------------------------------------------------------------------------- masks


def rnn_masks(scheme: str, batch: int, steps: int, n_inputs: int,
              n_hidden: int, p_drop: float, rng: np.random.Generator,
              *, dtype: Any = np.float64) -> dict[str, np.ndarray]:
    r"""The inverted-dropout masks of one minibatch under ``scheme``.

    Parameters
    ----------
    scheme : {"none", "naive", "locked", "zaremba"}
        See the module docstring and :data:`SCHEMES`.
    batch, steps : int
        N sequences of T steps, >= 1.
    n_inputs, n_hidden : int
        D input features and H hidden units per step, >= 1.
    p_drop : float
        Drop probability of every mask the scheme draws, in ``[0, 1)``.
    rng : numpy.random.Generator
        Source of the masks (drawn by :func:`dropout_lib.masks.bernoulli_mask`'s
        core); not needed for ``"none"`` or ``p_drop = 0``.
    dtype : float dtype, default float64

    Returns
    -------
    dict of str to ndarray
        Keys from :data:`MASK_KINDS`. A locked mask has shape ``(N, W)``, a
        fresh one ``(N, T, W)`` (``W`` is D for ``"input"``, H otherwise);
        entries are 0 or :math:`1 / (1 - p_{drop})`, so
        :math:`E[m] = 1`. Empty for ``"none"`` and for ``p_drop = 0``.

    See Also
    --------
    rnn_forward, book/01_masks.ipynb : locked masks.
    """
    scheme = check_choice(scheme, "scheme", SCHEMES)
    sizes = [check_int(v, name, low=1) for v, name in (
        (batch, "batch"), (steps, "steps"), (n_inputs, "n_inputs"),
        (n_hidden, "n_hidden"))]
    p_drop = check_p_drop(p_drop)
    if p_drop >= 1.0:
        raise ValueError(f"p_drop must be < 1 for an RNN's masks; got {p_drop!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating dtype; got {dtype}")
    if scheme == "none" or p_drop == 0.0:
        return {}
    return _rnn_masks(scheme, *sizes, p_drop, check_rng(rng), dtype)


def _rnn_masks(scheme: str, n: int, t: int, d: int, h: int, p_drop: float,
               rng: np.random.Generator, dtype: np.dtype) -> dict[str, np.ndarray]:
    """:func:`rnn_masks` without checks (``p_drop`` in ``(0, 1)``)."""
    threshold, scale = _threshold(p_drop), 1.0 / (1.0 - p_drop)
    out = {}
    for kind, how in SCHEMES[scheme].items():
        width = d if kind == "input" else h
        shape = (n, width) if how == "locked" else (n, t, width)
        out[kind] = _draw_mask(shape, threshold, rng) * dtype.type(scale)
    return out


# --------------------------------------------------------------------------- layer


@dataclass(frozen=True, eq=False)
class RNNCache:
    """What :func:`rnn_backward` needs from :func:`rnn_forward`.

    ``xm`` are the masked inputs (N, T, D), ``hs`` the hidden states
    ``h_0 .. h_T`` (N, T + 1, H) before the output mask, ``masks`` the masks
    used, ``W_x`` and ``W_h`` the weights.
    """

    xm: np.ndarray = field(repr=False)
    hs: np.ndarray = field(repr=False)
    W_x: np.ndarray = field(repr=False)
    W_h: np.ndarray = field(repr=False)
    masks: dict[str, np.ndarray] = field(repr=False)


def _check_masks(masks: Any, n: int, t: int, d: int, h: int) -> dict[str, np.ndarray]:
    if masks is None:
        return {}
    if not isinstance(masks, Mapping):
        raise TypeError("masks must be None or a dict with keys from "
                        f"{MASK_KINDS}; got {type(masks).__name__}")
    out = {}
    for kind, m in masks.items():
        if kind not in MASK_KINDS:
            raise ValueError(f"masks has an unknown key {kind!r}; use "
                             f"{', '.join(map(repr, MASK_KINDS))}")
        if m is None:
            continue
        name = f"masks[{kind!r}]"
        check_float_array(m, name)
        w = d if kind == "input" else h
        if m.shape not in ((n, w), (n, t, w)):
            raise ValueError(f"{name} must have shape ({n}, {w}) (locked) or "
                             f"({n}, {t}, {w}) (fresh); got {m.shape}")
        out[kind] = m
    return out


def _at(mask: np.ndarray | None, t: int) -> np.ndarray | None:
    """The mask of step ``t``: a locked (N, W) mask is the same at every step."""
    if mask is None or mask.ndim == 2:
        return mask
    return mask[:, t]


def _over_time(mask: np.ndarray) -> np.ndarray:
    """A mask that broadcasts against (N, T, W)."""
    return mask[:, None, :] if mask.ndim == 2 else mask


def rnn_forward(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray,
                h0: np.ndarray | None = None, *, masks: Masks | None = None
                ) -> tuple[np.ndarray, RNNCache]:
    r"""Forward pass of a tanh RNN over ``T`` steps, with optional dropout masks.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, T, D), floating
        N sequences of T steps of D features. Not modified.
    W_x : numpy.ndarray, shape (D, H)
        Input-to-hidden weights.
    W_h : numpy.ndarray, shape (H, H)
        Hidden-to-hidden (recurrent) weights.
    b : numpy.ndarray, shape (H,)
    h0 : numpy.ndarray, shape (N, H), optional
        Initial state; zeros by default.
    masks : dict, keyword-only, optional
        Inverted-dropout masks (0 or ``1 / (1 - p_drop)``) under the keys
        ``"input"`` (width D), ``"state"`` and ``"output"`` (width H), each
        of shape (N, W) (locked: the same at every step) or (N, T, W)
        (fresh: one per step); see :func:`rnn_masks`. Missing keys mean no
        mask. Evaluation: pass no masks.

    Returns
    -------
    out : numpy.ndarray, shape (N, T, H)
        The hidden states :math:`h_1 .. h_T`, times the output mask.
    cache : RNNCache

    Notes
    -----
    :math:`h_t = \tanh\big((x_t \odot m^x_t) W_x + (h_{t-1} \odot m^h_t) W_h + b\big)`,
    :math:`\mathrm{out}_t = h_t \odot m^o_t`. The output mask does not
    enter the recurrence.

    See Also
    --------
    rnn_backward, rnn_masks, book/01_masks.ipynb : locked masks.
    """
    x = check_float_array(x, "x")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (N, T, D); got {x.shape}")
    n, t, d = x.shape
    W_x = check_float_array(W_x, "W_x")
    if W_x.ndim != 2 or W_x.shape[0] != d:
        raise ValueError(f"W_x must have shape ({d}, H); got {W_x.shape}")
    h = W_x.shape[1]
    W_h = check_float_array(W_h, "W_h")
    if W_h.shape != (h, h):
        raise ValueError(f"W_h must have shape ({h}, {h}); got {W_h.shape}")
    b = check_float_array(b, "b")
    if b.shape != (h,):
        raise ValueError(f"b must have shape ({h},); got {b.shape}")
    if h0 is not None:
        h0 = check_float_array(h0, "h0")
        if h0.shape != (n, h):
            raise ValueError(f"h0 must have shape ({n}, {h}); got {h0.shape}")
    if t < 1:
        raise ValueError("x must have at least one step")
    return _rnn_forward(x, W_x, W_h, b, h0, _check_masks(masks, n, t, d, h))


def _rnn_forward(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray,
                 h0: np.ndarray | None, masks: dict[str, np.ndarray]
                 ) -> tuple[np.ndarray, RNNCache]:
    """:func:`rnn_forward` without checks."""
    n, t, _ = x.shape
    dtype = np.result_type(x, W_x, W_h, b)
    xm = x * _over_time(masks["input"]) if "input" in masks else x
    a_x = xm @ W_x + b                          # every step's input term at once
    hs = np.empty((n, t + 1, W_h.shape[0]), dtype=dtype)
    hs[:, 0] = 0.0 if h0 is None else h0
    m_h = masks.get("state")
    for s in range(t):
        prev = hs[:, s] if m_h is None else hs[:, s] * _at(m_h, s)
        hs[:, s + 1] = np.tanh(a_x[:, s] + prev @ W_h)
    out = hs[:, 1:]
    out = out * _over_time(masks["output"]) if "output" in masks else out.copy()
    return out, RNNCache(xm, hs, W_x, W_h, dict(masks))


def rnn_backward(dout: np.ndarray, cache: RNNCache
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Backward pass of :func:`rnn_forward`: backpropagation through time.

    Parameters
    ----------
    dout : numpy.ndarray, shape (N, T, H), floating
        Gradient of the loss with respect to ``out``.
    cache : RNNCache
        From :func:`rnn_forward`.

    Returns
    -------
    dx : numpy.ndarray, shape (N, T, D)
    dW_x : numpy.ndarray, shape (D, H)
    dW_h : numpy.ndarray, shape (H, H)
    db : numpy.ndarray, shape (H,)
    dh0 : numpy.ndarray, shape (N, H)

    Notes
    -----
    With :math:`\delta_t = \partial L/\partial a_t`:
    :math:`\delta_t = (\mathrm{dout}_t \odot m^o_t + ((\delta_{t+1} W_h^\top)
    \odot m^h_{t+1})) \odot (1 - h_t^2)`, from :math:`t = T` down to 1.

    See Also
    --------
    rnn_forward
    """
    if not isinstance(cache, RNNCache):
        raise TypeError("cache must be the RNNCache returned by rnn_forward, "
                        f"got {type(cache).__name__}")
    dout = check_float_array(dout, "dout")
    n, t1, h = cache.hs.shape
    if dout.shape != (n, t1 - 1, h):
        raise ValueError(f"dout must have the shape of the output of rnn_forward, "
                         f"{(n, t1 - 1, h)}, got {dout.shape}")
    return _rnn_backward(dout, cache)


def _rnn_backward(dout: np.ndarray, cache: RNNCache
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rnn_backward` without checks."""
    hs, W_h, masks = cache.hs, cache.W_h, cache.masks
    n, t1, h = hs.shape
    t = t1 - 1
    dh_all = dout * _over_time(masks["output"]) if "output" in masks else dout
    m_h = masks.get("state")
    da = np.empty_like(dh_all, dtype=np.result_type(dh_all, hs))
    dW_h = np.zeros_like(W_h, dtype=da.dtype)
    carry = np.zeros((n, h), dtype=da.dtype)   # dL/dh_s from step s + 1
    for s in range(t - 1, -1, -1):
        h_new = hs[:, s + 1]
        da[:, s] = (dh_all[:, s] + carry) * (1.0 - h_new * h_new)
        prev = hs[:, s] if m_h is None else hs[:, s] * _at(m_h, s)
        dW_h += prev.T @ da[:, s]
        carry = da[:, s] @ W_h.T
        if m_h is not None:
            carry = carry * _at(m_h, s)
    xm = cache.xm
    d = xm.shape[2]
    dW_x = xm.reshape(-1, d).T @ da.reshape(-1, h)
    dx = da @ cache.W_x.T
    if "input" in masks:
        dx = dx * _over_time(masks["input"])
    return dx, dW_x, dW_h, da.sum(axis=(0, 1)), carry


# --------------------------------------------------------------------------- classifier


class RNNClassifier:
    """A tanh RNN over ``steps`` rows, then an affine layer on the last state.

    Parameters
    ----------
    n_inputs : int
        D features per step; an example has ``steps * n_inputs`` features,
        read row by row (row-major, e.g. the 8 x 8 digits as 8 rows of 8).
    n_hidden : int
        H hidden units.
    n_outputs : int
        Number of classes K, >= 2.
    steps : int
        T steps per example.
    scheme : {"none", "naive", "locked", "zaremba"}, default "none"
        Dropout scheme in training (see :func:`rnn_masks`).
    p_drop : float, default 0.0
        Drop probability of every mask of the scheme, in ``[0, 1)``.
    seed : int or SeedSequence, optional
        Seed of the initial weights; or ``rng``. Exactly one.

    Attributes
    ----------
    params : dict of str to ndarray
        ``W_x`` (D, H) and ``W_out`` (H, K) Glorot-normal, ``W_h`` (H, H)
        orthogonal, ``b`` and ``b_out`` zeros.

    Notes
    -----
    Scores :math:`s = (h_T \\odot m^o_T) W_{out} + b_{out}`; only the last
    step's output mask matters here, so a fresh and a locked output mask
    give the same classifier.

    See Also
    --------
    dropout_lib.training.fit : trains it.
    """

    dtype = np.dtype(np.float64)

    def __init__(self, n_inputs: int, n_hidden: int, n_outputs: int, steps: int,
                 *, scheme: str = "none", p_drop: float = 0.0, seed: Any = None,
                 rng: np.random.Generator | None = None) -> None:
        self.n_inputs = check_int(n_inputs, "n_inputs", low=1)
        self.n_hidden = check_int(n_hidden, "n_hidden", low=1)
        self.n_outputs = check_int(n_outputs, "n_outputs", low=2)
        self.steps = check_int(steps, "steps", low=1)
        self.scheme = check_choice(scheme, "scheme", SCHEMES)
        self.p_drop = check_p_drop(p_drop)
        if self.p_drop >= 1.0:
            raise ValueError(f"p_drop must be < 1; got {self.p_drop!r}")
        if (seed is None) == (rng is None):
            raise TypeError("give exactly one of seed and rng")
        self.params = _init(self.n_inputs, self.n_hidden, self.n_outputs,
                            as_generator(seed, rng))

    def __repr__(self) -> str:
        return (f"RNNClassifier({self.steps}x{self.n_inputs}-{self.n_hidden}-"
                f"{self.n_outputs}, scheme={self.scheme!r}, p_drop={self.p_drop:g})")

    # ------------------------------------------------------------------ the contract

    def check_X(self, X: Any, name: str = "X") -> np.ndarray:
        """Rows of ``steps * n_inputs`` floats, as float64."""
        f = self.steps * self.n_inputs
        if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.floating):
            raise TypeError(f"{name} must be a floating NumPy array of shape (N, {f})")
        if X.ndim != 2 or X.shape[1] != f:
            raise ValueError(f"{name} must have shape (N, {f}); got {X.shape}")
        return X.astype(self.dtype, copy=False)

    def sequences(self, X: np.ndarray) -> np.ndarray:
        """Checked rows as (N, steps, n_inputs) sequences (a view)."""
        return self.check_X(X).reshape(-1, self.steps, self.n_inputs)

    def _check_params(self) -> None:
        for k, v in self.params.items():
            if not isinstance(v, np.ndarray) or not np.issubdtype(v.dtype, np.floating):
                raise TypeError(f"params[{k!r}] must be a float array")

    def get_params(self) -> dict[str, np.ndarray]:
        """A copy of the parameters."""
        return {k: v.copy() for k, v in self.params.items()}

    def set_params(self, params: Mapping[str, Any]) -> None:
        """Replace the parameters by copies of ``params`` (same keys and shapes)."""
        self.params = replaced_params(self.params, params, self.dtype)

    def draw_masks(self, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The training masks of a minibatch of ``batch`` sequences."""
        return rnn_masks(self.scheme, batch, self.steps, self.n_inputs,
                         self.n_hidden, self.p_drop, rng)

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, *, train: bool,
                       rng: np.random.Generator | None = None, loss: str = "softmax",
                       l2: float = 0.0) -> tuple[float, dict[str, np.ndarray]]:
        """Softmax cross-entropy (plus the L2 penalty on ``W_*``) and every gradient.

        ``train=True`` draws the scheme's masks from ``rng``.
        """
        check_choice(loss, "loss", ("softmax",))
        l2 = check_scalar(l2, "l2", low=0.0)
        train = check_bool(train, "train")
        if train and self.scheme != "none" and self.p_drop > 0.0:
            check_rng(rng)
        return self._loss_and_grads(self.check_X(X), y, train, rng, loss, l2)

    def _loss_and_grads(self, X: np.ndarray, y: np.ndarray, train: bool,
                        rng: np.random.Generator | None, loss: str, l2: float
                        ) -> tuple[float, dict[str, np.ndarray]]:
        if loss != "softmax":
            raise ValueError(f"an RNNClassifier is trained with loss='softmax'; got {loss!r}")
        p = self.params
        x = X.reshape(-1, self.steps, self.n_inputs)
        masks = (_rnn_masks(self.scheme, x.shape[0], self.steps, self.n_inputs,
                            self.n_hidden, self.p_drop, rng, self.dtype)
                 if train and self.scheme != "none" and self.p_drop > 0.0 else {})
        hs, cache = _rnn_forward(x, p["W_x"], p["W_h"], p["b"], None, masks)
        last = hs[:, -1]
        scores = last @ p["W_out"] + p["b_out"]
        value, dscores = softmax_cross_entropy(scores, y)
        dhs = np.zeros_like(hs)
        dhs[:, -1] = dscores @ p["W_out"].T
        _, dW_x, dW_h, db, _ = _rnn_backward(dhs, cache)
        grads = {"W_x": dW_x, "W_h": dW_h, "b": db,
                 "W_out": last.T @ dscores, "b_out": dscores.sum(axis=0)}
        if l2:
            penalty, pgrads = l2_penalty(p, l2)
            value += penalty
            for k, g in pgrads.items():
                grads[k] = grads[k] + g
        return value, grads

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Evaluation-mode class scores (no dropout), shape (N, K)."""
        return self._scores(self.check_X(X))

    def _scores(self, X: np.ndarray) -> np.ndarray:
        p = self.params
        x = X.reshape(-1, self.steps, self.n_inputs)
        hs = _rnn_forward(x, p["W_x"], p["W_h"], p["b"], None, {})[0]
        return hs[:, -1] @ p["W_out"] + p["b_out"]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluation-mode predicted classes, shape (N,)."""
        return np.argmax(self.scores(X), axis=1).astype(np.int64)


def _init(d: int, h: int, k: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Glorot-normal ``W_x`` and ``W_out``, orthogonal ``W_h``, zero biases."""
    W_x = rng.normal(0.0, np.sqrt(2.0 / (d + h)), size=(d, h))
    q, r = np.linalg.qr(rng.normal(size=(h, h)))
    W_h = q * np.where(np.diag(r) < 0, -1.0, 1.0)   # uniform over orthogonal matrices
    W_out = rng.normal(0.0, np.sqrt(2.0 / (h + k)), size=(h, k))
    return {"W_x": W_x, "W_h": W_h, "b": np.zeros(h), "W_out": W_out,
            "b_out": np.zeros(k)}
