"""Dropout schemes in a recurrent network: saved evidence consistent and reproducible."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.experiments import evidence, recurrent, registry
from dropout_lib.experiments._layers_net import per_example
from dropout_lib.experiments.tuning import without_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return registry.load(recurrent.NAME, ROOT / recurrent.CACHE_FILE)


def test_saved_file_has_three_splits_ten_seeds_and_both_data_sets(saved):
    assert saved["format"] == recurrent.FORMAT and saved["scale"] == "full"
    assert len(saved["split_seeds"]) >= 3 and len(saved["seeds"]) >= 10
    assert saved["seeds"] == list(recurrent.SCALES["full"]["seeds"])
    assert not set(saved["seeds"]) & set(saved["config"]["tune_seeds"])
    assert set(saved["datasets"]) == {"digits", "mnist"}
    for dataset, res in saved["datasets"].items():
        assert [s["split_seed"] for s in res["splits"]] == saved["split_seeds"]
        for split in res["splits"]:
            assert set(split["final"]) == set(recurrent.ARMS)
    for rec in saved["comparisons"].values():
        assert np.shape(rec["effects"]) == (len(saved["split_seeds"]), len(saved["seeds"]))
        assert len(rec["per_example"]) == len(saved["split_seeds"])


def test_chosen_settings_are_each_splits_validation_argmin(saved):
    for res in saved["datasets"].values():
        for split in res["splits"]:
            for arm, t in split["tuning"].items():
                mean = np.mean(t["val_loss"], axis=1)
                assert t["chosen"] == int(np.argmin(mean))
                chosen = t["settings"][t["chosen"]]
                assert {k: split["final"][arm][k] for k in chosen} == chosen
                assert ("p_drop" in chosen) == (arm != "none")


def test_no_choice_is_on_an_edge_unless_the_grid_could_not_grow(saved):
    listed = recurrent.edges(saved)
    assert saved["edges"] == listed
    for res in saved["datasets"].values():
        for split in res["splits"]:
            for t in split["tuning"].values():
                if any(e["on_edge"] for e in t["edges"].values()):
                    assert t["rounds"] == saved["config"]["max_rounds"]


def test_comparisons_are_the_per_seed_differences(saved):
    for dataset, res in saved["datasets"].items():
        for name, a, b in recurrent.COMPARISONS:
            for m in recurrent.METRICS:
                rec = saved["comparisons"][f"rnn-{dataset}-{name}-{m.replace('_', '-')}"]
                assert (rec["a"], rec["b"], rec["dataset"]) == (a, b, dataset)
                d = [np.subtract(s["final"][b][m], s["final"][a][m]) for s in res["splits"]]
                np.testing.assert_allclose(rec["effects"], d, atol=2e-6)
                assert evidence.verdict(rec).label in evidence.LABELS


def test_cheapest_saved_cell_reruns(saved, numerics_exact):
    """The first tuning run of the digits network without dropout, on split 0."""
    res = saved["datasets"]["digits"]
    split = res["splits"][0]
    t = split["tuning"]["none"]
    first = t["settings"].index({"lr": min(s["lr"] for s in t["settings"])})
    kw = {k: res["config"][k] for k in ("steps", "n_inputs", "hidden", "epochs")}
    data = without_test(recurrent.load_data("digits", split["split_seed"]))
    net = recurrent.train("none", t["settings"][first], data,
                          saved["config"]["tune_seeds"][0], **kw)
    loss = per_example(net, data.X_val, data.y_val)[0].mean()
    tol = 1e-6 if numerics_exact else 0.05  # elsewhere: another summation order
    assert abs(loss - t["val_loss"][first][0]) <= tol


def test_small_study_runs_end_to_end_and_loads(tmp_path):
    path = tmp_path / "recurrent_small.json"
    assert registry.main(["run", "recurrent", "--scale", "small", "--out", str(path)]) == 0
    out = registry.load(recurrent.NAME, path)
    assert out["scale"] == "small" and out["split_seeds"] == [0, 1]
    for dataset in ("digits", "mnist"):
        res = out["datasets"][dataset]
        split = res["splits"][0]
        assert set(split["final"]) == set(recurrent.ARMS)
        assert split["final"]["none"]["p_drop"] == 0.0
        assert all(len(v["test_error"]) == 2 for v in split["final"].values())
    assert out["datasets"]["mnist"]["splits"][0]["sizes"]["train"] == 200
    assert len(out["comparisons"]) == 2 * len(recurrent.COMPARISONS) * 2
    for rec in out["comparisons"].values():
        assert evidence.verdict(rec).label in evidence.LABELS
    # the same run again, its splits in two processes, gives the same numbers
    again = json.loads(json.dumps(recurrent.run_study("small", workers=2)))
    assert again["datasets"] == out["datasets"]
    assert again["comparisons"] == out["comparisons"]


def test_choose_extended_grows_the_grid_past_an_edge():
    """A validation loss with its minimum at lr 0.1 and p_drop 0.3."""
    calls = []

    def score(setting, seed):
        calls.append((setting["lr"], setting["p_drop"], seed))
        return (math.log10(setting["lr"]) + 1) ** 2 + (setting["p_drop"] - 0.3) ** 2

    grid = {"lr": [1e-3, 3e-3, 1e-2], "p_drop": [0.1, 0.2]}
    chosen, rec = recurrent.choose_extended(grid, score, [0], 5, max_rounds=4)
    assert grid == {"lr": [1e-3, 3e-3, 1e-2], "p_drop": [0.1, 0.2]}   # not mutated
    assert chosen["p_drop"] == 0.3 and 0.05 < chosen["lr"] < 0.2   # the grid's 0.111
    assert rec["rounds"] >= 2 and chosen["lr"] < max(rec["grid"]["lr"])
    assert not any(e["on_edge"] for e in rec["edges"].values())
    assert len(calls) == len(set(calls))          # each setting trained once
    assert rec["epochs_trained"] == 5 * len(calls)
    assert 0.3 in rec["grid"]["p_drop"]
    # no room to grow: the record says the choice is on an edge
    chosen, rec = recurrent.choose_extended(grid, score, [0], 5, max_rounds=0)
    assert chosen == {"lr": 1e-2, "p_drop": 0.2} and rec["edges"]["lr"]["on_edge"]


def test_training_mutates_no_input():
    data = without_test(recurrent.load_data("digits", 0, 100))
    before = [a.copy() for a in (data.X_train, data.y_train, data.X_val, data.y_val)]
    setting = {"lr": 1e-2, "p_drop": 0.3}
    recurrent.train("locked", setting, data, 0, steps=8, n_inputs=8, hidden=4, epochs=1)
    assert setting == {"lr": 1e-2, "p_drop": 0.3}
    for a, b in zip(before, (data.X_train, data.y_train, data.X_val, data.y_val)):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="scale"):
        recurrent.run_study("huge")
    with pytest.raises(ValueError, match="dataset"):
        recurrent.load_data("cifar", 0)
    for workers in (0, 1.5, True):
        with pytest.raises(ValueError, match="workers"):
            recurrent.run_study("small", workers=workers)
