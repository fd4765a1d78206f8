"""Gaussian against Bernoulli dropout: the saved evidence is consistent and reproducible."""
import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import evidence, gaussian, registry
from dropout_lib.experiments.core import run
from dropout_lib.experiments.tuning import without_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return registry.load(gaussian.NAME, ROOT / gaussian.CACHE_FILE)


def test_saved_file_has_three_splits_and_five_seeds(saved):
    assert saved["format"] == gaussian.FORMAT and saved["scale"] == "full"
    assert len(saved["split_seeds"]) >= 3 and len(saved["seeds"]) >= 5
    assert [s["split_seed"] for s in saved["splits"]] == saved["split_seeds"]
    assert not set(saved["seeds"]) & set(saved["config"]["tune_seeds"])
    for rec in saved["comparisons"].values():
        assert np.shape(rec["effects"]) == (len(saved["split_seeds"]),
                                            len(saved["seeds"]))
        assert rec["better"] == "equal" and len(rec["per_example"]) == 3


def test_choices_are_each_splits_validation_argmin(saved):
    for split in saved["splits"]:
        for arm, t in split["tuning"].items():
            mean = np.mean(t["val_loss"], axis=1)
            assert t["chosen"] == int(np.argmin(mean))
            chosen = t["settings"][t["chosen"]]
            assert {k: split["final"][arm][k] for k in chosen} == chosen
            assert set(t["edges"]) == set(chosen)


def test_comparisons_are_the_per_seed_differences(saved):
    for m in gaussian.MARGINS:
        rec = saved["comparisons"][f"gaussian-vs-bernoulli-{m.replace('_', '-')}"]
        d = [np.subtract(s["final"]["gaussian"][m], s["final"]["bernoulli"][m])
             for s in saved["splits"]]
        np.testing.assert_allclose(rec["effects"], d, atol=2e-6)
        # the per-example differences average to the same effect per split
        np.testing.assert_allclose([np.mean(p) for p in rec["per_example"]],
                                   np.mean(d, axis=1), atol=2e-5)
        assert evidence.verdict(rec).label in evidence.LABELS


def test_first_gaussian_seed_reruns(saved, numerics_exact):
    split = saved["splits"][0]
    f = split["final"]["gaussian"]
    cfg = gaussian.ARMS["gaussian"].replace(
        epochs=saved["config"]["epochs"], lr=f["lr"], p_drop_hidden=f["p_drop_hidden"])
    data = digits_splits(seed=split["split_seed"])
    net = run(cfg, without_test(data), saved["seeds"][0], curves=False)[0]
    err = float(np.mean(net.predict(data.X_test) != data.y_test))
    tol = 1e-6 if numerics_exact else 0.03  # elsewhere: another summation order
    assert abs(err - f["test_error"][0]) <= tol


def test_small_study_runs_and_is_json():
    out = json.loads(json.dumps(gaussian.run_study("small")))
    assert out["split_seeds"] == [0, 1] and len(out["splits"]) == 2
    assert set(out["comparisons"]) == {"gaussian-vs-bernoulli-test-loss",
                                       "gaussian-vs-bernoulli-test-error"}


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        gaussian.run_study("huge")
