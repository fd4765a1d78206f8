"""Minibatch training of a network, with per-epoch evaluation: the one trainer.

:func:`fit` trains any network with the model contract of
:class:`~dropout_lib.net.MLP` (see :data:`MODEL_METHODS`):
``loss_and_grads(X, y, *, train, rng, loss, l2) -> (loss, grads)`` on a
minibatch, a ``params`` dict the optimizer updates in place, evaluation-mode
``scores(X)``, ``check_X``, ``get_params``/``set_params`` (to restore the best
epoch) and ``n_outputs``; ``apply_max_norm`` when ``max_norm`` is used. The
layer-list networks of chapter 5
(:class:`dropout_lib.experiments._layers_net.LayerNet`) have it too, so one
trainer and one :func:`evaluate` serve both.

:func:`fit` is split like CS231n's ``Solver``: it checks every argument once,
then runs epochs of :func:`_step` (one minibatch update, unchecked) and
records an evaluation of every split after each epoch (:func:`_record`).

Random streams
--------------
:func:`fit` turns its ``seed`` (or ``rng``) into two independent streams with
``SeedSequence.spawn`` (:func:`spawn_streams`): one shuffles the minibatches,
the other draws the dropout masks. Changing a drop probability therefore never
changes the batch order, and the same seed gives bit-identical results.

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

from ._checks import as_generator, check_bool, check_choice, check_int, check_scalar
from ._progress import progress_bar
from .data import Splits
from .losses import check_labels, mean_squared_error, softmax_cross_entropy
from .net import LOSSES, MLP
from .optim import Optimizer, make_optimizer

__all__ = ["MODEL_METHODS", "EarlyStopping", "History", "evaluate", "fit",
           "spawn_streams"]

#: What :func:`fit` and :func:`evaluate` call on a network (besides ``params``
#: and ``n_outputs``). A network may also offer the unchecked cores
#: ``_loss_and_grads(X, y, train, rng, loss, l2)`` and ``_scores(X)``, used
#: per minibatch after the data were checked once.
MODEL_METHODS = ("loss_and_grads", "scores", "check_X", "get_params", "set_params")


def _check_model(net: Any) -> None:
    """TypeError unless ``net`` has the model contract (an MLP or a LayerNet)."""
    if isinstance(net, MLP):
        return
    missing = [m for m in MODEL_METHODS if not callable(getattr(net, m, None))]
    if missing or not isinstance(getattr(net, "params", None), dict):
        raise TypeError(f"net must be an MLP or a network with params and "
                        f"{', '.join(MODEL_METHODS)}; got {type(net).__name__}")


def _scores(net: Any, X: np.ndarray) -> np.ndarray:
    """Evaluation-mode scores of checked inputs, by the fastest path offered."""
    if isinstance(net, MLP):
        return net._forward(X, False, None, {}, {}, 0)[0]
    core = getattr(net, "_scores", None)
    return core(X) if callable(core) else net.scores(X)


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
        At the end of training, put back the weights of the best epoch, so that
        ``History.final`` describes the network of ``History.best_epoch``.
    """

    patience: int = 10
    monitor: str = "val_loss"
    min_delta: float = 0.0
    restore_best: bool = True

    def __post_init__(self) -> None:
        check_int(self.patience, "early_stopping patience", low=1)
        check_choice(self.monitor, "early_stopping monitor", ("val_loss", "val_acc"))
        check_scalar(self.min_delta, "early_stopping min_delta", low=0.0)
        check_bool(self.restore_best, "restore_best")


@dataclass
class History:
    """Per-epoch metrics of one training run.

    Lists are indexed by epoch: entry 0 is the untrained network, entry ``e``
    the network after ``e`` epochs. Metrics are computed in evaluation mode (no
    dropout) on the full split; losses are the data loss without the L2
    penalty. A split that is absent has empty lists.

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
    """``n`` independent Generators: ``SeedSequence(seed).spawn(n)`` or ``rng.spawn(n)``.

    Raises
    ------
    TypeError
        Unless exactly one of ``seed`` (int or SeedSequence) and ``rng`` is given.
    """
    if (seed is None) == (rng is None):
        raise TypeError("give exactly one of seed (int) or rng (numpy.random.Generator); "
                        "the global NumPy random state is never used")
    if seed is not None and not isinstance(seed, np.random.SeedSequence):
        seed = check_int(seed, "seed", low=0)
    return list(as_generator(seed, rng).spawn(n))


def evaluate(net: Any, X: np.ndarray, y: np.ndarray, *, loss: str = "softmax",
             chunk: int = 4096) -> tuple[float, float | None]:
    """Evaluation-mode loss (and accuracy for classification) of ``net`` on ``(X, y)``.

    Parameters
    ----------
    net : MLP or a network with the model contract (e.g. a LayerNet)
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
    _check_model(net)
    X = (net._check_pass(X, False, None, None)[0] if isinstance(net, MLP)
         else net.check_X(X))
    if X.shape[0] == 0:
        raise ValueError("cannot evaluate on an empty set")
    return _evaluate(net, X, y, loss, check_int(chunk, "chunk", low=1))


