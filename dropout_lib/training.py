"""Minibatch training of an :class:`~dropout_lib.net.MLP`, with per-epoch evaluation.

Random streams
--------------
:func:`fit` turns its ``seed`` (or ``rng``) into two independent streams with
``SeedSequence.spawn``: one shuffles the minibatches, the other draws the
dropout masks. Changing a drop probability therefore never changes the batch
order, and two runs that differ only in ``p_drop`` see the same batches in the
same order (the network's initial weights come from its own seed). The same
seed gives bit-identical results.

Nothing is printed unless ``progress=True``, which writes one updating line to
stderr (for command-line use; notebooks should leave it off).

See Also
--------
book/02_inverted_dropout.ipynb : training curves with and without dropout.
book/03_co_adaptation.ipynb : small training sets, L2 and max-norm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._progress import progress_bar
from ._checks import check_bool, check_choice
from .data import Splits
from .losses import check_labels, mean_squared_error, softmax_cross_entropy
from .net import LOSSES, MLP
from .optim import Optimizer, make_optimizer

__all__ = ["EarlyStopping", "History", "fit", "evaluate", "spawn_streams"]


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when a validation metric has not improved for ``patience`` epochs.

    Parameters
    ----------
    patience : int, default 10
        Number of epochs without improvement before stopping, >= 1.
    monitor : {"val_loss", "val_acc"}, default "val_loss"
        Metric to watch (lower loss / higher accuracy is better).
    min_delta : float, default 0.0
        An epoch counts as an improvement only if it beats the best value by
        more than this, >= 0.
    restore_best : bool, default True
        At the end of training, put back the weights of the best epoch.

    Notes
    -----
    With ``restore_best=True`` the network returned by :func:`train` is the one
    of ``History.best_epoch`` (a copy of its weights is kept during training),
    so ``History.final`` describes that network, not the last epoch's.
    """

    patience: int = 10
    monitor: str = "val_loss"
    min_delta: float = 0.0
    restore_best: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) \
                or self.patience < 1:
            raise ValueError(f"early_stopping patience must be an int >= 1; "
                             f"got {self.patience!r}")
        check_choice(self.monitor, "early_stopping monitor", ("val_loss", "val_acc"))
        if not (isinstance(self.min_delta, (int, float)) and self.min_delta >= 0):
            raise ValueError(f"early_stopping min_delta must be >= 0; got {self.min_delta!r}")
        check_bool(self.restore_best, "restore_best")


@dataclass
class History:
    """Per-epoch metrics of one training run.

    Lists are indexed by epoch: entry 0 is the untrained network (epoch 0),
    entry ``e`` the network after ``e`` epochs. All metrics are computed in
    evaluation mode (no dropout) on the full split; losses are the data loss
    without the L2 penalty. A split that is absent has empty lists.

    Attributes
    ----------
    task : {"classification", "regression"}
    epochs : list of int
        ``[0, 1, ..., n]`` (shorter than requested if stopped early).
    train_loss, val_loss, test_loss : list of float
    train_acc, val_acc, test_acc : list of float or None
        Accuracies; ``None`` for regression.
    batch_loss : list of float
        Mean minibatch loss *in training mode* (with dropout and L2) of each
        epoch 1..n: what the optimizer actually minimised.
    best_epoch : int
        Epoch with the best ``monitor`` value (earliest on ties).
    monitor : str
        Metric used for ``best_epoch`` and early stopping, e.g. "val_loss".
    stopped_early : bool
    final : dict of str to float
        Metrics of the network as returned (``"test_acc"``, ``"val_loss"``, ...):
        the best epoch's if early stopping restored it, else the last epoch's.
    config : dict
        The settings of the run (epochs, batch size, optimizer, l2, ...).
    """

    task: str
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    train_acc: list[float] | None = None
    val_acc: list[float] | None = None
    test_acc: list[float] | None = None
    batch_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    monitor: str = "val_loss"
    stopped_early: bool = False
    final: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> np.ndarray:
        """One metric over the epochs as a float array, e.g. ``metric("val_acc")``."""
        values = getattr(self, name, None)
        if not isinstance(values, list) or name in ("epochs",) or name.startswith("_"):
            raise ValueError(f"unknown metric {name!r}; use e.g. 'train_loss', 'val_acc', "
                             "'batch_loss'")
        return np.asarray(values, dtype=np.float64)

    def best(self, name: str) -> float:
        """Value of metric ``name`` at :attr:`best_epoch`."""
        return float(self.metric(name)[self.best_epoch])

    def summary(self, decimals: int = 3) -> str:
        """One line with the final metrics, rounded (stable text for notebooks)."""
        parts = [f"{k} {v:.{decimals}f}" for k, v in self.final.items()]
        return f"best epoch {self.best_epoch}/{self.epochs[-1]}: " + ", ".join(parts)


