"""Early dropout: the schedule hook of fit, and the study's saved evidence."""
import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import early_dropout, evidence, registry
from dropout_lib.experiments.core import Config, run
from dropout_lib.experiments.tuning import without_test
from dropout_lib.net import MLP
from dropout_lib.training import fit

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------
# the hook: fit(dropout_epochs=(first, last)), Config.dropout_epochs
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    return without_test(digits_splits(seed=0))


def _hist(data, p_drop, window, epochs=6):
    cfg = Config(hidden=(16,), p_drop_hidden=p_drop, epochs=epochs, lr=1e-2,
                 dropout_epochs=window)
    return run(cfg, data, 3, curves=False)[1]


def test_a_window_over_every_epoch_is_plain_dropout(data):
    assert _hist(data, 0.3, (1, 6)).train_loss == _hist(data, 0.3, None).train_loss


def test_a_window_after_the_last_epoch_is_no_dropout(data):
    # the same weights and batches: bit for bit the network trained without dropout
    assert _hist(data, 0.3, (7, 7)).train_loss == _hist(data, 0.0, None).train_loss


def test_early_dropout_follows_dropout_then_leaves_it(data):
    early = _hist(data, 0.3, (1, 3)).train_loss
    always = _hist(data, 0.3, None).train_loss
    assert early[:4] == always[:4]       # epoch 0 and epochs 1..3
    assert early[4] != always[4]          # epoch 4 steps without dropout


def test_late_dropout_starts_like_no_dropout(data):
    late = _hist(data, 0.3, (4, 6)).train_loss
    plain = _hist(data, 0.0, None).train_loss
    assert late[:4] == plain[:4] and late[4] != plain[4]


def test_dropout_epochs_argument_errors():
    net = MLP([4, 3, 2], p_drop_hidden=0.5, seed=0)
    X, y = np.zeros((5, 4)), np.zeros(5, dtype=int)
    for bad, exc in [((0, 3), ValueError), ((3, 2), ValueError), (3, TypeError),
                     ((1, 2, 3), TypeError), ((1.0, 2), TypeError)]:
        with pytest.raises(exc, match="dropout_epochs"):
            fit(net, (X, y), epochs=2, batch_size=5, optimizer="adam", seed=0,
                dropout_epochs=bad)
    with pytest.raises(ValueError, match="dropout_epochs"):
        Config(dropout_epochs=(2, 1))
    assert Config(dropout_epochs=[1, 2]).dropout_epochs == (1, 2)


def test_arm_config_windows_and_errors():
    assert early_dropout.arm_config("early", lr=0.01, p_drop_hidden=0.2,
                                    k=5).dropout_epochs == (1, 5)
    assert early_dropout.arm_config("late", lr=0.01, p_drop_hidden=0.2,
                                    k=5).dropout_epochs == (6, 40)
    assert early_dropout.arm_config("none", lr=0.01).dropout_epochs is None
    control = early_dropout.arm_config(early_dropout.CONTROL, lr=0.03)
    assert control == early_dropout.arm_config("none", lr=0.03)
    with pytest.raises(ValueError, match="k"):
        early_dropout.arm_config(early_dropout.CONTROL, lr=0.01, k=3)
    with pytest.raises(ValueError, match="k"):
        early_dropout.arm_config("early", lr=0.01, p_drop_hidden=0.2)
    with pytest.raises(ValueError, match="k"):
        early_dropout.arm_config("early", lr=0.01, p_drop_hidden=0.2, k=40)
    with pytest.raises(ValueError, match="k"):
        early_dropout.arm_config("none", lr=0.01, k=3)
    with pytest.raises(ValueError, match="arm"):
        early_dropout.arm_config("middle", lr=0.01)


def test_record_names():
    name = early_dropout.record_name
    assert name("none", "early", "train_loss") == "early-vs-none-train-loss"
    assert (name(early_dropout.CONTROL, "early", "test_error")
            == "early-vs-none-at-early-lr-test-error")


def test_next_k_extends_past_an_edge_only():
    nxt = early_dropout._next_k
    assert nxt([5, 10, 20], 5, 40) == 2
    assert nxt([5, 10, 20], 20, 40) == 30
    assert nxt([5, 10, 20], 10, 40) is None
    assert nxt([1, 5, 10], 1, 40) is None   # at the natural bound
    assert nxt([30, 35, 39], 39, 40) is None


