"""Tests of dropout_lib.training: learning, determinism, streams, regularisers, validation."""

import os
import subprocess
import sys

import numpy as np
import pytest

from dropout_lib.data import Splits, digits_splits, make_gap_regression, train_val_test_split
from dropout_lib.net import MLP
from dropout_lib.optim import SGD, Adam
from dropout_lib.training import EarlyStopping, History, evaluate, fit, spawn_streams


@pytest.fixture(scope="module")
def digits():
    return digits_splits(seed=0)


@pytest.fixture(scope="module")
def small_digits():
    return digits_splits(seed=0, n_train=200)


def _net(p=0.5, seed=0, hidden=(64,), **kw):
    return MLP([64, *hidden, 10], p_drop_hidden=p, seed=seed, **kw)


def test_training_on_digits_reaches_accuracy(digits):
    # 64-128-10, dropout 0.3, Adam 2e-3, 20 epochs: over seeds 0..7 the test accuracy
    # measured 0.964-0.975 (mean 0.969). We assert >= 0.95, and that training helped.
    net = MLP([64, 128, 10], p_drop_hidden=0.3, seed=0)
    hist = fit(net, digits, epochs=20, batch_size=64, optimizer=Adam(2e-3), seed=0)
    assert hist.test_acc[0] < 0.3  # untrained: about chance (0.1)
    assert hist.final["test_acc"] >= 0.95
    assert hist.final["test_acc"] == evaluate(net, digits.X_test, digits.y_test)[1]
    assert hist.train_loss[-1] < 0.2 * hist.train_loss[0]


def test_history_structure(small_digits):
    net = _net()
    hist = fit(net, small_digits, epochs=4, batch_size=32, optimizer="adam", seed=1)
    assert isinstance(hist, History) and hist.task == "classification"
    assert hist.epochs == [0, 1, 2, 3, 4]
    for split in ("train", "val", "test"):
        assert len(getattr(hist, f"{split}_loss")) == 5
        acc = hist.metric(f"{split}_acc")
        assert acc.shape == (5,) and np.all((acc >= 0) & (acc <= 1))
    assert len(hist.batch_loss) == 4
    assert hist.best_epoch == int(np.argmin(hist.val_loss))
    assert hist.monitor == "val_loss" and not hist.stopped_early
    # without early stopping the net keeps its last weights
    assert hist.final["val_loss"] == hist.val_loss[-1]
    assert hist.config["n_train"] == 200 and hist.config["batch_size"] == 32
    assert "best epoch" in hist.summary()


def test_same_seed_bit_identical(small_digits):
    runs = []
    for _ in range(2):
        net = _net(p=0.5, seed=3, p_drop_input=0.2)
        hist = fit(net, small_digits, epochs=3, batch_size=16,
                     optimizer=SGD(0.1, momentum=0.9), seed=11, l2=1e-4, max_norm=3.0)
        runs.append((net, hist))
    (n1, h1), (n2, h2) = runs
    assert h1 == h2  # every float of every list, exactly
    for k in n1.params:
        np.testing.assert_array_equal(n1.params[k], n2.params[k])
    net = _net(p=0.5, seed=3, p_drop_input=0.2)
    h3 = fit(net, small_digits, epochs=3, batch_size=16, optimizer=SGD(0.1, momentum=0.9),
               seed=12, l2=1e-4, max_norm=3.0)
    assert h3.train_loss != h1.train_loss


def test_rng_argument_is_deterministic(small_digits):
    a = fit(_net(), small_digits, epochs=2, batch_size=32, optimizer="adam",
              rng=np.random.default_rng(5))
    b = fit(_net(), small_digits, epochs=2, batch_size=32, optimizer="adam",
              rng=np.random.default_rng(5))
    assert a == b


class _RecordingMLP(MLP):
    """Records the labels of every minibatch it is trained on.

    ``fit`` checks its data once and then calls the unchecked ``_loss_and_grads``
    on every minibatch, so that is the method to watch.
    """

    def _loss_and_grads(self, X, y, *args, **kw):
        self.seen.append(np.array(y))
        return super()._loss_and_grads(X, y, *args, **kw)


