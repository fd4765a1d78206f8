"""Statistical and RNG helpers shared by the test modules."""
from __future__ import annotations

import math

import numpy as np


def binomial_tolerance(n: int, prob: float) -> float:
    """Allowed |count - n * prob| for a Binomial(n, prob) count: 5 sigma plus 5 events.

    The 5 extra events keep the bound valid where the normal approximation fails
    (n * prob small, e.g. p_drop = 1e-5): the Poisson tail P(X >= mu + 5 sqrt(mu) + 5)
    is below 1e-6 for every mean mu.
    """
    return 5.0 * math.sqrt(n * prob * (1.0 - prob)) + 5.0


def global_state_equal(a, b) -> bool:
    """Whether two results of np.random.get_state() describe the same global RNG state."""
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:])
