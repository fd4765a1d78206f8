"""Statistical, RNG and gradient-check helpers shared by the test modules."""
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


def param_gradient_errors(params: dict, loss, keys=None) -> dict:
    """Relative error of each analytic gradient against centred differences.

    ``loss()`` returns ``(value, grads)`` of the network whose parameter dict is
    ``params``; each parameter in ``keys`` (default: all) is replaced in turn, and
    restored, while the numerical gradient is taken. Returns ``{key: error}``.
    """
    from dropout_lib.gradcheck import numerical_gradient, rel_error

    grads = loss()[1]
    errors = {}
    for key in (params if keys is None else keys):
        def f(w, key=key):
            old, params[key] = params[key], w
            try:
                return loss()[0]
            finally:
                params[key] = old
        errors[key] = rel_error(grads[key], numerical_gradient(f, params[key]))
    return errors
