"""Local minima study: the definitions are applied as written, the saved
evidence is consistent with them, and it reproduces."""
import json
from pathlib import Path

import numpy as np
import pytest

from dropout_lib.experiments import evidence, local_minima as lm, registry
from dropout_lib.experiments.stats import wilson_interval
from dropout_lib.gradcheck import numerical_gradient, rel_error

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return registry.load(lm.NAME, ROOT / lm.CACHE_FILE)


@pytest.fixture(scope="module")
def small():
    return json.loads(json.dumps(lm.run_study("small")))


# --------------------------------------------------------------------------- definitions


def test_stuck_is_loss_at_or_above_the_threshold():
    J = np.array([0.0, lm.SOLVED_LOSS - 1e-12, lm.SOLVED_LOSS, 0.125])
    assert lm.is_stuck(J).tolist() == [False, False, True, True]
    assert lm.SOLVED_LOSS == 0.01 and lm.EXTEND_FACTOR == 10
    assert lm.CHECK_EVERY == 10


def test_solved_means_every_pattern_on_the_right_side():
    # J < SOLVED_LOSS bounds every error by sqrt(SOLVED_LOSS * n) < 0.5
    for n_bits in lm.PROBLEMS.values():
        assert np.sqrt(lm.SOLVED_LOSS * 2 ** n_bits) < 0.5


def test_parity_problem():
    X, y = lm.parity_problem(2)
    assert X.tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]
    assert y.tolist() == [0, 1, 1, 0]
    X, y = lm.parity_problem(3)
    assert X.shape == (8, 3) and np.array_equal(y, X.sum(axis=1) % 2)
    with pytest.raises(ValueError, match="n_bits"):
        lm.parity_problem(0)


def test_an_initialisation_does_not_depend_on_its_batch():
    both = lm.init_params([3, 5], 2)
    alone = lm.init_params([5], 2)
    for k in both:
        np.testing.assert_array_equal(both[k][1], alone[k][0])
    assert both["W1"].shape == (2, 2, 2) and both["b2"].shape == (2, 1)


@pytest.mark.parametrize("p_drop", [0.0, 0.3])
def test_gradients_match_finite_differences(p_drop):
    X, y = lm.parity_problem(3)
    params = lm.init_params([1, 2], 3)

    def f(k, v):
        q = dict(params)
        q[k] = v  # the same mask on every call: a fresh generator, same seed
        return lm.loss_and_grads(q, X, y, p_drop=p_drop,
                                 rng=np.random.default_rng(5))[0].sum()

    _, g = lm.loss_and_grads(params, X, y, p_drop=p_drop,
                             rng=np.random.default_rng(5))
    for k in params:
        num = numerical_gradient(lambda v, k=k: f(k, v), params[k].copy())
        assert rel_error(num, g[k]) < 1e-6, k


def test_the_final_phase_trains_without_dropout_and_inputs_are_kept():
    X, y = lm.parity_problem(2)
    params = lm.init_params([0, 1, 2], 2)
    before = {k: v.copy() for k, v in params.items()}
    plain, f_plain = lm.train(params, X, y, lr=4.0, epochs=30)
    # every step in the final phase: the dropout arm is plain descent
    same, f_same = lm.train(params, X, y, lr=4.0, epochs=30, p_drop=0.5,
                            final_plain=30, rng=np.random.default_rng(0))
    noisy, _ = lm.train(params, X, y, lr=4.0, epochs=30, p_drop=0.5,
                        final_plain=10, rng=np.random.default_rng(0))
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
        np.testing.assert_array_equal(plain[k], same[k])
    assert np.array_equal(f_plain, f_same)
    assert not np.allclose(noisy["W1"], plain["W1"])
    with pytest.raises(TypeError, match="rng"):
        lm.train(params, X, y, lr=1.0, epochs=2, p_drop=0.5)
    with pytest.raises(ValueError, match="final_plain"):
        lm.train(params, X, y, lr=1.0, epochs=2, final_plain=3)


def test_first_solved_is_the_first_checked_epoch_below_the_threshold():
    X, y = lm.parity_problem(2)
    params = lm.init_params(list(range(8)), 2)
    epochs = 4 * lm.CHECK_EVERY + 3
    _, first = lm.train(params, X, y, lr=8.0, epochs=epochs)
    for r in range(8):
        p = {k: v[r:r + 1] for k, v in params.items()}
        hits = [t for t in list(range(lm.CHECK_EVERY, epochs + 1,
                                      lm.CHECK_EVERY)) + [epochs]
                if not lm.is_stuck(lm.objective(
                    lm.train(p, X, y, lr=8.0, epochs=t)[0], X, y))[0]]
        assert first[r] == (min(hits) if hits else -1)