def spawn_streams(seed: Any = None, rng: np.random.Generator | None = None,
                  n: int = 2) -> list[np.random.Generator]:
    """``n`` independent Generators from a seed (via ``SeedSequence.spawn``) or from ``rng.spawn``.

    Raises
    ------
    TypeError
        Unless exactly one of ``seed`` (int or SeedSequence) and ``rng`` is given.
    """
    if (seed is None) == (rng is None):
        raise TypeError("give exactly one of seed (int) or rng (numpy.random.Generator); "
                        "the global NumPy random state is never used")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        return list(rng.spawn(n))
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        ss = np.random.SeedSequence(int(seed))
    else:
        raise TypeError(f"seed must be a non-negative int or SeedSequence; got {seed!r}")
    return [np.random.default_rng(s) for s in ss.spawn(n)]


def evaluate(net: MLP, X: np.ndarray, y: np.ndarray, *, loss: str = "softmax",
             chunk: int = 4096) -> tuple[float, float | None]:
    """Evaluation-mode loss (and accuracy for classification) of ``net`` on ``(X, y)``.

    Parameters
    ----------
    net : MLP
    X : ndarray, shape (N, D)
    y : ndarray
        Int labels (N,) for ``loss="softmax"``, float targets for ``"mse"``.
    loss : {"softmax", "mse"}
    chunk : int, default 4096
        Examples per forward pass (bounds memory).

    Returns
    -------
    loss : float
        Mean data loss (no L2 penalty).
    accuracy : float or None
        Fraction of correct argmax predictions; None for ``"mse"``.
    """
    check_choice(loss, "loss", LOSSES)
    n = X.shape[0]
    if n == 0:
        raise ValueError("cannot evaluate on an empty set")
    total, correct = 0.0, 0
    for s in range(0, n, chunk):
        Xb, yb = X[s:s + chunk], y[s:s + chunk]
        scores = net.forward(Xb, train=False)[0]
        if loss == "softmax":
            value, _ = softmax_cross_entropy(scores, yb)
            correct += int(np.count_nonzero(np.argmax(scores, axis=1) == yb))
        else:
            value, _ = mean_squared_error(scores, yb)
        total += value * Xb.shape[0]
    return total / n, (correct / n if loss == "softmax" else None)


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value}")
    return int(value)


def _prepare(net: MLP, data: Any, loss: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if isinstance(data, Splits):
        pairs = {s: data.get(s) for s in data.available()}
    elif isinstance(data, tuple) and len(data) == 2:
        pairs = {"train": data}
    else:
        raise TypeError("data must be a Splits or a tuple (X_train, y_train); "
                        f"got {type(data).__name__}")
    out = {}
    for split, (X, y) in pairs.items():
        X = net.check_X(X, f"X_{split}")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"X_{split} contains NaN or infinite values")
        if X.shape[0] == 0:
            raise ValueError(f"X_{split} is empty")
        y = np.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X_{split} and y_{split} must have the same length; "
                             f"got {X.shape[0]} and {y.shape[0]}")
        if loss == "softmax":
            y = check_labels(y, X.shape[0], net.n_outputs, f"y_{split}")
        else:
            if not np.issubdtype(y.dtype, np.floating):
                raise TypeError(f"y_{split} must hold float targets for loss='mse'; "
                                f"got dtype {y.dtype}")
            ok = (y.ndim == 1 and net.n_outputs == 1) or y.shape == (X.shape[0], net.n_outputs)
            if not ok:
                raise ValueError(f"y_{split} must have shape ({X.shape[0]}, {net.n_outputs})"
                                 f"{' or (N,)' if net.n_outputs == 1 else ''} for loss='mse'; "
                                 f"got {y.shape}")
            y = y.astype(net.dtype, copy=False)
        out[split] = (X, y)
    return out


