"""Chapter 4's study: dropout against real ensembles, and MC dropout."""

import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.analysis.calibration import nll
from dropout_lib.data import digits_splits
from dropout_lib.experiments import bagging, evidence, registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small():
    return bagging.run_study("small")


def test_the_study_is_registered_under_its_name():
    st = registry.studies()[bagging.NAME]
    assert st.module is bagging
    assert st.cache_file == bagging.CACHE_FILE


def test_small_study_is_deterministic_and_well_formed(small, tmp_path):
    out = tmp_path / "ens.json"
    assert registry.main(["run", bagging.NAME, "--scale", "small",
                          "--out", str(out)]) == 0
    assert registry.load(bagging.NAME, out) == json.loads(json.dumps(small))
    s = bagging.SCALES["small"]
    assert small["split_seeds"] == list(s["split_seeds"])
    assert small["seeds"] == list(s["seeds"])
    for ds in s["datasets"]:
        splits = small["datasets"][ds]
        assert [p["split"] for p in splits] == list(s["split_seeds"])
        for p in splits:
            assert set(p["final"]) == set(bagging.ARMS)
            for arm in p["final"].values():
                assert len(arm["test_loss"]) == len(s["seeds"])
                assert all(c > 0 for c in arm["compute"])
            for way in ("weight_scaling", "temperature", "mc_dropout",
                        "deep_ensemble"):
                assert len(p["mc"][way]["test_loss"]) == len(s["seeds"])
            assert "auroc_mi" in p["mc"]["mc_dropout"]
    n_splits, n_seeds = len(s["split_seeds"]), len(s["seeds"])
    for name, rec in small["comparisons"].items():
        assert rec["name"] == name
        shape = np.shape(rec["effects"])
        reg = rec["dataset"] == "gap regression"
        assert shape == (n_splits, len(s["reg_seeds"]) if reg else n_seeds)
        assert evidence.verdict(rec).label in evidence.LABELS


def test_the_effects_are_the_paired_differences_of_the_saved_runs(small):
    for p, row in zip(small["datasets"]["digits"],
                      small["comparisons"]["dropout-vs-plain-loss-digits"]
                      ["effects"]):
        f = p["final"]
        np.testing.assert_allclose(
            row, np.subtract(f["dropout"]["test_loss"],
                             f["plain"]["test_loss"]), atol=2e-6)
    rec = small["comparisons"]["dropout-vs-plain-acc-digits"]
    for p, per, row in zip(small["datasets"]["digits"], rec["per_example"],
                           rec["effects"]):
        # the per-image differences average to the split's mean difference
        assert np.mean(per) == pytest.approx(np.mean(row), abs=1e-5)
        assert len(per) == p["sizes"]["test"]


def test_bagging_members_together_match_one_network():
    for ds, d in bagging.DATASETS.items():
        n_in = 64 if ds == "digits" else 784
        one = bagging.arm_config(ds, "plain").make_net(n_in, 10, seed=0)
        member = bagging.arm_config(ds, "bagging").make_net(n_in, 10, seed=0)
        ratio = d["members"] * member.n_params / one.n_params
        assert abs(ratio - 1) < 0.05, (ds, ratio)


def test_a_choice_on_an_edge_extends_the_grid():
    assert bagging._extend([1e-3, 2e-3], 1e-3, "lr") == [5e-4, 1e-3, 2e-3]
    assert bagging._extend([1e-3, 2e-3], 2e-3, "lr") == [1e-3, 2e-3, 4e-3]
    assert bagging._extend([0.1, 0.3], 0.3, "p_drop_hidden") == [0.1, 0.3, 0.4]
    assert bagging._extend([0.1, 0.3], 0.1, "p_drop_hidden") == [0.05, 0.1,
                                                                 0.3]
    # below 0.05 dropout becomes the plain arm: the grid stops there
    assert bagging._extend([0.05, 0.1], 0.05, "p_drop_hidden") is None


def test_full_file_has_interior_choices_and_three_splits():
    res = registry.load(bagging.NAME, ROOT / bagging.CACHE_FILE)
    assert res["scale"] == "full"
    assert len(res["split_seeds"]) >= 3 and len(res["seeds"]) >= 5
    for ds in ("digits", "mnist"):
        for p in res["datasets"][ds]:
            for arm, t in p["tuning"].items():
                for key, e in t["edges"].items():
                    # an edge choice is allowed only where the grid cannot
                    # grow: p_drop at its natural end 0.05
                    assert not e["on_edge"] or (
                        key == "p_drop_hidden" and e["chosen"] == 0.05), (
                        ds, p["split"], arm, key, e)


def test_full_file_matches_a_rerun_of_its_cheapest_arm(numerics_exact):
    res = registry.load(bagging.NAME, ROOT / bagging.CACHE_FILE)
    split = res["datasets"]["digits"][0]
    cfg = bagging.arm_config("digits", "plain").replace(
        lr=split["chosen"]["plain"]["lr"])
    data = digits_splits(seed=split["split"])
    (net,), _ = bagging.final_arm("digits", "plain", cfg, data,
                                  res["seeds"][0])
    loss = nll(net.predict_proba(data.X_test), data.y_test)
    tol = 2e-6 if numerics_exact else 0.05
    assert loss == pytest.approx(split["final"]["plain"]["test_loss"][0],
                                 abs=tol)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="scale"):
        bagging.run_study("medium")
    with pytest.raises(ValueError, match="split_seeds"):
        bagging.run_study("small", split_seeds=[0])
    with pytest.raises(ValueError, match="dataset"):
        bagging.arm_config("cifar", "plain")
    with pytest.raises(ValueError, match="arm"):
        bagging.arm_config("digits", "boosting")


def test_ensemble_against_mc_dropout_is_saved_by_entropy_and_by_mi(small):
    # the deep ensemble's AUROC gain is recorded by both uncertainty scores,
    # so a chapter cannot report the favourable one alone
    for metric in ("auroc_entropy", "auroc_mi"):
        rec = small["comparisons"][
            f"deep_ensemble-vs-mc_dropout-{metric}-digits"]
        for p, row in zip(small["datasets"]["digits"], rec["effects"]):
            np.testing.assert_allclose(
                row, np.subtract(p["mc"]["deep_ensemble"][metric],
                                 p["mc"]["mc_dropout"][metric]), atol=2e-6)


def test_full_file_holds_every_comparison_the_study_makes():
    res = registry.load(bagging.NAME, ROOT / bagging.CACHE_FILE)
    names = set(res["comparisons"])
    for ds in ("digits", "mnist"):
        for metric in ("auroc_entropy", "auroc_mi", "test_loss"):
            assert f"deep_ensemble-vs-mc_dropout-{metric}-{ds}" in names