def test_newcombe_paired_interval():
    # Newcombe (1998) method 10 on Cavo et al.'s paired table (59, 6, 16,
    # 80), as published by Fagerland, Lydersen and Laake (2017, ch. 8):
    # -0.0621 (95% CI -0.1186 to -0.0046)
    ci = lm.newcombe_paired(59, 6, 16, 80)
    assert ci.n == 161 and ci.mean == pytest.approx(-10 / 161)
    assert (round(ci.low, 4), round(ci.high, 4)) == (-0.1186, -0.0046)
    # swapping the arms mirrors the interval
    sw = lm.newcombe_paired(59, 16, 6, 80)
    assert (sw.low, sw.high) == pytest.approx((-ci.high, -ci.low))
    # many pairs: close to the Wald interval of paired proportions
    both, b_, a_, neither = 2000, 580, 410, 7010
    n = both + b_ + a_ + neither
    d = (b_ - a_) / n
    half = 1.959964 * np.sqrt((b_ + a_) - (b_ - a_) ** 2 / n) / n
    big = lm.newcombe_paired(both, b_, a_, neither)
    assert big.low == pytest.approx(d - half, abs=2e-4)
    assert big.high == pytest.approx(d + half, abs=2e-4)
    # no discordant pair: an interval around zero, not a point
    zero = lm.newcombe_paired(3, 0, 0, 3)
    assert zero.mean == 0.0 and zero.low < 0.0 < zero.high
    with pytest.raises(ValueError, match="a_only"):
        lm.newcombe_paired(1, 1, -1, 1)
    with pytest.raises(ValueError, match="pair"):
        lm.newcombe_paired(0, 0, 0, 0)


def test_wilson_interval_and_mcnemar():
    ci = wilson_interval(5, 10)  # textbook value [0.2366, 0.7634]
    assert (round(ci.low, 4), round(ci.high, 4)) == (0.2366, 0.7634)
    assert wilson_interval(0, 10).low == 0.0 < wilson_interval(0, 10).high
    assert wilson_interval(10, 10).high == 1.0
    with pytest.raises(ValueError, match="k"):
        wilson_interval(11, 10)
    assert lm.mcnemar_exact(0, 5) == pytest.approx(2 / 32)
    assert lm.mcnemar_exact(7, 3) == lm.mcnemar_exact(3, 7)
    assert lm.mcnemar_exact(4, 4) == 1.0 and lm.mcnemar_exact(0, 0) == 1.0


# --------------------------------------------------------------------------- the study


def test_small_study_runs_and_is_json(small):
    assert small["scale"] == "small" and set(small["problems"]) == set(
        lm.PROBLEMS)
    assert set(small["comparisons"]) == {
        f"minima-{w}-{p}{m}" for w in ("stuck", "trapped")
        for p in lm.PROBLEMS for m in ("", "-matched")}
    for rec in small["comparisons"].values():
        assert evidence.verdict(rec).label in evidence.LABELS
    assert small["claim"]["records"] == list(lm.CLAIM_RECORDS)


def test_small_study_trains_a_distinct_matched_arm(small):
    # the small scale exercises both paths: a matched arm trained at
    # another setting than the dropout arm, and one equal to it
    same = [small["problems"][p]["matched"]["same_as_dropout"]
            for p in lm.PROBLEMS]
    assert True in same and False in same


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        lm.run_study("huge")