def _evaluate(net: Any, X: np.ndarray, y: np.ndarray, loss: str,
              chunk: int = 4096) -> tuple[float, float | None]:
    """:func:`evaluate` without the checks of ``net`` and ``X``."""
    n = X.shape[0]
    total, correct = 0.0, 0
    for s in range(0, n, chunk):
        Xb, yb = X[s:s + chunk], y[s:s + chunk]
        scores = _scores(net, Xb)
        if loss == "softmax":
            value, _ = softmax_cross_entropy(scores, yb)
            correct += int(np.count_nonzero(np.argmax(scores, axis=1) == yb))
        else:
            value, _ = mean_squared_error(scores, yb)
        total += value * Xb.shape[0]
    return total / n, (correct / n if loss == "softmax" else None)


# --------------------------------------------------------------------------- checks of fit


@dataclass(frozen=True)
class _Plan:
    """The checked settings of one :func:`fit` run."""

    epochs: int
    batch_size: int
    loss: str
    l2: float
    max_norm: float | None
    early_stopping: EarlyStopping | None
    progress: bool
    dropout_epochs: tuple[int, int] | None = None

    def train_mode(self, epoch: int) -> bool:
        """Whether epoch ``epoch``'s steps run the network in training mode."""
        window = self.dropout_epochs
        return window is None or window[0] <= epoch <= window[1]


def _check_dropout_epochs(window: Any) -> tuple[int, int] | None:
    """``None`` or ``(first, last)``: two ints with ``1 <= first <= last``."""
    if window is None:
        return None
    if not isinstance(window, (tuple, list)) or len(window) != 2:
        raise TypeError("dropout_epochs must be None or a pair (first, last) of "
                        f"epochs; got {window!r}")
    first = check_int(window[0], "dropout_epochs[0]", low=1)
    last = check_int(window[1], "dropout_epochs[1]", low=first)
    return first, last


def _check_plan(net: Any, epochs: Any, batch_size: Any, loss: Any, l2: Any, max_norm: Any,
                early_stopping: Any, progress: Any,
                dropout_epochs: Any = None) -> _Plan:
    _check_model(net)
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    check_choice(loss, "loss", LOSSES)
    if loss == "softmax" and net.n_outputs < 2:
        raise ValueError("loss='softmax' needs a network with at least 2 outputs; "
                         f"this one has {net.n_outputs}")
    l2 = check_scalar(l2, "l2", low=0.0)
    if max_norm is not None:
        try:
            check_scalar(max_norm, "max_norm", low=0.0, low_open=True)
        except ValueError:
            raise ValueError("max_norm must be None or a finite number > 0; "
                             f"got {max_norm!r}") from None
        if not callable(getattr(net, "apply_max_norm", None)):
            raise TypeError(f"max_norm needs a network with apply_max_norm; "
                            f"{type(net).__name__} has none")
    if isinstance(early_stopping, bool):
        raise TypeError("early_stopping must be None, an int patience or an EarlyStopping")
    if isinstance(early_stopping, (int, np.integer)):
        early_stopping = EarlyStopping(patience=int(early_stopping))
    elif early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError("early_stopping must be None, an int patience or an EarlyStopping; "
                        f"got {type(early_stopping).__name__}")
    progress = check_bool(progress, "progress")
    window = _check_dropout_epochs(dropout_epochs)
    if window is not None and getattr(net, "uses_batchnorm", False):
        # Outside the window a step runs train=False, which for batch norm
        # would also switch to the running statistics (Liu et al. keep batch
        # statistics); the model contract has no "dropout off" for a step.
        raise ValueError("dropout_epochs cannot be used with a network that has "
                         "batch normalisation: its steps outside the window would "
                         "normalise with the running statistics; use "
                         "dropout_epochs=None")
    if callable(getattr(net, "_check_params", None)):
        net._check_params()
    return _Plan(epochs, batch_size, loss, l2, max_norm, early_stopping, progress,
                 window)


