"""Tests of dropout_lib.experiments.tuning: grids, validation-only choices, edges."""


import numpy as np
import pytest

from dropout_lib.data import digits_splits
from dropout_lib.experiments import Config, run
from dropout_lib.experiments.tuning import expand_grid, tune, without_test

TINY = Config(hidden=(16,), epochs=5, batch_size=64)


@pytest.fixture(scope="module")
def data():
    return digits_splits(seed=0, n_train=300)


def test_expand_grid_products_and_lists():
    g = expand_grid({"lr": [1, 2], "l2": [0, 3]})
    assert g == [{"lr": 1, "l2": 0}, {"lr": 1, "l2": 3}, {"lr": 2, "l2": 0},
                 {"lr": 2, "l2": 3}]
    both = expand_grid([{"lr": [1]}, {"optimizer": ["sgd"], "lr": [5]}])
    assert both == [{"lr": 1}, {"optimizer": "sgd", "lr": 5}]
    with pytest.raises(ValueError, match=r"grid\['lr'\]"):
        expand_grid({"lr": []})
    with pytest.raises(TypeError, match="grid must be"):
        expand_grid(3)


def test_tune_never_sees_the_test_split(data, monkeypatch):
    seen = []
    real_run = run

    def spy(config, d, seed, **kw):
        seen.append(d.X_test)
        return real_run(config, d, seed, **kw)

    monkeypatch.setattr("dropout_lib.experiments.tuning.run", spy)
    t = tune(TINY, data, {"lr": [1e-3, 3e-2]}, seeds=[0, 1])
    assert len(seen) == 4 and all(x is None for x in seen)
    assert t.scores.shape == (2, 2) and t.best == int(np.argmin(t.scores.mean(1)))
    assert t.config == TINY.replace(lr=[1e-3, 3e-2][t.best])
    assert t.epochs_trained == 4 * TINY.epochs


def test_tune_picks_by_validation_and_skips_diverged_settings(data,
                                                             monkeypatch):
    # Fake runs: the setting with lr 1.0 "diverges" (NaN validation loss)
    # and would win under a plain argmin, which treats NaN as smallest.
    class Hist:
        def __init__(self, loss):
            self.final, self.epochs = {"val_loss": loss}, [0, 1]

    losses = {1.0: float("nan"), 0.1: 0.3, 0.01: 0.2}
    monkeypatch.setattr("dropout_lib.experiments.tuning.run",
                        lambda cfg, d, seed: (None, Hist(losses[cfg.lr])))
    t = tune(TINY, data, {"lr": [1.0, 0.1, 0.01]}, seeds=[0])
    assert np.isnan(t.scores[0, 0]) and t.best == 2
    monkeypatch.undo()
    acc = tune(TINY, data, {"lr": [1e-4, 1e-2]}, seeds=[0], metric="val_acc")
    assert acc.best == int(np.argmax(acc.scores[:, 0]))
    with pytest.raises(ValueError, match="metric"):
        tune(TINY, data, {"lr": [1e-3]}, seeds=[0], metric="test_loss")
    with pytest.raises(ValueError, match="validation split"):
        without_test(digits_splits(seed=0, val_frac=0.0))


def _tuned(settings, best):
    from dropout_lib.experiments.core import Config
    from dropout_lib.experiments.tuning import Tuned
    scores = np.zeros((len(settings), 1))
    return Tuned(Config(), settings, scores, "val_loss", [0], best, 0)