def _check_definitions(out):
    s = out["config"]
    shape = (s["blocks"], s["per_block"])
    for name, prob in out["problems"].items():
        flags = {}
        arms = dict(prob["arms"], matched=prob["matched"])
        for arm, a in arms.items():
            J, J_ext = np.array(a["J"]), np.array(a["J_extended"])
            first, left = np.array(a["first_solved"]), np.array(a["left_at"])
            assert J.shape == J_ext.shape == first.shape == shape
            stuck, trapped = J >= s["solved_loss"], J_ext >= s["solved_loss"]
            assert a["stuck"]["k"] == stuck.sum() and a["stuck"]["n"] == J.size
            assert a["trapped"]["k"] == trapped.sum()
            assert not np.any(trapped & ~stuck)  # only stuck runs continue
            np.testing.assert_array_equal(J_ext[~stuck], J[~stuck])
            assert np.all(left[~stuck] == -1)
            assert np.all((left > 0) == (stuck & ~trapped))
            assert a["left_plateau"] == {"k": int((stuck & ~trapped).sum()),
                                         "n": int(stuck.sum())}
            assert np.all(first[~stuck] > 0)  # the last epoch is checked
            ok = first[first > 0]
            if ok.size:
                assert a["epochs_to_solve"]["median"] == np.median(ok)
            ci = wilson_interval(int(stuck.sum()), J.size)
            assert a["stuck"]["low"] == pytest.approx(ci.low, abs=1e-6)
            flags[arm] = {"stuck": stuck, "trapped": trapped,
                          "first": first}
        for what in ("stuck", "trapped"):
            for arm, suffix, key in (("dropout", "", "paired"),
                                     ("matched", "-matched",
                                      "paired_matched")):
                rec = out["comparisons"][f"minima-{what}-{name}{suffix}"]
                a, b = flags["plain"][what], flags[arm][what]
                d = b.astype(int) - a
                np.testing.assert_array_equal(rec["effects"], d)
                assert rec["better"] == "lower" and rec["dataset"] == name
                _check_paired(prob[key][what], rec, a, b)
        for arm in ("dropout", "matched"):
            _check_epochs(prob["epochs_paired"][arm], flags["plain"]["first"],
                          flags[arm]["first"])


def _check_paired(pair, rec, a, b):
    """The paired summaries beside a record, recomputed from the flags."""
    cells = {"plain_only": np.sum(a & ~b), "dropout_only": np.sum(~a & b),
             "both": np.sum(a & b), "neither": np.sum(~a & ~b)}
    assert {k: pair[k] for k in cells} == cells
    assert pair["difference"] == pytest.approx(
        (cells["dropout_only"] - cells["plain_only"]) / a.size, abs=1e-6)
    p = lm.mcnemar_exact(int(cells["plain_only"]), int(cells["dropout_only"]))
    assert pair["mcnemar_p"] == pytest.approx(p, rel=5e-3)
    nc = lm.newcombe_paired(int(cells["both"]), int(cells["dropout_only"]),
                            int(cells["plain_only"]), int(cells["neither"]))
    assert pair["newcombe"]["low"] == pytest.approx(nc.low, abs=1e-6)
    assert pair["newcombe"]["high"] == pytest.approx(nc.high, abs=1e-6)
    assert nc.low <= pair["difference"] <= nc.high
    bt = evidence.interval(rec)
    assert pair["block_t"]["n"] == bt.n == a.shape[0]
    assert pair["block_t"]["low"] == pytest.approx(bt.low, abs=1e-6)
    assert pair["block_t"]["high"] == pytest.approx(bt.high, abs=1e-6)
    assert pair["verdict"] == evidence.verdict(rec).label  # the label's rule


def _check_epochs(ep, first_a, first_b):
    """Paired epochs to the minimum: b minus a where both solved."""
    both = (first_a > 0) & (first_b > 0)
    assert ep["n"] == both.sum()
    if both.any():
        assert ep["median_difference"] == np.median(first_b[both]
                                                    - first_a[both])
        assert ep["median_a"] == np.median(first_a[both])
    else:
        assert ep["median_difference"] is None


def test_small_study_applies_the_definitions(small):
    _check_definitions(small)


def test_saved_study_applies_the_definitions(saved):
    assert saved["format"] == lm.FORMAT and saved["scale"] == "full"
    _check_definitions(saved)


