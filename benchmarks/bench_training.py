"""Time training a 64-256-256-10 MLP on the digits with and without dropout.

Usage::

    python benchmarks/bench_training.py            # 50 epochs, median of 3 repeats
    python benchmarks/bench_training.py --quick    # 10 epochs, 1 repeat
    python benchmarks/bench_training.py --repeats 5 --epochs 50 --batch-size 64
    python benchmarks/bench_training.py --threads 1   # single-threaded BLAS

``--threads N`` sets OMP/OPENBLAS/MKL_NUM_THREADS before NumPy is imported. On
a shared 2-core machine, multi-threaded BLAS on these small matrices can be
several times slower when the other core is busy; one thread is steadier.

Both configurations use the same data split, initial weights and batch order
(the seeds are fixed), so the ratio measures the cost of the dropout layers
(mask drawing, scaling, backward) in the whole training loop, including the
per-epoch evaluation of the train/val/test sets. Results go to stdout,
progress to stderr. This is a script, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def time_one(splits, p_drop: float, epochs: int, batch_size: int) -> tuple[float, float]:
    """Seconds for one training run, and the final test accuracy."""
    from dropout_lib.net import MLP
    from dropout_lib.optim import Adam
    from dropout_lib.training import fit

    net = MLP([64, 256, 256, 10], p_drop_hidden=p_drop, seed=0)
    start = time.perf_counter()
    hist = fit(net, splits, epochs=epochs, batch_size=batch_size, optimizer=Adam(1e-3),
                 seed=0)
    return time.perf_counter() - start, hist.final["test_acc"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, 1 repeat")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per config (median)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--p-drop", type=float, default=0.5, help="hidden drop probability")
    parser.add_argument("--threads", type=int, default=None,
                        help="set OMP/OPENBLAS/MKL_NUM_THREADS (before NumPy is imported)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if "numpy" in sys.modules:
            parser.error("--threads must be applied before NumPy is imported")
        for var in _THREAD_VARS:
            os.environ[var] = str(args.threads)
    import numpy as np

    from dropout_lib.data import digits_splits
    if args.quick:
        args.epochs, args.repeats = 10, 1
    if args.repeats < 1 or args.epochs < 1:
        parser.error("--repeats and --epochs must be >= 1")

    splits = digits_splits(seed=0)
    configs = {"dropout off": 0.0, f"dropout {args.p_drop:g}": args.p_drop}
    time_one(splits, args.p_drop, 1, args.batch_size)  # warm-up (imports, caches)

    times: dict[str, list[float]] = {name: [] for name in configs}
    accs: dict[str, float] = {}
    total = args.repeats * len(configs)
    done = 0
    for _ in range(args.repeats):
        for name, p in configs.items():  # interleaved, so drifts hit both alike
            t, acc = time_one(splits, p, args.epochs, args.batch_size)
            times[name].append(t)
            accs[name] = acc
            done += 1
            sys.stderr.write(f"\r{done}/{total} runs ({name}: {t:.2f} s)      ")
            sys.stderr.flush()
    sys.stderr.write("\n")

    n_train = splits.X_train.shape[0]
    steps = args.epochs * -(-n_train // args.batch_size)
    print(f"MLP 64-256-256-10 on digits: {n_train} training images, {args.epochs} epochs, "
          f"batch size {args.batch_size} ({steps} updates), Adam, float64")
    threads = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in _THREAD_VARS)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {threads}, "
          f"median of {args.repeats} repeat(s)")
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        print(f"  {name:<12} {med[name]:7.3f} s   (runs: {', '.join(f'{t:.3f}' for t in ts)};"
              f" test acc {accs[name]:.3f})")
    off, on = med["dropout off"], med[f"dropout {args.p_drop:g}"]
    print(f"  ratio dropout/no dropout: {on / off:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