def test_batch_order_does_not_depend_on_p_drop(small_digits):
    orders = []
    for p in (0.0, 0.5, 0.8):
        net = _RecordingMLP([64, 32, 10], p_drop_hidden=p, p_drop_input=p / 4, seed=0)
        net.seen = []
        fit(net, small_digits, epochs=2, batch_size=16, optimizer="adam", seed=7)
        orders.append(np.concatenate(net.seen))
    np.testing.assert_array_equal(orders[0], orders[1])
    np.testing.assert_array_equal(orders[0], orders[2])
    # ...but the seed does change it
    net = _RecordingMLP([64, 32, 10], seed=0)
    net.seen = []
    fit(net, small_digits, epochs=2, batch_size=16, optimizer="adam", seed=8)
    assert not np.array_equal(np.concatenate(net.seen), orders[0])


_SUBPROCESS = """
from dropout_lib.data import digits_splits
from dropout_lib.net import MLP
from dropout_lib.training import fit
s = digits_splits(seed=0, n_train=300)
net = MLP([64, 128, 128, 10], p_drop_input=0.2, p_drop_hidden=0.5, seed=0)
h = fit(net, s, epochs=3, batch_size=32, optimizer="adam", seed=0)
print(" ".join(f"{a:.3f}" for a in h.val_acc + h.test_acc + h.train_acc))
"""


def test_accuracies_same_with_one_or_two_threads():
    out = []
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                   MKL_NUM_THREADS=threads)
        res = subprocess.run([sys.executable, "-c", _SUBPROCESS], env=env, capture_output=True,
                             text=True, timeout=120, check=True)
        out.append(res.stdout.strip())
    assert out[0] == out[1]
    assert len(out[0].split()) == 12


def test_max_norm_during_training(small_digits):
    net = _net(p=0.5, hidden=(64, 64))
    fit(net, small_digits, epochs=2, batch_size=16, optimizer=SGD(0.5, momentum=0.9),
          seed=0, max_norm=1.0)
    for k in ("W1", "W2"):
        assert np.all(np.linalg.norm(net.params[k], axis=0) <= 1.0 + 1e-9)
    # control: the same run without the constraint exceeds the bound
    free = _net(p=0.5, hidden=(64, 64))
    fit(free, small_digits, epochs=2, batch_size=16, optimizer=SGD(0.5, momentum=0.9),
          seed=0)
    assert np.linalg.norm(free.params["W2"], axis=0).max() > 1.0


def test_l2_shrinks_weights(small_digits):
    norms = []
    # With SGD, L2 multiplies the weights by (1 - lr * l2) = 0.99 at each of the 70
    # steps on top of the data gradient: about half the norm would go without data.
    for l2 in (0.0, 0.1):
        net = _net(p=0.0)
        fit(net, small_digits, epochs=10, batch_size=32, optimizer=SGD(0.1), seed=0, l2=l2)
        norms.append(np.linalg.norm(net.params["W1"]))
    assert norms[1] < 0.8 * norms[0]


def test_early_stopping_restores_best(small_digits):
    net = _net(p=0.0, hidden=(128,))
    hist = fit(net, small_digits, epochs=200, batch_size=16, optimizer=Adam(1e-2), seed=0,
                 early_stopping=EarlyStopping(patience=3))
    assert hist.stopped_early
    assert len(hist.epochs) - 1 == hist.best_epoch + 3
    val_loss, val_acc = evaluate(net, small_digits.X_val, small_digits.y_val)
    assert val_loss == hist.val_loss[hist.best_epoch]
    assert hist.final["val_loss"] == val_loss and hist.final["val_acc"] == val_acc
    assert hist.val_loss[-1] > val_loss
    # monitor val_acc, int patience shorthand
    h2 = fit(_net(p=0.0), small_digits, epochs=200, batch_size=16, optimizer=Adam(1e-2),
               seed=0, early_stopping=EarlyStopping(patience=2, monitor="val_acc"))
    assert h2.best_epoch == int(np.argmax(h2.val_acc)) and h2.monitor == "val_acc"
    h3 = fit(_net(p=0.0), small_digits, epochs=200, batch_size=16, optimizer=Adam(1e-2),
               seed=0, early_stopping=2)
    assert h3.stopped_early


