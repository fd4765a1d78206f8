"""Repeatable experiments: one configuration over several seeds, and sweeps.

A :class:`Config` holds everything that defines a run except the data and the
seed. :func:`run` trains one network; :func:`run_seeds` repeats it over seeds
and summarises a metric as mean ± std; :func:`sweep`, :func:`sweep_p_drop`
and :func:`sweep_train_size` vary one setting and return arrays ready to plot.

Seeds
-----
A run with seed ``s`` spawns three independent streams from
``SeedSequence(s)``: the initial weights, the training streams (batch order
and dropout masks, see :func:`dropout_lib.training.fit`) and the training-set
subsample of :func:`sweep_train_size`. So, for one seed, runs that differ only
in ``p_drop`` start from the same weights and see the same batches: sweeps
are *paired* comparisons.

See Also
--------
book/03_co_adaptation.ipynb : sweeps over p_drop and training-set size.
book/04_ensembles.ipynb : multi-seed comparisons.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_bool, check_int, check_scalar
from .._progress import progress_bar
from ..data import Splits, subsample_train
from ..net import MLP
from ..optim import Optimizer, make_optimizer
from ..training import EarlyStopping, History, _check_dropout_epochs, evaluate, fit

__all__ = [
    "Config",
    "SeedRuns",
    "SeedSummary",
    "SweepResult",
    "run",
    "run_bagging",
    "run_seeds",
    "streams",
    "summarize",
    "sweep",
    "sweep_p_drop",
    "sweep_train_size",
]


@dataclass(frozen=True)
class Config:
    """Network and training settings of one experiment (everything but data and seed).

    Parameters
    ----------
    hidden : tuple of int, default (256, 256)
        Hidden layer sizes; input and output sizes come from the data.
    activation : str or tuple of str, default "relu"
        See :class:`~dropout_lib.net.MLP`.
    p_drop_input : float, default 0.0
    p_drop_hidden : float or tuple of float, default 0.0
    dropout_mode : {"inverted", "original"}, default "inverted"
    noise : {"bernoulli", "gaussian"}, default "bernoulli"
    init : {"auto", "he", "glorot"} or float, default "auto"
    optimizer : {"sgd", "adam"}, default "adam"
    lr : float, default 1e-3
    momentum : float, default 0.9
        Used by SGD only.
    nesterov : bool, default False
        Used by SGD only.
    epochs : int, default 50
    batch_size : int, default 64
    l2 : float, default 0.0
    max_norm : float or None, default None
    early_stopping : int, EarlyStopping or None, default None
    loss : {"softmax", "mse"}, default "softmax"
    dtype : {"float64", "float32"}, default "float64"
    dropout_epochs : (int, int) or None, default None
        Dropout only in epochs ``first..last`` (see
        :func:`~dropout_lib.training.fit`): ``(1, k)`` is early dropout.

    Raises
    ------
    TypeError, ValueError
        At construction, for any invalid setting (a trial network and
        optimizer are built to check them), so a sweep fails before training.

    Examples
    --------
    >>> cfg = Config(hidden=(256, 256), p_drop_hidden=0.5, epochs=30)
    >>> cfg.replace(p_drop_hidden=0.0).p_drop_hidden
    0.0
    """

    hidden: tuple[int, ...] = (256, 256)
    activation: str | tuple[str, ...] = "relu"
    p_drop_input: float = 0.0
    p_drop_hidden: float | tuple[float, ...] = 0.0
    dropout_mode: str = "inverted"
    noise: str = "bernoulli"
    init: str | float = "auto"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    epochs: int = 50
    batch_size: int = 64
    l2: float = 0.0
    max_norm: float | None = None
    early_stopping: int | EarlyStopping | None = None
    loss: str = "softmax"
    dtype: str = "float64"
    dropout_epochs: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        # Normalise lists to tuples (hashable, and equal whatever was passed).
        for name in ("hidden", "activation", "p_drop_hidden", "dropout_epochs"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        if isinstance(self.hidden, int):
            raise TypeError("hidden must be a tuple of layer sizes, e.g. (256,) for one layer; "
                            f"got the int {self.hidden}")
        if not isinstance(self.optimizer, str):
            raise TypeError("optimizer must be a name ('sgd' or 'adam'), so that every run gets "
                            f"a fresh optimizer; got {type(self.optimizer).__name__}")
        # Build a trial network and optimizer: their checks name the bad argument.
        self.make_net(n_inputs=1, n_outputs=2, seed=0)
        self.make_optimizer()
        check_int(self.epochs, "epochs", 1)
        check_int(self.batch_size, "batch_size", 1)
        check_scalar(self.l2, "l2", low=0.0)
        if self.max_norm is not None:
            check_scalar(self.max_norm, "max_norm", low=0.0, low_open=True)
        if self.loss not in ("softmax", "mse"):
            raise ValueError(f"loss must be 'softmax' or 'mse'; got {self.loss!r}")
        es = self.early_stopping
        if es is not None and not isinstance(es, EarlyStopping):
            if isinstance(es, bool) or not isinstance(es, int):
                raise TypeError("early_stopping must be None, an int patience "
                                "or an EarlyStopping")
            EarlyStopping(patience=es)
        _check_dropout_epochs(self.dropout_epochs)

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def make_net(self, n_inputs: int, n_outputs: int, *, seed: Any) -> MLP:
        """The network for data with ``n_inputs`` features and ``n_outputs`` outputs."""
        return MLP([n_inputs, *self.hidden, n_outputs], activation=self.activation,
                   p_drop_input=self.p_drop_input, p_drop_hidden=self.p_drop_hidden,
                   dropout_mode=self.dropout_mode, noise=self.noise,
                   init=self.init, seed=seed,
                   dtype=np.dtype(self.dtype))

    def make_optimizer(self) -> Optimizer:
        """A fresh optimizer (no state) with this config's hyperparameters."""
        name = self.optimizer.lower() if isinstance(self.optimizer, str) else self.optimizer
        if name == "sgd":
            return make_optimizer("sgd", lr=self.lr, momentum=self.momentum,
                                  nesterov=self.nesterov)
        return make_optimizer(name, lr=self.lr)

    def label(self) -> str:
        """Short human-readable description, e.g. for a legend."""
        ph = self.p_drop_hidden
        ph = "/".join(f"{p:g}" for p in ph) if isinstance(ph, tuple) else f"{ph:g}"
        return (f"{'-'.join(map(str, self.hidden))} {self.activation} "
                f"p_in={self.p_drop_input:g} p_hid={ph}")