def fit(
    net: MLP,
    data: Splits | tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    optimizer: Optimizer | str,
    seed: int | np.random.SeedSequence | None = None,
    rng: np.random.Generator | None = None,
    loss: str = "softmax",
    l2: float = 0.0,
    max_norm: float | None = None,
    early_stopping: EarlyStopping | int | None = None,
    progress: bool = False,
) -> History:
    r"""Train ``net`` in place with minibatch gradient descent and record a History.

    Parameters
    ----------
    net : MLP
        The network; its parameters are updated in place. Its drop probabilities
        and dropout mode are used in training; evaluation uses ``train=False``.
    data : Splits or (X_train, y_train)
        Training data and, optionally, validation/test sets evaluated every epoch.
        The arrays are never modified.
    epochs : int
        Maximum number of passes over the training set, >= 1.
    batch_size : int
        Examples per minibatch, >= 1; the last batch of an epoch may be smaller.
    optimizer : Optimizer or {"sgd", "adam"}
        An optimizer instance (used as is, with any state it already has) or a
        name (default hyperparameters, see :func:`~dropout_lib.optim.make_optimizer`).
    seed : int or SeedSequence, optional
        Seed of the batch order and the dropout masks; or pass ``rng``. Exactly
        one is required.
    rng : numpy.random.Generator, optional
        Its ``spawn`` gives the two streams (and advances it).
    loss : {"softmax", "mse"}, default "softmax"
        Softmax cross-entropy (int labels) or mean squared error (regression).
    l2 : float, default 0.0
        L2 weight decay on the weights (not biases), >= 0.
    max_norm : float, optional
        After every update, clip each hidden unit's incoming weight vector to
        this L2 norm (Srivastava et al. 2014); > 0.
    early_stopping : EarlyStopping or int, optional
        An int is the patience of ``EarlyStopping(patience)`` (monitor
        "val_loss", restore the best weights). Needs a validation split.
    progress : bool, default False
        Show an updating status line on stderr (command-line use).

    Returns
    -------
    History
        Per-epoch evaluation-mode losses/accuracies of every available split.

    Raises
    ------
    TypeError, ValueError
        For any invalid argument, before the first update.

    Notes
    -----
    Each epoch shuffles the training set with the batch stream and takes
    consecutive minibatches; each step computes the gradient of

    .. math::
        \frac1{|B|}\sum_{i\in B} \ell(f(x_i; m_i), y_i)
        + \frac{\lambda}{2}\sum_l\lVert W_l\rVert^2

    with fresh dropout masks :math:`m_i` from the dropout stream, applies the
    optimizer and then the max-norm projection. ``History.best_epoch`` is the
    epoch with the best validation loss (or the early-stopping monitor; the
    training loss if there is no validation split). Without early stopping the
    network keeps its last weights.

    See Also
    --------
    dropout_lib.experiments.run_seeds, book/02_inverted_dropout.ipynb,
    book/03_co_adaptation.ipynb
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP; got {type(net).__name__}")
    epochs = _check_int(epochs, "epochs", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    check_choice(loss, "loss", LOSSES)
    if loss == "softmax" and net.n_outputs < 2:
        raise ValueError("loss='softmax' needs a network with at least 2 outputs; "
                         f"this one has {net.n_outputs}")
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not (
            math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0; got {l2!r}")
    if max_norm is not None and (isinstance(max_norm, bool)
                                 or not isinstance(max_norm, (int, float))
                                 or not (math.isfinite(max_norm) and max_norm > 0)):
        raise ValueError(f"max_norm must be None or a finite number > 0; got {max_norm!r}")
    if isinstance(early_stopping, bool):
        raise TypeError("early_stopping must be None, an int patience or an EarlyStopping")
    if isinstance(early_stopping, (int, np.integer)):
        early_stopping = EarlyStopping(patience=int(early_stopping))
    elif early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError("early_stopping must be None, an int patience or an EarlyStopping; "
                        f"got {type(early_stopping).__name__}")
    progress = check_bool(progress, "progress")
    opt = make_optimizer(optimizer)
    splits = _prepare(net, data, loss)
    classification = loss == "softmax"
    if early_stopping is not None:
        if "val" not in splits:
            raise ValueError("early_stopping needs a validation split (data.X_val/y_val)")
        if early_stopping.monitor == "val_acc" and not classification:
            raise ValueError("early_stopping monitor 'val_acc' needs loss='softmax'")
        monitor = early_stopping.monitor
    else:
        monitor = "val_loss" if "val" in splits else "train_loss"
    batch_rng, drop_rng = spawn_streams(seed, rng, 2)

    X, y = splits["train"]
    n = X.shape[0]
    hist = History(task="classification" if classification else "regression", monitor=monitor)
    if classification:
        hist.train_acc, hist.val_acc, hist.test_acc = [], [], []
    hist.config = {
        "epochs": epochs, "batch_size": batch_size, "optimizer": repr(opt), "loss": loss,
        "l2": float(l2), "max_norm": max_norm, "early_stopping": early_stopping,
        "net": repr(net), "n_train": n,
    }
    higher_better = monitor.endswith("_acc")
    sign = -1.0 if higher_better else 1.0
    min_delta = early_stopping.min_delta if early_stopping is not None else 0.0

    def record(epoch: int) -> float:
        hist.epochs.append(epoch)
        for split, (Xs, ys) in splits.items():
            lo, acc = evaluate(net, Xs, ys, loss=loss)
            getattr(hist, f"{split}_loss").append(lo)
            if classification:
                getattr(hist, f"{split}_acc").append(acc)
        return sign * getattr(hist, monitor)[-1]

    best_value = record(0)
    best_params = net.get_params() if early_stopping is not None else None
    hist.best_epoch = 0
    since_best = 0
    bar = progress_bar(epochs, "train", progress)
    l2f = float(l2)
    for epoch in range(1, epochs + 1):
        perm = batch_rng.permutation(n)
        batch_sum = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            value, grads = net.loss_and_grads(X[idx], y[idx], train=True, rng=drop_rng,
                                              loss=loss, l2=l2f)
            opt.step(net.params, grads)
            if max_norm is not None:
                net.apply_max_norm(max_norm)
            batch_sum += value * idx.size
        hist.batch_loss.append(batch_sum / n)
        value = record(epoch)
        if value < best_value - min_delta:
            best_value, hist.best_epoch, since_best = value, epoch, 0
            if best_params is not None:
                best_params = net.get_params()
        else:
            since_best += 1
        if progress:
            text = f"loss {hist.train_loss[-1]:.4f}"
            if "val" in splits:
                text += f" val_loss {hist.val_loss[-1]:.4f}"
                if classification:
                    text += f" val_acc {hist.val_acc[-1]:.3f}"
            bar.tick(text)
        if not math.isfinite(hist.train_loss[-1]):
            break  # diverged: further epochs cannot recover
        if early_stopping is not None and since_best >= early_stopping.patience:
            hist.stopped_early = epoch < epochs
            break
    bar.close()
    restored = early_stopping is not None and early_stopping.restore_best
    if restored and best_params is not None:
        net.set_params(best_params)
    at = hist.best_epoch if restored else len(hist.epochs) - 1
    for split in splits:
        hist.final[f"{split}_loss"] = getattr(hist, f"{split}_loss")[at]
        if classification:
            hist.final[f"{split}_acc"] = getattr(hist, f"{split}_acc")[at]
    return hist