# ---------------------------------------------------------------------------
# the study: its smallest configuration, and the saved file
# ---------------------------------------------------------------------------


def test_small_study_runs_and_is_json():
    out = json.loads(json.dumps(early_dropout.run_study("small")))
    assert out["study"] == early_dropout.NAME and out["scale"] == "small"
    assert out["split_seeds"] == [0, 1] and len(out["splits"]) == 2
    assert set(out["comparisons"]) == {
        early_dropout.record_name(a, "early", m)
        for a in ("none", "throughout", early_dropout.CONTROL)
        for m in early_dropout.METRICS}
    for rec in out["comparisons"].values():
        assert np.shape(rec["effects"]) == (2, 2)
        assert evidence.verdict(rec).label in evidence.LABELS
    split = out["splits"][0]
    assert split["chosen"]["early"]["k"] == 2
    assert split["chosen"][early_dropout.CONTROL] == {
        "lr": split["chosen"]["early"]["lr"], "p_drop_hidden": 0.0}
    assert set(split["final"]) == {*early_dropout.ARMS, early_dropout.CONTROL}
    nets = out["pilot"]["nets"]
    assert set(nets) == set(early_dropout.PILOT_NETS)
    assert all(np.shape(v["train_loss"]) == (2, 1, 2) for v in nets.values())
    # a saved number is what train_arm gives again for that choice
    again = early_dropout.train_arm("early", split["chosen"]["early"], 0, 0,
                                    epochs=4)
    assert round(again["test_loss"], 6) == split["final"]["early"]["test_loss"][0]


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        early_dropout.run_study("huge")


@pytest.fixture(scope="module")
def saved():
    return registry.load(early_dropout.NAME, ROOT / early_dropout.CACHE_FILE)


def test_saved_file_loads_with_three_splits_and_ten_seeds(saved):
    assert saved["format"] == early_dropout.FORMAT and saved["scale"] == "full"
    assert len(saved["split_seeds"]) >= 3 and len(saved["seeds"]) >= 10
    assert len(saved["config"]["tune_seeds"]) >= 5
    assert [s["split_seed"] for s in saved["splits"]] == saved["split_seeds"]
    tune, pilot = set(saved["config"]["tune_seeds"]), set(saved["pilot"]["seeds"])
    assert not set(saved["seeds"]) & tune
    assert not (set(saved["seeds"]) | tune) & pilot
    for rec in saved["comparisons"].values():
        assert np.shape(rec["effects"]) == (len(saved["split_seeds"]),
                                            len(saved["seeds"]))
        assert len(rec["per_example"]) == len(saved["split_seeds"])


def test_saved_choices_are_validation_argmins(saved):
    for split in saved["splits"]:
        for arm in early_dropout.ARMS:
            t = split["tuning"][arm]
            chosen = split["chosen"][arm]
            if t["by_k"] is None:
                g = t["grid"]
            else:
                assert chosen["k"] == t["k_values"][int(np.argmin(
                    t["mean_val_loss_by_k"]))]
                g = t["by_k"][str(chosen["k"])]
            assert g["chosen"] == int(np.argmin(np.mean(g["val_loss"], axis=1)))
            setting = g["settings"][g["chosen"]]
            assert setting["lr"] == chosen["lr"]
        # the control is untuned: no dropout at early's learning rate
        assert split["chosen"][early_dropout.CONTROL] == {
            "lr": split["chosen"]["early"]["lr"], "p_drop_hidden": 0.0}


def test_saved_comparisons_are_the_per_seed_differences(saved):
    assert len(saved["comparisons"]) == (len(early_dropout.COMPARISONS)
                                         * len(early_dropout.METRICS))
    for a, b in early_dropout.COMPARISONS:
        for m in early_dropout.METRICS:
            rec = saved["comparisons"][early_dropout.record_name(a, b, m)]
            assert (rec["a"], rec["b"]) == (a, b)
            d = [np.subtract(s["final"][b][m], s["final"][a][m])
                 for s in saved["splits"]]
            np.testing.assert_allclose(rec["effects"], d, atol=2e-6)
            np.testing.assert_allclose([np.mean(p) for p in rec["per_example"]],
                                       np.mean(d, axis=1), atol=2e-5)