@dataclass(frozen=True)
class SeedSummary:
    """A metric over several seeds: per-seed values, mean and sample std.

    Attributes
    ----------
    values : ndarray, shape (n_seeds,)
    mean : float
    std : float
        Sample standard deviation (``ddof=1``); NaN for a single seed.
    n : int
        Number of seeds.
    """

    values: np.ndarray
    mean: float
    std: float
    n: int

    def format(self, decimals: int = 3) -> str:
        """``"0.957 ± 0.004"`` (just the mean when there is a single seed)."""
        if self.n < 2:
            return f"{self.mean:.{decimals}f}"
        return f"{self.mean:.{decimals}f} ± {self.std:.{decimals}f}"

    def __str__(self) -> str:
        return self.format()


def summarize(values: Sequence[float] | np.ndarray) -> SeedSummary:
    """Mean and sample standard deviation (``ddof=1``) of per-seed values.

    Parameters
    ----------
    values : sequence of float, length >= 1

    Returns
    -------
    SeedSummary
        ``str(summary)`` gives e.g. ``"0.957 ± 0.004"``.
    """
    v = np.array(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("values must contain at least one number")
    std = float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
    v.flags.writeable = False
    return SeedSummary(values=v, mean=float(np.mean(v)), std=std, n=int(v.size))


@dataclass
class SeedRuns:
    """Results of one configuration over several seeds.

    Attributes
    ----------
    config : Config
    seeds : list of int
    histories : list of History
        One per seed, in the order of ``seeds``.
    metric : str
        The metric summarised in :attr:`result`, a key of ``History.final``.
    result : SeedSummary
        Summary of ``metric`` over the seeds.
    """

    config: Config
    seeds: list[int]
    histories: list[History]
    metric: str
    result: SeedSummary

    def summary(self, metric: str) -> SeedSummary:
        """Summary of any final metric, e.g. ``"val_loss"`` or ``"train_acc"``."""
        return summarize([_final(h, metric) for h in self.histories])

    def curves(self, metric: str) -> np.ndarray:
        """Per-epoch curves of ``metric``, shape (n_seeds, n_epochs + 1).

        Runs stopped early are padded with NaN.
        """
        rows = [h.metric(metric) for h in self.histories]
        width = max(r.size for r in rows)
        out = np.full((len(rows), width), np.nan)
        for i, r in enumerate(rows):
            out[i, : r.size] = r
        return out


@dataclass
class SweepResult:
    """A metric as a function of one setting, over several seeds.

    Attributes
    ----------
    param : str
        Name of the setting varied, e.g. ``"p_drop_hidden"`` or ``"n_train"``.
    values : list
        The settings, in order (x axis).
    seeds : list of int
    metric : str
        The headline metric; ``per_seed``, ``mean`` and ``std`` are its
        values, shape (n_values, n_seeds), and their mean and sample std.
    metrics : dict of str to ndarray, shape (n_values, n_seeds)
        Every final metric (``"test_loss"``, ``"train_acc"``, ...).
    histories : list of list of History
        ``histories[i][j]`` is value ``i``, seed ``j``.
    """

    param: str
    values: list[Any]
    seeds: list[int]
    metric: str
    metrics: dict[str, np.ndarray] = field(repr=False)
    histories: list[list[History]] = field(repr=False, default_factory=list)

    @property
    def per_seed(self) -> np.ndarray:
        """The headline metric, shape (n_values, n_seeds)."""
        return self.metrics[self.metric]

    @property
    def mean(self) -> np.ndarray:
        return self.per_seed.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        """Sample std over the seeds (``ddof=1``); NaN for a single seed."""
        v = self.per_seed
        return (v.std(axis=1, ddof=1) if v.shape[1] > 1
                else np.full(v.shape[0], np.nan))

    def record(self, decimals: int = 5) -> dict[str, Any]:
        """JSON-ready: ``"grid"``, ``"seeds"`` and, per final metric, the
        ``"per_seed"`` values with their ``"mean"`` and ``"std"`` (0 for one seed)."""
        out: dict[str, Any] = {"grid": list(self.values), "seeds": list(self.seeds)}
        for name, v in self.metrics.items():
            std = v.std(axis=1, ddof=1) if v.shape[1] > 1 else np.zeros(len(v))
            out[name] = {"per_seed": v.round(decimals).tolist(),
                         "mean": v.mean(axis=1).round(decimals).tolist(),
                         "std": std.round(decimals).tolist()}
        return out

    def summaries(self) -> list[SeedSummary]:
        """One :class:`SeedSummary` per setting."""
        return [summarize(row) for row in self.per_seed]

    def table(self, decimals: int = 3) -> str:
        """A plain-text table ``param | metric (mean ± std)``, stable for notebooks."""
        head = f"{self.param:>14} | {self.metric} (mean ± std over {len(self.seeds)} seeds)"
        lines = [head, "-" * len(head)]
        for v, s in zip(self.values, self.summaries(), strict=True):
            lines.append(f"{_fmt(v):>14} | {s.format(decimals)}")
        return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "/".join(_fmt(x) for x in v)
    return str(v)


def _final(h: History, metric: str) -> float:
    if metric not in h.final:
        raise ValueError(f"metric {metric!r} is not available; choose from {sorted(h.final)}")
    return h.final[metric]


def _check_seeds(seeds: Any, distinct: bool = True) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        raise TypeError(f"seeds must be a sequence of ints, e.g. range({seeds}); got an int")
    try:
        out = list(seeds)
    except TypeError:
        raise TypeError(f"seeds must be a sequence of ints; got {type(seeds).__name__}") from None
    if not out:
        raise ValueError("seeds must contain at least one seed")
    out = [check_int(s, "each seed", 0) for s in out]
    if distinct and len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct; got {out}")
    return [int(s) for s in out]


def _check_data(config: Config, data: Any) -> Splits:
    if not isinstance(data, Splits):
        raise TypeError(f"data must be a Splits; got {type(data).__name__}")
    if config.loss == "softmax" and data.n_classes is None:
        raise ValueError("config.loss='softmax' needs classification data (Splits.n_classes)")
    return data


def streams(seed: int) -> list[np.random.SeedSequence]:
    """The init, train and data streams of seed ``seed``: children of SeedSequence(seed)."""
    return np.random.SeedSequence(int(seed)).spawn(3)


def _n_outputs(config: Config, data: Splits) -> int:
    if config.loss == "softmax":
        return int(data.n_classes)
    y = data.y_train
    return 1 if y.ndim == 1 else int(y.shape[1])


def run(config: Config, data: Splits, seed: int, *,
        init_seed: int | None = None, curves: bool = True,
        progress: bool = False) -> tuple[MLP, History]:
    """Train one network of ``config`` on ``data`` with ``seed``.

    Parameters
    ----------
    config : Config
    data : Splits
    seed : int
        Non-negative; the initial weights and the training streams are spawned
        from it (see the module notes).
    init_seed : int, optional
        Take the initial weights from this seed instead: varies them alone.
    curves : bool, default True
        Evaluate every split after every epoch. ``False`` evaluates only the
        training set per epoch and the other splits once at the end (faster;
        the same final numbers).
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    net : MLP
        The trained network.
    history : History
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a Config; got {type(config).__name__}")
    _check_data(config, data)
    seed, init_seed = _check_seeds(
        [seed, seed if init_seed is None else init_seed], distinct=False)
    curves = check_bool(curves, "curves")
    if not curves and config.early_stopping is not None:
        raise ValueError("early stopping needs the validation curve; pass curves=True")
    return _train(config, data, streams(init_seed)[0], streams(seed)[1],
                  curves, progress)


def _train(config: Config, data: Splits, init_ss: np.random.SeedSequence,
           train_ss: np.random.SeedSequence, curves: bool = True,
           progress: bool = False) -> tuple[MLP, History]:
    """A new network of ``config`` from ``init_ss``, trained with ``train_ss``."""
    net = config.make_net(data.n_features, _n_outputs(config, data),
                          seed=init_ss)
    hist = fit(net, data if curves else (data.X_train, data.y_train),
               epochs=config.epochs, batch_size=config.batch_size,
               optimizer=config.make_optimizer(), seed=train_ss,
               loss=config.loss, l2=config.l2, max_norm=config.max_norm,
               early_stopping=config.early_stopping, progress=progress,
               dropout_epochs=config.dropout_epochs)
    if not curves:
        for split in data.available()[1:]:
            loss, acc = evaluate(net, *data.get(split), loss=config.loss)
            hist.final[f"{split}_loss"] = float(loss)
            if acc is not None:
                hist.final[f"{split}_acc"] = float(acc)
    return net, hist


def run_bagging(config: Config, data: Splits, seed: int, *, n_members: int,
                bootstrap: bool = True) -> tuple[list[MLP], list[History]]:
    """An ordinary ensemble: ``n_members`` networks of ``config``, trained apart.

    Parameters
    ----------
    config : Config
        Every member's settings (early stopping, if set, uses the validation
        split as for one network).
    data : Splits
    seed : int
        Member ``k`` takes its initial weights, its bootstrap sample and its
        training streams from child ``k`` of ``SeedSequence(seed)``.
    n_members : int
        Ensemble size M >= 1.
    bootstrap : bool, default True
        Train each member on N training examples drawn with replacement:
        Breiman's bagging. False gives an ensemble of independent
        initialisations on the same data (a "deep ensemble").

    Returns
    -------
    nets : list of MLP
    histories : list of History

    See Also
    --------
    dropout_lib.analysis.ensembles.ensemble_predict_proba,
    book/04_ensembles.ipynb
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a Config; got {type(config).__name__}")
    _check_data(config, data)
    (seed,) = _check_seeds([seed])
    n_members = check_int(n_members, "n_members", 1)
    bootstrap = check_bool(bootstrap, "bootstrap")
    nets, hists = [], []
    for member in np.random.SeedSequence(seed).spawn(n_members):
        init_ss, boot_ss, train_ss = member.spawn(3)
        d = data
        if bootstrap:
            n = data.X_train.shape[0]
            idx = np.random.default_rng(boot_ss).integers(0, n, n)
            d = dataclasses.replace(data, X_train=data.X_train[idx],
                                    y_train=data.y_train[idx])
        net, hist = _train(config, d, init_ss, train_ss)
        nets.append(net)
        hists.append(hist)
    return nets, hists


