"""Tests of dropout_lib.experiments.coadaptation: chapter 3's sweeps and their file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import Config, evidence, registry, run
from dropout_lib.experiments import coadaptation as study
from dropout_lib.experiments.core import sweep_train_size
from dropout_lib.experiments.tuning import without_test
from dropout_lib.training import EarlyStopping

ROOT = Path(__file__).resolve().parents[2]


def test_train_and_test_equals_run():
    data = digits_splits(seed=0, n_train=100)
    cfg = Config(hidden=(16,), epochs=3, batch_size=32, p_drop_hidden=0.5)
    fast = study.train_and_test(cfg, data, 7)
    _, h = run(cfg, data, 7)
    for k in ("train_acc", "train_loss", "test_acc", "test_loss"):
        assert fast[k] == pytest.approx(h.final[k], rel=1e-12)


def test_init_seed_changes_only_the_initial_weights():
    data = digits_splits(seed=0, n_train=100)
    cfg = Config(hidden=(16,), epochs=2, batch_size=32)
    a = study.train_and_test(cfg, data, 0, init_seed=0)
    b = study.train_and_test(cfg, data, 0)
    c = study.train_and_test(cfg, data, 0, init_seed=1)
    assert a == b and a != c


def test_chapter_data_split_seed_changes_the_partition():
    a, b = study.chapter_data(), study.chapter_data(split_seed=1)
    assert a.sizes() == b.sizes()
    assert not np.array_equal(a.X_test, b.X_test)


def test_initial_net_is_the_start_of_run():
    data = digits_splits(seed=0, n_train=100)
    cfg = Config(hidden=(16,), epochs=1, batch_size=32)
    net0 = study.initial_net(cfg, data, 5)
    fresh = cfg.make_net(64, 10, seed=np.random.SeedSequence(5).spawn(3)[0])
    for k, v in net0.params.items():
        assert np.array_equal(v, fresh.params[k])


def test_damage_matched_interpolates_in_log_log():
    # Plain: non-additivity = 0.1 * damage at every width; dropout at the
    # chapter width lies on that line -> 0, and half of it -> log(0.5).
    dmg = np.array([4.0, 2.0, 1.0])[:, None, None] * np.ones((3, 2, 1))
    width = {"widths": [128, 256, 512],
             "plain": {"mean_abs_single": dmg.tolist(),
                       "nonadd": (0.1 * dmg).tolist()},
             "dropout": {"mean_abs_single": (dmg / 3).tolist(),
                         "nonadd": (0.1 * dmg / 3).tolist()}}
    assert np.allclose(study.damage_matched(width, 256), 0.0)
    width["dropout"]["nonadd"] = (0.05 * dmg / 3).tolist()
    assert np.allclose(study.damage_matched(width, 256), np.log(0.5))
    # Beyond the plain range: the end segment is extended.
    width["dropout"]["mean_abs_single"] = (dmg / 8).tolist()
    width["dropout"]["nonadd"] = (0.1 * dmg / 8).tolist()
    assert np.allclose(study.damage_matched(width, 256), 0.0)


# --------------------------------------------------------------------------- sweeps and file


@pytest.fixture(scope="module")
def small():
    return study.run_study("small")


@pytest.fixture(scope="module")
def cached():
    return registry.load(study.NAME, ROOT / study.CACHE_FILE)


def _metric_blocks(result: dict) -> list[tuple[str, dict]]:
    """(path, {"per_seed", "mean", "std"}) for every metric block of the sweeps."""
    out = []
    for sweep in ("p_drop_sweep", "train_size_sweep", "init_sensitivity",
                  "l2_grid"):
        for key, value in result[sweep].items():
            if isinstance(value, dict) and "test_acc" in value:  # an arm
                out += [(f"{sweep}.{key}.{m}", v) for m, v in value.items()]
            elif isinstance(value, dict) and "mean" in value:
                out.append((f"{sweep}.{key}", value))
    return out


def test_small_run_is_deterministic(small):
    again = study.run_all("small", which=["p_drop_sweep"])
    assert again["p_drop_sweep"] == small["p_drop_sweep"]
    assert json.loads(json.dumps(small)) == small


def test_file_has_the_layout_of_a_small_run(cached, small):
    assert cached["scale"] == "full" and cached["format"] == study.FORMAT
    assert set(cached) == set(small)
    assert len(cached["split_seeds"]) >= 3
    for sweep in study.SWEEPS:
        assert set(cached[sweep]) == set(small[sweep]), sweep
        if "grid" in small[sweep]:
            assert cached[sweep]["grid"] == small[sweep]["grid"], sweep
    half = [max(1, round(e / 2)) for e in cached["train_size_sweep"]["epochs"]]
    assert np.allclose(small["train_size_sweep"]["epochs"], half, atol=1)
    size = cached["train_size_sweep"]
    assert len(size["split_seeds"]) >= 3 and len(size["seeds"]) >= 3
    for (path_c, c), (path_s, s) in zip(_metric_blocks(cached),
                                        _metric_blocks(small), strict=True):
        assert path_c == path_s
        assert len(c["mean"]) == len(c["std"]) == len(s["mean"]), path_c
    # Every comparison of the small run is in the file (the per-width ones
    # name other widths), with >= 3 splits.
    def kinds(comps):
        return {n for n in comps if not n.startswith("nonadd-w")}

    assert kinds(small["comparisons"]) <= kinds(cached["comparisons"])
    assert {f"nonadd-w{w}" for w in cached["coadaptation_by_width"]["widths"]
            } <= set(cached["comparisons"])
    for name, rec in cached["comparisons"].items():
        assert np.array(rec["effects"]).shape[0] >= 3, name
        assert evidence.verdict(rec).label in evidence.LABELS


def test_file_values_are_plausible(cached):
    for path, block in _metric_blocks(cached):
        per_seed, mean, std = (np.array(block[k])
                               for k in ("per_seed", "mean", "std"))
        assert np.all(np.isfinite(per_seed)), path
        assert np.all(std >= 0), path
        assert np.allclose(mean, per_seed.mean(axis=1), atol=1e-4), path
        if path.endswith("_acc"):
            assert np.all((per_seed >= 0) & (per_seed <= 1)), path
        else:
            assert np.all(per_seed >= 0), path
    w = cached["coadaptation_by_width"]
    shape = (len(w["widths"]), len(w["split_seeds"]), len(w["seeds"]))
    for arm in ("plain", "dropout"):
        for m in study.WIDTH_METRICS:
            v = np.array(w[arm][m])
            assert v.shape == shape and np.all(np.isfinite(v)), (arm, m)
        assert np.all(np.array(w[arm]["nonadd"]) > 0)


def test_file_matches_a_rerun_of_its_cheapest_width(cached, numerics_exact):
    """The co-adaptation control reproduces: re-run the narrowest plain
    network of split 0, seed 0, and measure it again."""
    w = cached["coadaptation_by_width"]
    assert list(study.SCALES["full"]["widths"]) == w["widths"]
    sp, seed, width = w["split_seeds"][0], w["seeds"][0], w["widths"][0]
    data = study.chapter_data(split_seed=sp)
    cfg = study.PLAIN.replace(hidden=(width, width), epochs=study.MAX_EPOCHS,
                              early_stopping=EarlyStopping(study.PATIENCE))
    net, hist = run(cfg, without_test(data), seed)
    varies = np.ptp(data.X_train, axis=0) > 0
    row = study._measure(net, study.initial_net(cfg, data, seed), data,
                         varies, np.random.SeedSequence([sp, width, seed]))
    tol = 1e-5 if numerics_exact else 0.05
    for m in ("nonadd", "test_loss", "rough_change"):
        assert row[m] == pytest.approx(w["plain"][m][0][0][0], abs=tol), m


# --------------------------------------------------------------------------- early stopping, choices


def test_p_drop_choice_uses_the_tuning_runs_only():
    # Two splits, grid of 3; tuning runs favour index 1 on split 0 and
    # index 2 on split 1; the final runs would favour index 0 everywhere.
    tune = np.array([[0.5, 0.5, 0.9, 0.9], [0.1, 0.1, 0.8, 0.8],
                     [0.4, 0.4, 0.2, 0.2]])
    pd = {"split_seeds": [0, 1], "tune": {"val_loss": {"per_seed": tune}},
          "val_loss": {"per_seed": np.zeros((3, 4))}}
    assert study.p_drop_choice(pd).tolist() == [1, 2]
    pd["tune"]["val_acc"] = {"per_seed": -tune}
    assert study.p_drop_choice(pd, "val_acc").tolist() == [1, 2]


def test_p_drop_tuning_and_final_seeds_are_disjoint(cached, small):
    for res in (cached, small):
        pd = res["p_drop_sweep"]
        assert not set(pd["tune_seeds"]) & set(pd["seeds"])
        assert pd["patience"] == study.PATIENCE
        assert np.all(np.array(pd["best_epoch"]["per_seed"]) <= pd["epochs"])
    assert len(cached["p_drop_sweep"]["seeds"]) >= 3


def test_size_sweep_stops_both_arms_early(cached):
    """Re-run the cheapest cell of the size sweep (50 images, split 0,
    seed 0) with early stopping on validation: it reproduces the file, and
    it stops well before the budget."""
    size = cached["train_size_sweep"]
    sp, seed, n = size["split_seeds"][0], size["seeds"][0], size["grid"][0]
    for arm, cfg in (("plain", study.PLAIN), ("dropout", study.DROPOUT)):
        cfg = cfg.replace(epochs=size["epochs"][0],
                          early_stopping=EarlyStopping(study.PATIENCE))
        res = sweep_train_size(cfg, digits_splits(seed=sp), [n],
                                     seeds=[seed])
        h = res.histories[0][0]
        assert h.best_epoch == size[arm]["best_epoch"]["per_seed"][0][0]
        assert h.epochs[-1] < size["epochs"][0]
        assert h.final["test_loss"] == pytest.approx(
            size[arm]["test_loss"]["per_seed"][0][0], abs=2e-5)


def test_convergence_and_init_records(cached):
    ini = cached["init_sensitivity"]
    n_sp, n_init = len(ini["split_seeds"]), len(ini["init_seeds"])
    assert n_sp >= 3
    conv = np.array(cached["comparisons"]["converge-epochs"]["effects"])
    assert conv.shape == (n_sp, n_init)
    ep = {arm: np.array(ini[arm]["epochs_to_target"]["per_seed"][0])
          for arm in ("plain", "dropout")}
    assert np.allclose(conv.ravel(), ep["dropout"] - ep["plain"])
    assert np.all(ep["plain"] >= 1) and np.all(ep["plain"] <= ini["epochs"] + 1)
    acc = {arm: np.array(ini[arm]["test_acc"]["per_seed"][0]).reshape(n_sp, -1)
           for arm in ("plain", "dropout")}
    want = np.log(acc["dropout"].std(axis=1, ddof=1)
                  / acc["plain"].std(axis=1, ddof=1))
    for name in ("init-log-sd-ratio", "init-log-sd-equal"):
        rec = cached["comparisons"][name]
        assert np.allclose(np.array(rec["effects"]).ravel(), want, atol=1e-5)
    assert cached["comparisons"]["init-log-sd-equal"]["margin"] == (
        pytest.approx(np.log(2)))
