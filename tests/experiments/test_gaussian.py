"""Chapter 5's Gaussian-against-Bernoulli comparison: saved results hold together."""
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import gaussian
from dropout_lib.experiments.core import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return gaussian.load(ROOT / gaussian.CACHE_FILE)


@pytest.mark.parametrize("arm", sorted(gaussian.ARMS))
def test_choice_is_the_validation_argmin(saved, arm):
    t = saved["tuning"][arm]
    means = np.array(t["val_loss"]).mean(axis=1)
    assert t["chosen"] == int(np.argmin(means))
    chosen = t["settings"][t["chosen"]]
    final = saved["final"][arm]
    assert (final["lr"], final["p_drop_hidden"]) == (chosen["lr"],
                                                     chosen["p_drop_hidden"])


def test_every_arm_has_every_seed(saved):
    assert len(saved["seeds"]) >= 5
    assert not set(saved["seeds"]) & set(saved["tune_seeds"])
    for arm in gaussian.ARMS:
        for key in ("test_loss", "test_acc"):
            assert len(saved["final"][arm][key]) == len(saved["seeds"])


def test_first_gaussian_seed_reruns(saved, numerics_exact):
    f = saved["final"]["gaussian"]
    cfg = gaussian.ARMS["gaussian"].replace(
        lr=f["lr"], p_drop_hidden=f["p_drop_hidden"], epochs=saved["epochs"])
    final = run(cfg, digits_splits(seed=0), saved["seeds"][0],
                curves=False)[1].final
    tol = 1e-6 if numerics_exact else 0.05
    assert abs(final["test_loss"] - f["test_loss"][0]) <= tol
    assert abs(final["test_acc"] - f["test_acc"][0]) <= tol


def test_small_study_has_the_saved_layout(saved):
    small = gaussian.run_study("small")
    assert small["tuning"].keys() == saved["tuning"].keys()
    assert small["final"]["gaussian"].keys() == saved["final"]["gaussian"].keys()
    assert small["scale"] == "small" and saved["scale"] == "full"