def _prepare(net: Any, data: Any, loss: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every split of ``data`` as checked ``(X, y)`` in the network's dtype."""
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
        out[split] = (X, _check_targets(net, y, loss, split))
    return out


def _check_targets(net: Any, y: np.ndarray, loss: str, split: str) -> np.ndarray:
    n = y.shape[0]
    if loss == "softmax":
        return check_labels(y, n, net.n_outputs, f"y_{split}")
    if not np.issubdtype(y.dtype, np.floating):
        raise TypeError(f"y_{split} must hold float targets for loss='mse'; got dtype {y.dtype}")
    if not ((y.ndim == 1 and net.n_outputs == 1) or y.shape == (n, net.n_outputs)):
        raise ValueError(f"y_{split} must have shape ({n}, {net.n_outputs})"
                         f"{' or (N,)' if net.n_outputs == 1 else ''} for loss='mse'; "
                         f"got {y.shape}")
    return y.astype(net.dtype, copy=False)


def _monitor(splits: dict, plan: _Plan) -> str:
    """The metric of ``best_epoch`` (and early stopping); needs what it monitors."""
    es = plan.early_stopping
    if es is None:
        return "val_loss" if "val" in splits else "train_loss"
    if "val" not in splits:
        raise ValueError("early_stopping needs a validation split (data.X_val/y_val)")
    if es.monitor == "val_acc" and plan.loss != "softmax":
        raise ValueError("early_stopping monitor 'val_acc' needs loss='softmax'")
    return es.monitor


# --------------------------------------------------------------------------- the loop


def fit(
    net: Any,
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
    dropout_epochs: tuple[int, int] | None = None,
) -> History:
    r"""Train ``net`` in place with minibatch gradient descent; any bad argument raises first.

    Each step minimises :math:`\frac1{|B|}\sum_{i\in B}\ell(f(x_i; m_i), y_i) +
    \frac{\lambda}{2}\sum_l\lVert W_l\rVert^2` on a minibatch, fresh masks :math:`m_i`.

    Parameters
    ----------
    net : MLP or a network with the model contract (e.g. a LayerNet)
    data : Splits or (X_train, y_train)
        Training data and optional val/test splits, evaluated every epoch.
    epochs, batch_size : int
        Maximum number of epochs, and examples per minibatch; >= 1.
    optimizer : Optimizer or {"sgd", "adam"}
        An instance (used as is) or a name for :func:`~dropout_lib.optim.make_optimizer`.
    seed : int or SeedSequence, optional
        Seed of the batch order and of the masks; or ``rng``. Exactly one.
    loss : {"softmax", "mse"}, default "softmax"
    l2 : float, default 0.0
        L2 weight decay on the weights (not biases), >= 0.
    max_norm : float, optional
        After each update, clip each hidden unit's incoming weights to this norm.
    early_stopping : EarlyStopping or int, optional
        An int is ``EarlyStopping(patience)``; needs a validation split.
    progress : bool, default False
        Show a tqdm bar on stderr.
    dropout_epochs : (int, int), optional
        ``(first, last)``: train with dropout only in epochs ``first..last``
        (1-based, inclusive); the other epochs' steps run the network in
        evaluation mode (``train=False``: no masks, i.e. the network that
        :func:`evaluate` scores, without dropout). ``(1, k)`` is early
        dropout, ``(k + 1, epochs)`` late dropout (Liu et al. 2023). Default:
        every epoch. The batch order does not depend on it. Refused
        (ValueError) for a network with batch normalisation
        (``net.uses_batchnorm``): its evaluation-mode steps would use the
        running statistics instead of the batch's.

    See Also
    --------
    dropout_lib.experiments.run_seeds, book/02_inverted_dropout.ipynb
    """
    plan = _check_plan(net, epochs, batch_size, loss, l2, max_norm, early_stopping, progress,
                       dropout_epochs)
    opt = make_optimizer(optimizer)
    splits = _prepare(net, data, plan.loss)
    hist = _new_history(net, splits, opt, plan)
    batch_rng, drop_rng = spawn_streams(seed, rng, 2)
    _train(net, splits, opt, plan, hist, batch_rng, drop_rng)
    return hist


def _new_history(net: Any, splits: dict, opt: Optimizer, plan: _Plan) -> History:
    classification = plan.loss == "softmax"
    hist = History(task="classification" if classification else "regression",
                   monitor=_monitor(splits, plan))
    if classification:
        hist.train_acc, hist.val_acc, hist.test_acc = [], [], []
    hist.config = {
        "epochs": plan.epochs, "batch_size": plan.batch_size, "optimizer": repr(opt),
        "loss": plan.loss, "l2": plan.l2, "max_norm": plan.max_norm,
        "early_stopping": plan.early_stopping, "net": repr(net),
        "n_train": splits["train"][0].shape[0],
    }
    return hist


def _train(net: Any, splits: dict, opt: Optimizer, plan: _Plan, hist: History,
           batch_rng: np.random.Generator, drop_rng: np.random.Generator) -> None:
    """The epochs of :func:`fit`: updates, evaluation, early stopping, final metrics."""
    es = plan.early_stopping
    _record(hist, net, splits, plan.loss, 0)
    best = _Best(hist, net, keep_params=es is not None and es.restore_best,
                 min_delta=es.min_delta if es is not None else 0.0)
    bar = progress_bar(plan.epochs, "train", plan.progress)
    X, y = splits["train"]
    for epoch in range(1, plan.epochs + 1):
        perm = batch_rng.permutation(X.shape[0])
        total = 0.0
        train = plan.train_mode(epoch)
        for start in range(0, X.shape[0], plan.batch_size):
            idx = perm[start:start + plan.batch_size]
            total += _step(net, opt, X[idx], y[idx], drop_rng, plan, train) * idx.size
        hist.batch_loss.append(total / X.shape[0])
        _record(hist, net, splits, plan.loss, epoch)
        best.update(epoch)
        if plan.progress:
            bar.tick(_status(hist))
        if not math.isfinite(hist.train_loss[-1]):
            break  # diverged: further epochs cannot recover
        if es is not None and best.since >= es.patience:
            hist.stopped_early = epoch < plan.epochs
            break
    bar.close()
    best.finish(splits)


def _step(net: Any, opt: Optimizer, X: np.ndarray, y: np.ndarray,
          drop_rng: np.random.Generator, plan: _Plan, train: bool = True) -> float:
    """One update on the minibatch ``(X, y)`` (checked data); returns its training loss.

    ``train=False`` (outside ``dropout_epochs``) takes the step without dropout.
    """
    core = getattr(net, "_loss_and_grads", None)
    if callable(core):
        value, grads = core(X, y, train, drop_rng, plan.loss, plan.l2)
    else:
        value, grads = net.loss_and_grads(X, y, train=train, rng=drop_rng,
                                          loss=plan.loss, l2=plan.l2)
    opt.step(net.params, grads)
    if plan.max_norm is not None:
        net.apply_max_norm(plan.max_norm)
    return value


def _record(hist: History, net: Any, splits: dict, loss: str, epoch: int) -> None:
    """Append epoch ``epoch``'s evaluation-mode metrics of every split to ``hist``."""
    hist.epochs.append(epoch)
    for split, (X, y) in splits.items():
        value, acc = _evaluate(net, X, y, loss)
        getattr(hist, f"{split}_loss").append(value)
        if hist.task == "classification":
            getattr(hist, f"{split}_acc").append(acc)


def _status(hist: History) -> str:
    """The progress bar's text after an epoch."""
    text = f"loss {hist.train_loss[-1]:.4f}"
    if hist.val_loss:
        text += f" val_loss {hist.val_loss[-1]:.4f}"
        if hist.val_acc:
            text += f" val_acc {hist.val_acc[-1]:.3f}"
    return text


class _Best:
    """The best epoch so far of ``hist.monitor``, and the weights to restore from it."""

    def __init__(self, hist: History, net: Any, *, keep_params: bool, min_delta: float) -> None:
        self.hist, self.net, self.min_delta = hist, net, min_delta
        self.sign = -1.0 if hist.monitor.endswith("_acc") else 1.0  # lower is better
        self.value = self._latest()  # epoch 0, already recorded
        self.params = net.get_params() if keep_params else None
        self.since = 0
        hist.best_epoch = 0

    def _latest(self) -> float:
        return self.sign * getattr(self.hist, self.hist.monitor)[-1]

    def update(self, epoch: int) -> None:
        """After epoch ``epoch`` was recorded: an improvement by more than min_delta?"""
        value = self._latest()
        if value < self.value - self.min_delta:
            self.value, self.hist.best_epoch, self.since = value, epoch, 0
            if self.params is not None:
                self.params = self.net.get_params()
        else:
            self.since += 1

    def finish(self, splits: dict) -> None:
        """Restore the best weights if kept, and fill ``hist.final``."""
        hist = self.hist
        if self.params is not None:
            self.net.set_params(self.params)
        at = hist.best_epoch if self.params is not None else len(hist.epochs) - 1
        for split in splits:
            hist.final[f"{split}_loss"] = getattr(hist, f"{split}_loss")[at]
            if hist.task == "classification":
                hist.final[f"{split}_acc"] = getattr(hist, f"{split}_acc")[at]