def test_saved_study_design(saved):
    c = saved["config"]
    # >= 200 paired initialisations per arm, in >= 3 blocks
    assert c["blocks"] >= 3 and c["blocks"] * c["per_block"] >= 200
    assert len(saved["seeds"]) == c["blocks"] * c["per_block"]
    assert not set(saved["seeds"]) & set(c["pilot_seeds"])
    assert c["final_plain"] > 0 and c["extend_factor"] == 10
    for prob in saved["problems"].values():
        for arm, a in prob["arms"].items():
            t = a["tuning"]
            keys = [(r["stuck_fraction"], np.inf if r["median_epochs"] is None
                     else r["median_epochs"], tuple(s.values()))
                    for s, r in zip(t["settings"], t["scores"])]
            assert t["chosen"] == min(range(len(keys)), key=keys.__getitem__)
            assert t["settings"][t["chosen"]]["lr"] == a["lr"]
            assert t["pilot_seeds"] == c["pilot_seeds"]
            for field, e in t["edges"].items():
                assert not e["high_edge"], (arm, field)
                assert not e["low_edge"] or field == "p_drop", (arm, field)
        # p_drop on its low edge only where the grid's natural end, no
        # dropout (the plain arm on the same pilot at the same lr), is better
        d, p = prob["arms"]["dropout"], prob["arms"]["plain"]["tuning"]
        if d["tuning"]["edges"]["p_drop"]["low_edge"]:
            at = [s["lr"] for s in p["settings"]].index(d["lr"])
            best = d["tuning"]["scores"][d["tuning"]["chosen"]]
            assert p["scores"][at]["stuck_fraction"] < best["stuck_fraction"]


def _check_matched(out):
    """The matched arm: the plain arm's lr, p_drop by the tuning rule on the
    dropout arm's pilot runs at that lr, the same initialisations."""
    for prob in out["problems"].values():
        plain, drop, m = (prob["arms"]["plain"], prob["arms"]["dropout"],
                          prob["matched"])
        assert m["lr"] == plain["lr"]
        t, dt = m["tuning"], drop["tuning"]
        assert t["lr"] == plain["lr"] and t["pilot_seeds"] == dt["pilot_seeds"]
        at = [(st, sc) for st, sc in zip(dt["settings"], dt["scores"])
              if st["lr"] == plain["lr"]]
        assert [st for st, _ in at] == t["settings"] and at
        keys = [(sc["stuck_fraction"], np.inf if sc["median_epochs"] is None
                 else sc["median_epochs"], st["p_drop"]) for st, sc in at]
        best = min(range(len(keys)), key=keys.__getitem__)
        assert t["chosen"] == best
        assert m["p_drop"] == t["settings"][best]["p_drop"] > 0
        same = (m["lr"], m["p_drop"]) == (drop["lr"], drop["p_drop"])
        assert m["same_as_dropout"] == same
        if same:  # the same setting, initialisations and masks
            for k in ("J", "first_solved", "J_extended", "left_at"):
                assert m[k] == drop[k]


def test_small_study_matched_arm(small):
    _check_matched(small)


def test_saved_study_matched_arm(saved):
    _check_matched(saved)
    for prob in saved["problems"].values():
        t = prob["matched"]["tuning"]
        assert t["edge_rule"]["accepted"]
        e = t["edges"]["p_drop"]
        assert not e["high_edge"]
        if e["low_edge"]:  # accepted only where no dropout did better
            best = t["scores"][t["chosen"]]["stuck_fraction"]
            assert t["edge_rule"]["plain_stuck_fraction"] < best


def test_the_claims_records_rest_on_three_blocks(saved):
    # the claim cites the matched records, chosen before they were run
    assert saved["claim"]["records"] == list(lm.CLAIM_RECORDS) == [
        f"minima-stuck-{p}-matched" for p in lm.PROBLEMS]
    recs = [saved["comparisons"][r] for r in lm.CLAIM_RECORDS]
    assert all(len(r["effects"]) >= 3 for r in recs)
    assert all(r["b"] != r["a"] for r in recs)
    assert evidence.verdict(*recs).label in evidence.LABELS
    # the tuned-against-tuned records stay reported
    for p in lm.PROBLEMS:
        assert f"minima-stuck-{p}" in saved["comparisons"]


@pytest.mark.parametrize("arm", ["plain", "dropout", "matched"])
def test_first_xor_block_reruns(saved, arm, numerics_exact):
    c = saved["config"]
    xor = saved["problems"]["xor"]
    a = xor["matched"] if arm == "matched" else xor["arms"][arm]
    r = lm._run_arm("xor", saved["seeds"][:c["per_block"]], a["lr"],
                    a["p_drop"], c["epochs"], c["final_plain"])
    if numerics_exact:
        np.testing.assert_allclose(r["J"], a["J"][0], atol=2e-6)
    else:  # another summation order: most runs end on the same side
        same = np.mean(lm.is_stuck(r["J"]) == lm.is_stuck(a["J"][0]))
        assert same >= 0.9