def test_regression_training():
    X, y = make_gap_regression(120, noise=0.05, seed=0)
    s = train_val_test_split(X, y, seed=0)
    net = MLP([1, 64, 64, 1], p_drop_hidden=0.1, seed=0)
    hist = fit(net, s, epochs=300, batch_size=16, optimizer=Adam(1e-2), seed=0, loss="mse")
    assert hist.task == "regression" and hist.train_acc is None
    assert "test_acc" not in hist.final
    assert hist.final["train_loss"] < 0.1 * hist.train_loss[0]
    assert hist.final["test_loss"] < 0.1  # the targets vary with variance ~0.37


def test_tuple_data_and_float32(small_digits):
    net = MLP([64, 32, 10], p_drop_hidden=0.5, seed=0, dtype=np.float32)
    hist = fit(net, (small_digits.X_train, small_digits.y_train), epochs=2, batch_size=32,
                 optimizer="adam", seed=0)
    assert hist.val_loss == [] and hist.monitor == "train_loss"
    assert net.params["W1"].dtype == np.float32


def test_prints_nothing_by_default_and_progress_on_stderr(small_digits, capsys):
    fit(_net(), small_digits, epochs=2, batch_size=64, optimizer="adam", seed=0)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    fit(_net(), small_digits, epochs=2, batch_size=64, optimizer="adam", seed=0,
          progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "\r" in err and "2/2" in err and err.endswith("\n")


def test_global_numpy_rng_untouched(small_digits):
    np.random.seed(1234)
    state = np.random.get_state()[1].copy()
    net = _net(p=0.5, p_drop_input=0.2)
    fit(net, small_digits, epochs=1, batch_size=32, optimizer="adam", seed=0)
    digits_splits(seed=1, n_train=50)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_data_not_modified(small_digits):
    arrays = {}
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        a = getattr(small_digits, name).copy()
        a.flags.writeable = False
        arrays[name] = a
    frozen = Splits(**arrays, n_classes=10)
    fit(_net(p_drop_input=0.2), frozen, epochs=1, batch_size=32, optimizer="adam", seed=0)
    for name, a in arrays.items():
        np.testing.assert_array_equal(a, getattr(small_digits, name))


def _assert_untrained(net, before):
    for k in before:
        np.testing.assert_array_equal(net.params[k], before[k])


@pytest.mark.parametrize("change, exc, match", [
    (dict(epochs=0), ValueError, "epochs must be an int >= 1"),
    (dict(batch_size=0), ValueError, "batch_size must be an int >= 1"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer must be one of"),
    (dict(l2=-0.1), ValueError, "l2 must be a finite number >= 0"),
    (dict(max_norm=0.0), ValueError, "max_norm must be None or a finite number > 0"),
    (dict(loss="hinge"), ValueError, "loss must be one of"),
    (dict(seed=None), TypeError, "give exactly one of seed"),
    (dict(rng=np.random.default_rng(0)), TypeError, "give exactly one of seed"),
    (dict(early_stopping=EarlyStopping(patience=2)), ValueError,
     "early_stopping needs a validation split"),
    (dict(progress=1), TypeError, "progress must be a bool"),
])
def test_bad_training_configuration(small_digits, change, exc, match):
    kw = dict(epochs=2, batch_size=32, optimizer="adam", seed=0)
    kw.update(change)
    data = (small_digits.X_train, small_digits.y_train)
    net = _net()
    before = net.get_params()
    with pytest.raises(exc, match=match):
        fit(net, data, **kw)
    _assert_untrained(net, before)


def test_bad_data_raises_before_training(small_digits):
    net = _net()
    before = net.get_params()
    X, y = small_digits.X_train, small_digits.y_train
    kw = dict(epochs=1, batch_size=32, optimizer="adam", seed=0)
    bad_test = Splits(X, y, small_digits.X_val, small_digits.y_val, small_digits.X_test,
                      np.where(small_digits.y_test == 9, 10, small_digits.y_test), n_classes=10)
    with pytest.raises(ValueError, match=r"y_test labels must lie in 0\.\.9 for 10 classes"):
        fit(net, bad_test, **kw)
    with pytest.raises(ValueError, match="X_train and y_train must have the same length"):
        fit(net, (X, y[:-1]), **kw)
    with pytest.raises(ValueError, match=r"X_train must be 2-D"):
        fit(net, (X[0], y[:1]), **kw)
    with pytest.raises(ValueError, match="X_train must have 64 columns"):
        fit(net, (X[:, :10], y), **kw)
    with pytest.raises(TypeError, match="y_train must hold integer class labels"):
        fit(net, (X, y.astype(float)), **kw)
    with pytest.raises(TypeError, match="data must be a Splits or a tuple"):
        fit(net, [X, y], **kw)
    with pytest.raises(TypeError, match="y_train must hold float targets for loss='mse'"):
        fit(MLP([64, 1], seed=0), (X, y), loss="mse", **kw)
    with pytest.raises(ValueError, match="X_train contains NaN"):
        fit(net, (np.where(X > 0.5, np.nan, X), y), **kw)
    with pytest.raises(ValueError, match="early_stopping patience must be an int >= 1"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="early_stopping monitor must be one of"):
        EarlyStopping(monitor="train_loss")
    with pytest.raises(ValueError, match=r"lr \(learning rate\)"):
        fit(net, (X, y), epochs=1, batch_size=32, optimizer=SGD(-1.0), seed=0)
    _assert_untrained(net, before)


# --------------------------------------------------------------------------- checked once, then unchecked


class _CountingAdam(Adam):
    """Adam that counts its updates."""

    def step(self, params, grads):
        self.updates = getattr(self, "updates", 0) + 1
        super().step(params, grads)


@pytest.mark.parametrize("change, exc", [
    (dict(seed=None), TypeError),  # the streams are made last of all checks
    (dict(max_norm=-1.0), ValueError),
    (dict(l2="0.1"), TypeError),
    (dict(epochs=2.0), TypeError),
    (dict(early_stopping=EarlyStopping(monitor="val_acc")), ValueError),  # no val split
])
def test_every_check_runs_before_the_first_update(small_digits, change, exc):
    net, opt = _net(), _CountingAdam()
    before = net.get_params()
    kw = dict(epochs=2, batch_size=32, optimizer=opt, seed=0)
    kw.update(change)
    with pytest.raises(exc):
        fit(net, (small_digits.X_train, small_digits.y_train), **kw)
    assert getattr(opt, "updates", 0) == 0 and opt.t == 0 and opt.state == {}
    _assert_untrained(net, before)


def test_fit_checks_the_network_parameters_first(small_digits):
    # A parameter replaced by hand is checked once, before training, not per minibatch.
    net = _net()
    net.params["W2"] = net.params["W2"][:, :5]
    before = net.get_params()
    with pytest.raises(ValueError, match=r"params\['W2'\] must have the same shape"):
        fit(net, small_digits, epochs=1, batch_size=32, optimizer="adam", seed=0)
    _assert_untrained(net, before)
    net = _net()
    net.params["b1"] = net.params["b1"].astype(np.int64)
    with pytest.raises(TypeError, match=r"params\['b1'\] must be a NumPy array of floating"):
        fit(net, small_digits, epochs=1, batch_size=32, optimizer="adam", seed=0)


def _manual_fit(net, splits, *, epochs, batch_size, optimizer, seed, l2, max_norm):
    """fit's loop written with the public, checked calls only (the reference)."""
    batch_rng, drop_rng = spawn_streams(seed)
    X, y = splits.X_train, splits.y_train
    names = splits.available()
    metrics = {f"{s}_{m}": [] for s in names for m in ("loss", "acc")}
    batch_loss = []

    def record():
        for s in names:
            loss, acc = evaluate(net, *splits.get(s))
            metrics[f"{s}_loss"].append(loss)
            metrics[f"{s}_acc"].append(acc)

    record()
    for _ in range(epochs):
        perm, total = batch_rng.permutation(len(X)), 0.0
        for start in range(0, len(X), batch_size):
            idx = perm[start:start + batch_size]
            value, grads = net.loss_and_grads(X[idx], y[idx], train=True, rng=drop_rng, l2=l2)
            optimizer.step(net.params, grads)
            net.apply_max_norm(max_norm)
            total += value * idx.size
        batch_loss.append(total / len(X))
        record()
    return metrics, batch_loss


@pytest.mark.parametrize("mode", ["inverted", "original"])
def test_unchecked_training_path_equals_the_public_calls(small_digits, mode):
    kw = dict(epochs=3, batch_size=24, seed=4, l2=1e-3, max_norm=2.5)
    nets = [MLP([64, 32, 16, 10], activation=["relu", "tanh"], p_drop_input=0.2,
                p_drop_hidden=[0.5, 0.3], dropout_mode=mode, seed=2) for _ in range(2)]
    hist = fit(nets[0], small_digits, optimizer=SGD(0.2, momentum=0.9), **kw)
    metrics, batch_loss = _manual_fit(nets[1], small_digits, optimizer=SGD(0.2, momentum=0.9),
                                      **kw)
    assert hist.batch_loss == batch_loss  # exactly: the same draws and operations
    for name, values in metrics.items():
        assert getattr(hist, name) == values, name
    for k in nets[0].params:
        np.testing.assert_array_equal(nets[0].params[k], nets[1].params[k])


def test_fit_checks_the_data_once_not_per_minibatch(small_digits, monkeypatch):
    calls = {"check_X": 0, "checked pass": 0}
    check_X, check_pass = MLP.check_X, MLP._check_pass

    def counting(name, method):
        def wrapper(self, *args, **kw):
            calls[name] += 1
            return method(self, *args, **kw)
        return wrapper

    monkeypatch.setattr(MLP, "check_X", counting("check_X", check_X))
    monkeypatch.setattr(MLP, "_check_pass", counting("checked pass", check_pass))
    fit(_net(), small_digits, epochs=3, batch_size=16, optimizer="adam", seed=0)
    # 3 splits checked once each; 3 epochs x 13 minibatches and 4 x 3 evaluations unchecked.
    assert calls == {"check_X": 3, "checked pass": 0}


def test_spawn_streams_are_seed_sequence_children():
    for seed in (0, 7, np.int64(3), np.random.SeedSequence(5)):
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
        want = [np.random.default_rng(s).random(4) for s in ss.spawn(2)]
        if isinstance(seed, np.random.SeedSequence):
            seed = np.random.SeedSequence(5)
        got = [g.random(4) for g in spawn_streams(seed)]
        np.testing.assert_array_equal(got, want)
    parent_a, parent_b = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_array_equal([g.random(3) for g in spawn_streams(rng=parent_a, n=3)],
                                  [g.random(3) for g in parent_b.spawn(3)])
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        spawn_streams(-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        spawn_streams(1.5)


# --------------------------------------------------------------------------- one trainer


def _layer_net(kind, seed=0):
    from dropout_lib.experiments import _layers_net as nn
    if kind == "conv":
        layers = [nn.conv("1", 1, 4), nn.relu(), nn.dropout(0.3, (2, 3)),
                  nn.avg_pool(), nn.flatten(), nn.affine("2", 4 * 16, 10)]
        return nn.LayerNet(layers, input_shape=(1, 8, 8), n_outputs=10, seed=seed)
    layers = [nn.affine("1", 64, 16), nn.relu(), nn.dropout(0.5),
              nn.affine("2", 16, 16), nn.batchnorm("2", 16), nn.relu(),
              nn.affine("3", 16, 10)]
    return nn.LayerNet(layers, input_shape=(64,), n_outputs=10, seed=seed)


@pytest.mark.parametrize("kind", ["conv", "bn"])
def test_fit_trains_a_layer_net_and_evaluate_scores_it(small_digits, kind):
    net = _layer_net(kind)
    hist = fit(net, small_digits, epochs=6, batch_size=32, optimizer=Adam(1e-2),
               seed=1)
    assert hist.val_acc[-1] > hist.val_acc[0] + 0.25
    loss, acc = evaluate(net, small_digits.X_val, small_digits.y_val)
    assert loss == pytest.approx(hist.val_loss[-1]) and acc == hist.val_acc[-1]
    again = _layer_net(kind)
    fit(again, small_digits, epochs=6, batch_size=32, optimizer=Adam(1e-2), seed=1)
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, again.params[k])


def test_layer_net_gradients_match_numerical_ones(small_digits):
    from dropout_lib.gradcheck import numerical_gradient, rel_error
    for kind in ("conv", "bn"):
        net = _layer_net(kind, seed=3)
        # zero biases would put the blank pixels' pre-activations on ReLU's kink
        for key in net.params:
            if key.startswith("b"):
                net.params[key] = net.params[key] + 0.1
        X, y = small_digits.X_train[:6], small_digits.y_train[:6]
        states = net.states
        grads = net.loss_and_grads(X, y, train=True, l2=0.01,
                                   rng=np.random.default_rng(7))[1]
        assert net.states is not states  # a training pass moves the BN statistics
        for key, value in net.get_params().items():
            if key == "_states":
                continue

            def f(p, key=key):
                # the same masks every call: a fresh generator of one seed
                net.params[key] = p
                return net.loss_and_grads(X, y, train=True, l2=0.01,
                                          rng=np.random.default_rng(7))[0]

            num = numerical_gradient(f, value)
            net.params[key] = value
            # a bias before batch norm has gradient 0: compare absolutely there
            assert (rel_error(num, grads[key]) < 1e-6
                    or np.max(np.abs(num - grads[key])) < 1e-9), (kind, key)


def test_restoring_the_best_epoch_restores_batch_norm_statistics(small_digits):
    net = _layer_net("bn")
    hist = fit(net, small_digits, epochs=6, batch_size=32, optimizer=Adam(3e-2),
               seed=1, early_stopping=EarlyStopping(patience=6))
    loss, _ = evaluate(net, small_digits.X_val, small_digits.y_val)
    assert loss == pytest.approx(hist.val_loss[hist.best_epoch])


def test_fit_refuses_a_network_without_the_contract(small_digits):
    with pytest.raises(TypeError, match="net must be"):
        fit(object(), small_digits, epochs=1, batch_size=8, optimizer="adam",
            seed=0)
    with pytest.raises(TypeError, match="net must be"):
        evaluate(object(), small_digits.X_val, small_digits.y_val)


# --------------------------------------------------------------------------- dropout_epochs


def _conv_net(p_drop, seed=0):
    from dropout_lib.experiments import _layers_net as nn
    layers = [nn.conv("1", 1, 4), nn.relu(), nn.dropout(p_drop, (2, 3)),
              nn.avg_pool(), nn.flatten(), nn.affine("2", 4 * 16, 10)]
    return nn.LayerNet(layers, input_shape=(1, 8, 8), n_outputs=10, seed=seed)


def test_dropout_epochs_outside_the_window_train_the_net_without_dropout(
        small_digits):
    # a LayerNet without batch norm: a window after the last epoch gives,
    # bit for bit, the weights of the same network with p_drop 0
    def run(p_drop, window):
        net = _conv_net(p_drop)
        return net, fit(net, small_digits, epochs=3, batch_size=32,
                        optimizer=Adam(1e-2), seed=1, dropout_epochs=window)

    (late, h_late), (plain, h_plain) = run(0.3, (4, 4)), run(0.0, None)
    h_always = run(0.3, (1, 3))[1]
    assert h_late.train_loss == h_plain.train_loss
    for k, v in late.params.items():
        np.testing.assert_array_equal(v, plain.params[k])
    assert h_always.train_loss != h_plain.train_loss  # dropout did act


def test_dropout_epochs_is_refused_for_a_network_with_batch_norm(small_digits):
    # outside the window a step runs train=False, which would normalise with
    # the running statistics: refused before any step, the network untouched
    net = _layer_net("bn")
    before = net.get_params()
    assert net.uses_batchnorm
    for window in [(1, 2), (1, 6), (3, 6)]:
        with pytest.raises(ValueError, match="dropout_epochs.*batch norm"):
            fit(net, small_digits, epochs=6, batch_size=32, optimizer="adam",
                seed=1, dropout_epochs=window)
    after = net.get_params()
    assert all(after["_states"][n] is s for n, s in before["_states"].items())
    for k, v in before.items():
        if k != "_states":
            np.testing.assert_array_equal(v, after[k])