def run_seeds(config: Config, data: Splits, seeds: Sequence[int], *,
              metric: str = "test_acc", progress: bool = False) -> SeedRuns:
    """Run ``config`` once per seed and summarise ``metric`` as mean ± std.

    Parameters
    ----------
    config : Config
    data : Splits
    seeds : sequence of int
        Distinct non-negative seeds, e.g. ``range(5)``.
    metric : str, default "test_acc"
        A key of ``History.final``: ``"{split}_loss"`` or ``"{split}_acc"``.
    progress : bool, default False
        One progress line on stderr over the runs.

    Returns
    -------
    SeedRuns
        ``str(result.result)`` gives e.g. ``"0.975 ± 0.004"``.

    See Also
    --------
    book/04_ensembles.ipynb
    """
    seeds = _check_seeds(seeds)
    _check_data(config, data)
    check_bool(progress, "progress")
    _check_metric(config, data, metric)
    bar = progress_bar(len(seeds), "seeds", progress)
    hists = []
    for s in seeds:
        hists.append(run(config, data, s)[1])
        bar.tick(f"{metric} {hists[-1].final[metric]:.4f}")
    bar.close()
    return SeedRuns(config, seeds, hists, metric, summarize([h.final[metric] for h in hists]))


def _check_metric(config: Config, data: Splits, metric: str) -> None:
    splits = data.available()
    kinds = ("loss", "acc") if config.loss == "softmax" else ("loss",)
    allowed = [f"{s}_{k}" for s in splits for k in kinds]
    if metric not in allowed:
        raise ValueError(f"metric must be one of {allowed} for this data and loss; "
                         f"got {metric!r}")