def test_edges_are_taken_along_the_line_through_the_choice():
    from dropout_lib.experiments.tuning import expand_grid
    settings = expand_grid([{"optimizer": ["adam"], "lr": [1e-3, 3e-3, 1e-2],
                             "l2": [0.0, 1e-3]},
                            {"optimizer": ["sgd"], "lr": [0.05]}])
    interior = settings.index({"optimizer": "adam", "lr": 3e-3, "l2": 1e-3})
    e = _tuned(settings, interior).edges()
    assert e["lr"] == {"chosen": 3e-3, "values": [1e-3, 3e-3, 1e-2],
                       "on_edge": False, "at_bound": False}
    assert e["l2"]["on_edge"] is True          # the largest L2 tried
    zero = _tuned(settings, settings.index(
        {"optimizer": "adam", "lr": 3e-3, "l2": 0.0})).edges()
    assert zero["l2"] == {"chosen": 0.0, "values": [0.0, 1e-3],
                          "on_edge": False, "at_bound": True}
    assert e["optimizer"]["on_edge"] is False  # not a number
    low = _tuned(settings, 0).edges()
    assert low["lr"]["on_edge"] is True
    sgd = _tuned(settings, len(settings) - 1).edges()
    assert sgd["lr"]["on_edge"] is False       # one value: no grid to leave
    none = _tuned([{"max_norm": None}, {"max_norm": 1.0},
                   {"max_norm": 2.0}], 0).edges()
    assert none["max_norm"]["on_edge"] is False
    rec = _tuned(settings, interior).record()
    assert rec["edges"] == e and rec["chosen"] == interior


def _bowl(best):
    """A score with its minimum at ``best`` (log lr), no training."""
    calls = []

    def score(config, data, seed):
        calls.append((config.lr, config.l2, seed))
        return (np.log10(config.lr) - best) ** 2 + config.l2, 1
    return score, calls


def test_extend_walks_off_an_edge_until_the_choice_is_interior(data):
    score, calls = _bowl(best=-4.6)           # lr about 2.5e-5
    t = tune(TINY, data, {"lr": [1e-3, 1e-2], "l2": [0.0, 1e-3]},
             seeds=[0, 1], score=score, extend=True, max_rounds=6)
    e = t.edges()
    assert e["lr"]["on_edge"] is False and e["l2"]["on_edge"] is False
    assert t.config.l2 == 0.0
    # 1e-3 -> 1e-4 -> 1e-5 -> 1e-6: the nearest to 10**-4.6 is now inside
    assert e["lr"]["values"] == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
    assert t.config.lr == 1e-5
    # the full product: every L2 beside every new learning rate, no holes
    assert t.scores.shape == (len(t.settings), 2) == (10, 2)
    assert {(st["lr"], st["l2"]) for st in t.settings} == {
        (lr, l2) for lr in e["lr"]["values"] for l2 in (0.0, 1e-3)}
    assert len(calls) == 20                    # every setting and seed once
    assert t.record()["edges"]["lr"]["on_edge"] is False


def test_extend_stops_at_max_rounds_and_says_so(data):
    score, _ = _bowl(best=-9.0)                # far below every grid
    t = tune(TINY, data, {"lr": [1e-3, 1e-2]}, seeds=[0], score=score,
             extend=True, max_rounds=2)
    assert len(t.settings) == 4
    assert t.edges()["lr"]["on_edge"] is True  # still on the edge: recorded


def test_extend_grows_only_the_sub_grid_of_the_choice(data):
    score, _ = _bowl(best=-4.0)
    t = tune(TINY, data, [{"lr": [1e-2, 3e-2], "l2": [0.0]},
                          {"lr": [0.5], "l2": [1e-3, 1e-2]}],
             seeds=[0], score=score, extend=True, max_rounds=8)
    assert t.config.lr < 1e-2 and not t.edges()["lr"]["on_edge"]
    assert all(st["l2"] == 0.0 for st in t.settings if st["lr"] < 0.5)


def test_without_extend_the_grid_is_the_grid(data):
    score, _ = _bowl(best=-9.0)
    t = tune(TINY, data, {"lr": [1e-3, 1e-2]}, seeds=[0], score=score)
    assert len(t.settings) == 2 and t.edges()["lr"]["on_edge"] is True


def test_drop_probabilities_extend_arithmetically_inside_zero_and_one(data):
    from dropout_lib.experiments.tuning import _beyond
    assert _beyond([0.2, 0.4], "p_drop_hidden", upward=False) == 0.1
    assert _beyond([0.7, 0.9], "p_drop_hidden", upward=True) == 0.95
    assert _beyond([1e-3, 1e-2], "lr", upward=True) == 0.1
    assert _beyond([0.0, 1e-3], "l2", upward=False) is None
