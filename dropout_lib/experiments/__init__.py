"""Repeatable experiments: configurations, seeded runs, sweeps and summaries.

Everything the book trains goes through :func:`run`. The co-adaptation
chapter's sweeps and their cache are in
:mod:`dropout_lib.experiments.coadaptation`.
"""

from . import coadaptation
from .core import (
    Config,
    SeedRuns,
    SeedSummary,
    SweepResult,
    run,
    run_bagging,
    run_seeds,
    streams,
    summarize,
    sweep,
    sweep_p_drop,
    sweep_train_size,
)

__all__ = [
    "Config",
    "SeedRuns",
    "SeedSummary",
    "SweepResult",
    "coadaptation",
    "run",
    "run_bagging",
    "run_seeds",
    "streams",
    "summarize",
    "sweep",
    "sweep_p_drop",
    "sweep_train_size",
]