def sweep(config: Config, data: Splits, *, param: str, values: Sequence[Any],
          seeds: Sequence[int], metric: str = "test_acc", curves: bool = True,
          progress: bool = False) -> SweepResult:
    """Vary one setting over ``values``; run each over ``seeds``.

    Parameters
    ----------
    config : Config
        The base configuration.
    data : Splits
    param : str
        A Config field, e.g. ``"p_drop_hidden"``, ``"l2"``, ``"hidden"``; or
        ``"init_seed"``, which varies the initial weights alone.
    values : sequence
        Settings of ``param``; every Config is validated before training.
    seeds : sequence of int
    metric : str, default "test_acc"
        The headline metric (``SweepResult.metrics`` holds all of them).
    curves : bool, default True
        See :func:`run`.
    progress : bool, default False

    Returns
    -------
    SweepResult
        ``mean``/``std`` arrays aligned with ``values``.
    """
    values = list(values)
    if param == "init_seed":
        return _run_grid(param, values, [(config, data)] * len(values), seeds,
                         metric, progress, curves=curves,
                         init_seeds=_check_seeds(values))
    fields = {f.name for f in dataclasses.fields(Config)}
    if param not in fields:
        raise ValueError(f"param must be a Config field ({sorted(fields)}) or "
                         f"'init_seed'; got {param!r}")
    jobs = [(config.replace(**{param: v}), data) for v in values]
    return _run_grid(param, values, jobs, seeds, metric, progress, curves=curves)


