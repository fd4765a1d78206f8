"""Time training an MLP (64-256-256-10 by default) on the digits with and without dropout.

Usage::

    python benchmarks/bench_training.py            # 50 epochs, median of 3 repeats
    python benchmarks/bench_training.py --quick    # 10 epochs, 1 repeat
    python benchmarks/bench_training.py --repeats 5 --epochs 50 --batch-size 64
    python benchmarks/bench_training.py --threads 1   # single-threaded BLAS
    python benchmarks/bench_training.py --threads 1 --baseline d10d1e5   # against a commit
    python benchmarks/bench_training.py --threads 1 --hidden 32 --baseline HEAD  # a small net

``--hidden`` sets the hidden sizes (default ``256,256``); with a small net such
as ``--hidden 32`` the fixed cost of each minibatch (Python calls, argument
checks) is a larger part of the time than the matrix products.

``--threads N`` sets OMP/OPENBLAS/MKL_NUM_THREADS before NumPy is imported. On
a shared 2-core machine, multi-threaded BLAS on these small matrices can be
several times slower when the other core is busy; one thread is steadier.

Both configurations use the same data split, initial weights and batch order
(the seeds are fixed), so the ratio measures the cost of the dropout layers
(mask drawing, scaling, backward) in the whole training loop, including the
per-epoch evaluation of the train/val/test sets.

``--baseline REF`` also trains with ``dropout_lib`` as it was at the git
revision ``REF`` (the whole package, extracted with ``git archive`` and
imported under another name), in the same process and interleaved with the
current code, and prints the ratio current/baseline for each configuration
(the median of the per-repeat ratios; < 1 means the current code is faster)
and whether both gave bit-identical histories and weights.

Every run is timed twice: wall-clock seconds, and the CPU seconds of this
process (``time.process_time``). The ratios use CPU seconds, which other
processes on a shared machine disturb far less than the wall clock (with one
BLAS thread the process does all its work on one core).

Results go to stdout, progress to stderr. This is a script, not a test: it
asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_BASELINE_NAME = "_baseline_dropout_lib"
_METRICS = ("train_loss", "val_loss", "test_loss", "batch_loss", "train_acc", "val_acc",
            "test_acc")


def load_baseline(ref: str, into: Path) -> ModuleType:
    """``dropout_lib`` at git revision ``ref``, imported as ``_baseline_dropout_lib``.

    The package uses only relative imports, so a renamed copy is a separate,
    complete package that does not touch the current ``dropout_lib``.
    """
    root = Path(__file__).resolve().parents[1]
    tar = subprocess.run(["git", "archive", "--format=tar", ref, "dropout_lib"], cwd=root,
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    (into / "dropout_lib").rename(into / _BASELINE_NAME)
    sys.path.insert(0, str(into))
    return importlib.import_module(_BASELINE_NAME)


def time_one(lib: ModuleType, hidden: list[int], p_drop: float, epochs: int,
             batch_size: int) -> tuple[float, float, object, object]:
    """Wall and CPU seconds of one training run of package ``lib``, its History and net."""
    splits = lib.data.digits_splits(seed=0)  # each package's own Splits class
    net = lib.net.MLP([64, *hidden, 10], p_drop_hidden=p_drop, seed=0)
    start, cpu = time.perf_counter(), time.process_time()
    hist = lib.training.fit(net, splits, epochs=epochs, batch_size=batch_size,
                            optimizer=lib.optim.Adam(1e-3), seed=0)
    return time.perf_counter() - start, time.process_time() - cpu, hist, net


def same_run(a: tuple, b: tuple) -> bool:
    """True if two (History, MLP) pairs hold exactly the same numbers."""
    import numpy as np

    (ha, na), (hb, nb) = a, b
    if any(getattr(ha, m) != getattr(hb, m) for m in _METRICS + ("epochs", "best_epoch")):
        return False
    return ha.final == hb.final and all(np.array_equal(na.params[k], nb.params[k])
                                        for k in na.params)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, 1 repeat")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per config (median)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--p-drop", type=float, default=0.5, help="hidden drop probability")
    parser.add_argument("--hidden", default="256,256",
                        help="hidden layer sizes, comma-separated (default 256,256)")
    parser.add_argument("--threads", type=int, default=None,
                        help="set OMP/OPENBLAS/MKL_NUM_THREADS (before NumPy is imported)")
    parser.add_argument("--baseline", metavar="REF", default=None,
                        help="also time dropout_lib at this git revision, side by side")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if "numpy" in sys.modules:
            parser.error("--threads must be applied before NumPy is imported")
        for var in _THREAD_VARS:
            os.environ[var] = str(args.threads)
    import numpy as np

    import dropout_lib
    if args.quick:
        args.epochs, args.repeats = 10, 1
    if args.repeats < 1 or args.epochs < 1:
        parser.error("--repeats and --epochs must be >= 1")
    try:
        hidden = [int(h) for h in args.hidden.split(",")]
    except ValueError:
        parser.error(f"--hidden must be comma-separated ints like 256,256; got {args.hidden!r}")

    tmp = tempfile.TemporaryDirectory()
    libs = {"current": dropout_lib}
    if args.baseline is not None:
        libs[f"baseline {args.baseline}"] = load_baseline(args.baseline, Path(tmp.name))
    configs = {"dropout off": 0.0, f"dropout {args.p_drop:g}": args.p_drop}
    for lib in libs.values():
        time_one(lib, hidden, args.p_drop, 1, args.batch_size)  # warm-up (imports, caches)

    pairs = [[(c, lib) for lib in libs] for c in configs]
    runs = [run for pair in pairs for run in pair]
    times: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    cpus: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    results: dict[tuple[str, str], tuple] = {}
    for r in range(args.repeats):
        # Interleaved, so drifts hit all alike; each configuration's runs alternate
        # their order (current first, then baseline first), so that neither gains
        # from running second, right after a run of the same shapes.
        order = [run for pair in pairs for run in (pair if r % 2 == 0 else pair[::-1])]
        for i, (name, lib) in enumerate(order):
            t, c, hist, net = time_one(libs[lib], hidden, configs[name], args.epochs,
                                       args.batch_size)
            times[name, lib].append(t)
            cpus[name, lib].append(c)
            results[name, lib] = (hist, net)
            sys.stderr.write(f"\r{r * len(runs) + i + 1}/{args.repeats * len(runs)} runs "
                             f"({name}, {lib}: {t:.2f} s)      ")
            sys.stderr.flush()
    sys.stderr.write("\n")

    n_train = results[runs[0]][0].config["n_train"]
    steps = args.epochs * -(-n_train // args.batch_size)
    print(f"MLP {'-'.join(map(str, [64, *hidden, 10]))} on digits: {n_train} training images, {args.epochs} epochs, "
          f"batch size {args.batch_size} ({steps} updates), Adam, float64")
    threads = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in _THREAD_VARS)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {threads}, "
          f"median of {args.repeats} repeat(s)")
    med = {run: statistics.median(ts) for run, ts in times.items()}
    cpu = {run: statistics.median(cs) for run, cs in cpus.items()}
    for name, lib in times:
        label = name if len(libs) == 1 else f"{name}, {lib}"
        acc = results[name, lib][0].final["test_acc"]
        print(f"  {label:<{12 if len(libs) == 1 else 34}} {med[name, lib]:7.3f} s wall, "
              f"{cpu[name, lib]:7.3f} s CPU   (CPU runs: "
              f"{', '.join(f'{c:.3f}' for c in cpus[name, lib])}; test acc {acc:.3f})")
    off, on = configs
    print(f"  ratio dropout/no dropout (CPU): {cpu[on, 'current'] / cpu[off, 'current']:.2f}x")
    for lib in list(libs)[1:]:
        for name in configs:
            paired = [a / b for a, b in zip(cpus[name, "current"], cpus[name, lib])]
            same = same_run(results[name, "current"], results[name, lib])
            print(f"  ratio current/{lib} (CPU), {name}: {statistics.median(paired):.3f}x "
                  f"(per repeat: {', '.join(f'{q:.3f}' for q in paired)}); "
                  f"bit-identical results: {'yes' if same else 'NO'}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
