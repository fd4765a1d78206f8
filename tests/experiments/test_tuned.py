"""Tests of dropout_lib.experiments.tuned: chapter 3's headline comparison."""

import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.experiments import evidence, registry, run, tuning
from dropout_lib.experiments import tuned as study
from dropout_lib.experiments.tuning import without_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small():
    return study.run_study("small")


@pytest.fixture(scope="module")
def cached():
    return registry.load(study.NAME, ROOT / study.CACHE_FILE)


def _check_layout(res, n_splits, n_seeds):
    assert len(res["split_seeds"]) == n_splits
    assert res["seeds"] == list(range(n_seeds))
    assert set(res["datasets"]) == set(study.DATASETS)
    for ds, block in res["datasets"].items():
        assert [s["split_seed"] for s in block["splits"]] == res["split_seeds"]
        for sp in block["splits"]:
            for arm, fin in sp["final"].items():
                assert fin["seeds"] == res["seeds"], (ds, arm)
                for key in ("test_loss", "test_acc", "ts_test_loss"):
                    assert len(fin[key]) == n_seeds
                    assert np.all(np.isfinite(fin[key]))
                assert np.all((np.array(fin["test_acc"]) >= 0)
                              & (np.array(fin["test_acc"]) <= 1))
            for arm in ("plain", "dropout"):
                t = sp["tuning"][arm]
                k = t["chosen"]
                assert t["mean_val_loss"][k] == min(t["mean_val_loss"])
                assert set(t["edges"]) == set(t["settings"][k])
    names = {f"{m}-{ds}" for ds in study.DATASETS
             for m in ("test_loss", "ts_test_loss", "test_acc")}
    assert names <= set(res["comparisons"])
    for name, rec in res["comparisons"].items():
        e = np.array(rec["effects"])
        assert e.shape == (n_splits, n_seeds), name
        assert len(rec["per_example"]) == n_splits
        assert evidence.verdict(rec).label in evidence.LABELS


def test_small_study_is_deterministic_and_well_formed(small):
    _check_layout(small, 2, 2)
    again = study.run_study("small", split_seeds=[1])
    assert again["datasets"]["digits"]["splits"][0] == \
        small["datasets"]["digits"]["splits"][1]
    assert again["comparisons"] == {}  # one split is no evidence


def test_per_example_differences_average_to_the_effects(small):
    for name, rec in small["comparisons"].items():
        per_split = np.array(rec["effects"]).mean(axis=1)
        per_ex = np.array([np.mean(p) for p in rec["per_example"]])
        assert np.allclose(per_split, per_ex, atol=1e-5), name


def test_cache_has_the_layout_of_a_small_run(cached, small):
    assert cached["scale"] == "full" and cached["format"] == study.FORMAT
    assert len(cached["split_seeds"]) >= 3 and len(cached["seeds"]) >= 5
    _check_layout(cached, len(cached["split_seeds"]), len(cached["seeds"]))
    assert set(cached["comparisons"]) >= set(small["comparisons"])
    assert json.loads(json.dumps(small)) == small  # JSON-ready


def _choices(res):
    """Every saved choice: (data set, split, arm, field, edge record)."""
    for ds, block in res["datasets"].items():
        for sp in block["splits"]:
            for arm in ("plain", "dropout"):
                for key, e in sp["tuning"][arm]["edges"].items():
                    yield ds, sp["split_seed"], arm, key, e


def test_cache_choices_are_interior_or_at_a_natural_bound(cached):
    """No saved choice is on a grid's edge: each numeric choice has a
    smaller and a larger value tried beside it, or sits at a natural bound
    (L2 of 0, no penalty, nothing below it)."""
    n = 0
    for ds, split, arm, key, e in _choices(cached):
        where = (ds, split, arm, key, e)
        assert not e["on_edge"], where
        v, values = e["chosen"], e["values"]
        if not isinstance(v, (int, float)) or len(values) < 2:
            continue  # the optimizer, or a field with one value
        n += 1
        assert v in values, where
        if e["at_bound"]:
            assert key in tuning.BOUNDS and v in tuning.BOUNDS[key], where
            assert v == min(values), where  # the bound is the lower end
        else:
            assert min(values) < v < max(values), where
    assert n >= 2 * 2 * len(cached["split_seeds"])  # lr and a regulariser


def test_full_tuning_uses_two_seeds_and_extends_its_grids(cached):
    for block in cached["datasets"].values():
        for sp in block["splits"]:
            for arm in ("plain", "dropout"):
                t = sp["tuning"][arm]
                assert len(t["seeds"]) >= 2
                assert not set(t["seeds"]) & set(cached["seeds"])
                assert np.array(t["val_loss"]).shape == (
                    len(t["settings"]), len(t["seeds"]))


def test_small_study_extends_a_choice_off_its_grid_edge(small):
    """Every small grid has two learning rates or drop probabilities, so
    the first choice is always on an edge: tune must have added values."""
    for ds, block in small["datasets"].items():
        grids = study.DATASETS[ds]["small"]["grids"]
        for sp in block["splits"]:
            for arm in ("plain", "dropout"):
                t = sp["tuning"][arm]
                assert len(t["settings"]) > len(
                    tuning.expand_grid(grids[arm])), (ds, arm)
                for key, e in t["edges"].items():
                    assert len(e["values"]) > 2, (ds, arm, key)


def test_cache_matches_a_rerun_of_its_cheapest_configuration(numerics_exact):
    """The book's file reproduces: re-run the chosen plain network of
    digits split 0, seed 0. Bit for bit on the reference numeric
    environment; elsewhere only to within 0.05 in loss."""
    res = registry.load(study.NAME, ROOT / study.CACHE_FILE)
    sp = res["datasets"]["digits"]["splits"][0]
    t = sp["tuning"]["plain"]
    cfg = study.arm_config("digits", "full", "plain",
                           t["settings"][t["chosen"]])
    data = study.DATASETS["digits"]["data"](
        sp["split_seed"], study.DATASETS["digits"]["full"]["n_train"])
    net, hist = run(cfg, without_test(data), res["seeds"][0])
    got = study.evaluate_net(net, data)
    fin = sp["final"]["plain"]
    tol = 2e-6 if numerics_exact else 0.05
    assert got["test_loss"] == pytest.approx(fin["test_loss"][0], abs=tol)
    assert got["ts_test_loss"] == pytest.approx(fin["ts_test_loss"][0],
                                                abs=tol)
    if numerics_exact:
        assert hist.best_epoch == fin["best_epoch"][0]


def test_cache_choices_have_neighbours_along_every_varied_field(cached):
    """The extension grows the choice's sub-grid as a full product: a field
    that varies among the settings of the choice's family (same optimizer
    and fields) is tried at >= 2 values on the line through the choice."""
    for ds, block in cached["datasets"].items():
        for sp in block["splits"]:
            for arm in ("plain", "dropout"):
                t = sp["tuning"][arm]
                s = t["settings"][t["chosen"]]
                family = [o for o in t["settings"] if o.keys() == s.keys()
                          and o.get("optimizer") == s.get("optimizer")]
                for key, e in t["edges"].items():
                    if len({str(o.get(key)) for o in family}) > 1:
                        assert len(e["values"]) >= 2, (ds, sp["split_seed"],
                                                       arm, key)
