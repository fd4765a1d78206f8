"""Tests of dropout_lib.experiments.mnist: chapter 5's MNIST study and its saved results."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.experiments import mnist as study
from dropout_lib.experiments import registry
from dropout_lib.experiments.core import streams
from dropout_lib.experiments.stats import paired_ci, t_interval
from dropout_lib.experiments.tuning import expand_grid

ROOT = Path(__file__).resolve().parents[2]
# Tolerance of the stored values, which are rounded to 6 decimals.
ROUND = 1.5e-6


@pytest.fixture(scope="module")
def cached() -> dict:
    path = ROOT / study.CACHE_FILE
    assert path.exists(), (f"{study.CACHE_FILE} is missing; run python -m "
                           "dropout_lib.experiments run mnist --scale full")
    return registry.load(study.NAME, path)


@pytest.fixture(scope="module")
def small() -> dict:
    """A fresh small run, through JSON like the saved file."""
    return json.loads(json.dumps(study.run_study("small")))


def _studies(results: dict) -> list[dict]:
    return [results[name] for name in ("full", "small")]


def test_saved_file_has_format_provenance_paper_and_notes(cached):
    assert cached["format"] == study.FORMAT and cached["study"] == study.NAME
    assert cached["rerun"] == "python -m dropout_lib.experiments run mnist --scale full"
    assert cached["split_seeds"] == [0]
    for key in ("library", "numpy", "numeric_env"):
        assert cached[key], key
    assert cached["numeric_env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert cached["full"]["scale"] == "full" and cached["small"]["scale"] == "small"
    assert cached["paper"] == study.PAPER
    t9 = cached["paper"]["table_9"]["test_error_percent"]
    assert set(t9) == set(study.ARMS) == set(cached["full"]["arms"])
    assert t9 == {"no_dropout": 1.62, "max_norm": 1.35, "dropout": 1.25,
                  "dropout_max_norm": 1.05}
    assert "784-1024-1024-2048-10" in cached["paper"]["table_9"]["source"]
    assert 1.06 in cached["paper"]["table_2"]["rows"].values()
    notes = " ".join(cached["notes"])
    assert "60,000" in notes and "10,000" in notes and "writer" in notes


def test_full_study_design(cached):
    full = cached["full"]
    cfg = full["config"]
    assert cfg["network"] == "784-512-512-10 ReLU"
    assert cfg["sizes"] == {"train": 7000, "val": 1000, "test": 2000}
    assert cfg["updates"] == cfg["epochs"] * 70
    seeds = cfg["seeds"]
    assert len(seeds) >= 5 and not set(seeds) & set(cfg["tune_seeds"])
    for name, arm in full["arms"].items():
        assert arm["final"]["seeds"] == seeds, name  # paired by seed
        assert len(arm["tuning"]["settings"]) >= 2, name  # its own grid
        settings = arm["tuning"]["settings"]
        # the arm's grid first, then the settings tune(extend=True) added
        grid = expand_grid(study.ARMS[name][1])
        assert settings[:len(grid)] == grid, name
        for key, edge in arm["tuning"]["edges"].items():
            assert not edge["on_edge"], (name, key, edge)
        # Every arm trains for the same number of epochs; only the kept epoch varies.
        assert all(1 <= e <= cfg["epochs"] for e in arm["final"]["best_epoch"]), name
        assert arm["tuning"]["epochs_trained"] == (
            cfg["epochs"] * len(arm["tuning"]["settings"]) * len(cfg["tune_seeds"]))
    base = {n: a["base"] for n, a in full["arms"].items()}
    assert base["no_dropout"]["p_drop_input"] == 0 == base["no_dropout"]["p_drop_hidden"]
    for name in ("dropout", "dropout_max_norm"):
        assert (base[name]["p_drop_input"], base[name]["p_drop_hidden"]) == (0.2, 0.5)
    assert base["dropout"]["max_norm"] is None
    assert base["max_norm"]["p_drop_input"] == 0 == base["max_norm"]["p_drop_hidden"]
    assert base["max_norm"]["max_norm"] == base["dropout_max_norm"]["max_norm"]
    assert base["max_norm"]["momentum"] == base["dropout_max_norm"]["momentum"]
    assert base["dropout_max_norm"]["max_norm"] in (3.0, 4.0)
    assert base["dropout_max_norm"]["momentum"] > base["dropout"]["momentum"]


@pytest.mark.parametrize("which", ["full", "small"])
def test_chosen_settings_are_the_validation_argmin(cached, which):
    for name, arm in cached[which]["arms"].items():
        t = arm["tuning"]
        acc = np.array(t["val_acc"])
        np.testing.assert_allclose(t["mean_val_acc"], acc.mean(axis=1), atol=ROUND)
        np.testing.assert_allclose(t["val_error"], 1 - acc.mean(axis=1), atol=ROUND)
        assert t["chosen"] == int(np.argmin(t["val_error"])), name
        assert arm["chosen"] == t["settings"][t["chosen"]], name
        assert arm["grid"] == {k: v for k, v in arm["grid"].items()
                               if k not in arm["base"]}, name


@pytest.mark.parametrize("which", ["full", "small"])
def test_intervals_and_differences_follow_from_the_per_seed_errors(cached, which):
    arms = cached[which]["arms"]
    for name, arm in arms.items():
        f = arm["final"]
        err = np.array(f["test_error"])
        assert np.all((err >= 0) & (err <= 1)), name
        n_test = cached[which]["config"]["sizes"]["test"]
        np.testing.assert_allclose(err * n_test, np.round(err * n_test), atol=1e-3)
        wrong = np.array([[c == "1" for c in w] for w in f["test_wrong"]])
        assert wrong.shape == (len(f["seeds"]), n_test), name
        np.testing.assert_allclose(wrong.mean(axis=1), err, atol=ROUND)
        ci = t_interval(err)
        assert f["mean"] == pytest.approx(err.mean(), abs=ROUND)
        assert f["ci"] == pytest.approx([ci.low, ci.high], abs=ROUND)
        assert f["ci"][0] <= f["mean"] <= f["ci"][1], name
        assert f["ci_with_test_set"][0] < f["ci"][0] <= f["ci"][1] < f["ci_with_test_set"][1]
    diffs = cached[which]["differences"]
    assert [(d["b"], d["a"]) for d in diffs.values()] == list(study.DIFFERENCES)
    for key, d in diffs.items():
        a = np.array(arms[d["a"]]["final"]["test_error"])
        b = np.array(arms[d["b"]]["final"]["test_error"])
        np.testing.assert_allclose(d["per_seed"], b - a, atol=ROUND)
        ci = paired_ci(a, b)
        assert d["mean"] == pytest.approx(ci.mean, abs=ROUND), key
        assert d["ci"] == pytest.approx([ci.low, ci.high], abs=ROUND), key
        assert d["ci"][0] <= d["mean"] <= d["ci"][1], key
        # the test-set term only widens the interval
        low, high = d["ci_with_test_set"]
        assert low < d["ci"][0] and high > d["ci"][1], key
        n_test = cached[which]["config"]["sizes"]["test"]
        # the test-set term: the standard error of the per-image paired
        # differences, averaged over seeds
        wa, wb = ([[c == "1" for c in w] for w in arms[k]["final"]["test_wrong"]]
                  for k in (d["a"], d["b"]))
        per_image = np.mean(np.array(wb, float) - np.array(wa, float), axis=0)
        se = per_image.std(ddof=1) / np.sqrt(n_test)
        assert d["test_set_se"] == pytest.approx(se, abs=ROUND), key
        np.testing.assert_allclose(
            d["disagree"], np.mean(np.array(wa) != np.array(wb), axis=1), atol=ROUND)
        half = np.hypot(ci.high - ci.mean, 1.959964 * se)
        assert [low, high] == pytest.approx([ci.mean - half, ci.mean + half], abs=ROUND)
        assert d["covers_zero"] == (low <= 0 <= high), key


def test_small_rerun_reproduces_the_saved_small_study(cached, small, numerics_exact):
    assert set(small) == set(cached) - {"full"}
    if numerics_exact:
        assert small["small"] == cached["small"]
        return
    # Off the reference kernel, training can differ in late digits: same
    # design, errors close.
    fresh, saved = small["small"], cached["small"]
    assert fresh["config"] == saved["config"]
    for name in saved["arms"]:
        np.testing.assert_allclose(fresh["arms"][name]["final"]["test_error"],
                                   saved["arms"][name]["final"]["test_error"], atol=0.05)


def test_small_study_is_small(small):
    s = small["small"]
    assert s["config"]["sizes"]["train"] < 1000
    assert s["config"]["epochs"] <= 3 and len(s["config"]["seeds"]) >= 2


def test_arms_start_from_the_same_weights_for_a_seed():
    nets = [cfg.make_net(784, 10, seed=streams(3)[0]) for cfg, _ in study.ARMS.values()]
    for net in nets[1:]:
        for key, value in nets[0].params.items():
            np.testing.assert_array_equal(net.params[key], value)
    other = study.ARMS["dropout"][0].make_net(784, 10, seed=streams(4)[0])
    assert not np.array_equal(other.params["W1"], nets[0].params["W1"])


def test_bad_scale_raises():
    with pytest.raises(ValueError, match="scale"):
        study.run_study("medium")