def sweep_p_drop(config: Config, data: Splits, p_drops: Sequence[float], *,
                 seeds: Sequence[int], where: str = "hidden",
                 metric: str = "test_acc", curves: bool = True,
                 progress: bool = False) -> SweepResult:
    """Sweep the drop probability of the hidden layers, the inputs, or both.

    Parameters
    ----------
    config : Config
    data : Splits
    p_drops : sequence of float
        Drop probabilities in [0, 1).
    seeds : sequence of int
    where : {"hidden", "input", "both"}, default "hidden"
        Which drop probability to set (``"both"`` sets input and hidden to the
        same value).
    metric : str, default "test_acc"
    curves, progress : bool
        See :func:`sweep`.

    Returns
    -------
    SweepResult
        ``param`` is ``"p_drop_hidden"``, ``"p_drop_input"`` or ``"p_drop"``.

    See Also
    --------
    book/03_co_adaptation.ipynb
    """
    fields = {"hidden": ("p_drop_hidden",), "input": ("p_drop_input",),
              "both": ("p_drop_input", "p_drop_hidden")}
    if where not in fields:
        raise ValueError(f"where must be 'hidden', 'input' or 'both'; got {where!r}")
    names = fields[where]
    jobs = [(config.replace(**dict.fromkeys(names, p)), data) for p in p_drops]
    param = names[0] if len(names) == 1 else "p_drop"
    return _run_grid(param, list(p_drops), jobs, seeds, metric, progress,
                     curves=curves)