def test_first_early_seed_reruns(saved, numerics_exact):
    split = saved["splits"][0]
    got = early_dropout.train_arm("early", split["chosen"]["early"],
                                  split["split_seed"], saved["seeds"][0])
    tol = 1e-6 if numerics_exact else 0.03  # elsewhere: another summation order
    assert abs(got["test_error"] - split["final"]["early"]["test_error"][0]) <= tol
    assert abs(got["train_loss"] - split["final"]["early"]["train_loss"][0]) <= (
        1e-6 if numerics_exact else 0.05)


def test_saved_control_reruns_as_the_plain_network(saved, numerics_exact):
    # the control of the last split, seed 0, re-run live, and as "none"
    split = saved["splits"][-1]
    chosen = split["chosen"][early_dropout.CONTROL]
    got = early_dropout.train_arm(early_dropout.CONTROL, chosen,
                                  split["split_seed"], saved["seeds"][0])
    plain = early_dropout.train_arm("none", chosen, split["split_seed"],
                                    saved["seeds"][0])
    assert got["train_loss"] == plain["train_loss"]
    tol = 1e-6 if numerics_exact else 0.05
    saved_value = split["final"][early_dropout.CONTROL]["train_loss"][0]
    assert abs(got["train_loss"] - saved_value) <= tol


def test_saved_pilot_is_its_runs_and_separates_smooth_from_lottery(
        saved, numerics_exact):
    p = saved["pilot"]
    assert p["lr"] == early_dropout.GRIDS["none"]["lr"]
    assert p["split_seeds"] == saved["split_seeds"]
    for name, rec in p["nets"].items():
        tl = np.array(rec["train_loss"])
        assert tl.shape == (len(p["split_seeds"]), len(p["lr"]), len(p["seeds"]))
        np.testing.assert_allclose(rec["cv"], tl.std(axis=2, ddof=1)
                                   / tl.mean(axis=2), atol=1e-4)
        np.testing.assert_allclose(rec["max_over_min"],
                                   tl.max(axis=2) / tl.min(axis=2), atol=1e-3)
    # one saved pilot value re-runs (the study's network, lr 0.01, split 0)
    cfg = early_dropout.PILOT_NETS["64-4-10 tanh"].replace(lr=p["lr"][1])
    data = without_test(digits_splits(seed=p["split_seeds"][0]))
    got = run(cfg, data, p["seeds"][0], curves=False)[1].final["train_loss"]
    want = p["nets"]["64-4-10 tanh"]["train_loss"][0][1][0]
    assert abs(got - want) <= (1e-6 if numerics_exact else 0.05)
    # what the docstring claims of the saved pilot: the study's network is
    # smooth over seeds where the ReLU one is a lottery, at every lr and split
    tanh, relu = p["nets"]["64-4-10 tanh"], p["nets"]["64-4-10 ReLU"]
    assert np.all(np.array(tanh["max_over_min"]) < np.array(relu["max_over_min"]))
    assert np.all(np.array(tanh["cv"]) < np.array(relu["cv"]))


def test_edges_lists_exactly_the_choices_on_an_edge(saved):
    rows = early_dropout.edges(saved)
    for row in rows:
        split = saved["splits"][saved["split_seeds"].index(row["split_seed"])]
        chosen = split["chosen"][row["arm"]][row["field"]]
        assert chosen == row["chosen"]
        assert chosen in (min(row["values"]), max(row["values"]))
    # and nothing the saved records call interior is listed
    listed = {(r["split_seed"], r["arm"], r["field"]) for r in rows}
    for split in saved["splits"]:
        for arm in ("none", "early"):
            t = split["tuning"][arm]
            g = t["grid"] if t["by_k"] is None else t["by_k"][
                str(split["chosen"][arm]["k"])]
            for field, e in g["edges"].items():
                flagged = e["on_edge"] or e["at_bound"]
                assert flagged == ((split["split_seed"], arm, field) in listed)