def sweep_train_size(config: Config, data: Splits, n_trains: Sequence[int], *,
                     seeds: Sequence[int], metric: str = "test_acc",
                     epochs_for: Callable[[int], int] | None = None,
                     curves: bool = True, progress: bool = False) -> SweepResult:
    """Vary the number of training examples; validation and test sets stay fixed.

    Parameters
    ----------
    config : Config
    data : Splits
        Its training set is the pool the subsets are drawn from.
    n_trains : sequence of int
        Training-set sizes, e.g. ``[50, 100, 300, 1000]``.
    seeds : sequence of int
        For each seed the subsets are drawn (stratified) from that seed's data
        stream; with one seed they are nested (the 50 are among the 100).
    metric : str, default "test_acc"
    epochs_for : callable, optional
        ``epochs_for(n_train) -> epochs``; e.g. to keep the number of updates
        roughly constant for small sets. Default: ``config.epochs``.
    curves, progress : bool
        See :func:`sweep`.

    Returns
    -------
    SweepResult
        ``param`` is ``"n_train"``.

    See Also
    --------
    dropout_lib.data.subsample_train, book/03_co_adaptation.ipynb
    """
    _check_data(config, data)
    seeds_l = _check_seeds(seeds)
    pool = data.X_train.shape[0]
    sizes = [check_int(n, "n_trains", 1, pool) for n in n_trains]
    configs = [config if epochs_for is None else config.replace(epochs=epochs_for(n))
               for n in sizes]
    jobs = []
    for n, cfg in zip(sizes, configs, strict=True):
        per_seed = {s: subsample_train(data, n, seed=streams(s)[2]) for s in seeds_l}
        jobs.append((cfg, per_seed))
    return _run_grid("n_train", sizes, jobs, seeds_l, metric, progress,
                     curves=curves)


def _run_grid(param: str, values: list[Any], jobs: list[tuple[Config, Any]],
              seeds: Sequence[int], metric: str, progress: bool, *,
              curves: bool = True, init_seeds: Sequence[int] | None = None
              ) -> SweepResult:
    """Run every job over every seed. A job is ``(config, data)``, where data
    is a Splits or ``{seed: Splits}``; ``init_seeds[i]`` fixes job i's weights."""
    seeds = _check_seeds(seeds)
    check_bool(progress, "progress")
    for cfg, data in jobs:  # validate everything before the first run
        d = data if isinstance(data, Splits) else next(iter(data.values()))
        _check_data(cfg, d)
        _check_metric(cfg, d, metric)
    bar = progress_bar(len(jobs) * len(seeds), param, progress)
    histories: list[list[History]] = []
    for i, (cfg, data) in enumerate(jobs):
        init = None if init_seeds is None else init_seeds[i]
        row = []
        for s in seeds:
            d = data if isinstance(data, Splits) else data[s]
            row.append(run(cfg, d, s, init_seed=init, curves=curves)[1])
            bar.tick(f"{param}={_fmt(values[i])} {metric} "
                     f"{row[-1].final[metric]:.4f}")
        histories.append(row)
    bar.close()
    metrics = {m: np.array([[h.final[m] for h in row] for row in histories])
               for m in histories[0][0].final}
    return SweepResult(param, values, list(seeds), metric, metrics, histories)
