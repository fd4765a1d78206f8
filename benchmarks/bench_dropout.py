"""Speed of dropout_lib's dropout against the baselines discussed in the book.

How to run (from the repository root)::

    .venv/bin/python benchmarks/bench_dropout.py            # full run, < 60 s
    .venv/bin/python benchmarks/bench_dropout.py --quick    # a few seconds

(``make bench`` runs the full version.) This is a measurement script, not a
test: it asserts nothing about timings. It prints one table: rows are
implementations, columns are array sizes x dtypes, each cell is the
throughput in millions of elements per second (median of several repeats)
and, in parentheses, the speed relative to the seed text's implementation
measured in the same run (">1" = faster than the seed).

Rows:

* ``ours: dropout_forward``  -- ``dropout_lib.layers.dropout_forward`` (training,
  inverted, p_drop = 0.5 unless ``--p-drop``), the public function, argument
  checks included: the high 16 bits of a 32-bit random number per unit against
  an integer threshold, the low 16 bits only on a tie, then
  ``out = x * s; out *= mask`` (``benchmarks/README.md`` explains each choice).
* ``ours: dropout_backward`` -- ``dropout_lib.layers.dropout_backward``.
* ``seed text (global RNG)`` -- the code the book starts from, reproduced
  faithfully, global legacy RNG included:
  ``D = np.random.rand(*A.shape) < (1-p); A = A*D; A = A/(1-p)``.
  It is a baseline only: library code never uses the global RNG.
* ``CS231n: (u < keep)/keep`` -- ``mask = (rng.random(x.shape) < keep) / keep;
  out = x * mask`` (a float64 mask).
* ``x * 2 (bandwidth floor)`` -- one scaled copy: no dropout can be faster
  than reading x and writing the output once.
* ``torch F.dropout`` -- only if PyTorch is importable (optional, never
  required), single thread.

NumPy element-wise operations are single-threaded; the thread variables
below (set before NumPy is imported) also keep BLAS and PyTorch to one
thread so numbers are comparable across machines.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from dropout_lib.layers import dropout_backward, dropout_forward  # noqa: E402

P_DROP = 0.5


# ---------------------------------------------------------------------------
# implementations (each returns a zero-argument callable for a given x)
# ---------------------------------------------------------------------------


def make_ours_forward(x: np.ndarray) -> Callable[[], object]:
    rng = np.random.default_rng(0)
    return lambda: dropout_forward(x, P_DROP, train=True, rng=rng)


def make_ours_backward(x: np.ndarray) -> Callable[[], object]:
    _, cache = dropout_forward(x, P_DROP, train=True, rng=np.random.default_rng(0))
    dout = x  # any array of the right shape and dtype
    return lambda: dropout_backward(dout, cache)


def seed_text_dropout(A: np.ndarray, p: float) -> np.ndarray:
    """The seed text's code, verbatim apart from the function wrapper (global RNG!)."""
    D = np.random.rand(*A.shape) < (1 - p)
    A = A * D
    A = A / (1 - p)
    return A


def make_seed(x: np.ndarray) -> Callable[[], object]:
    np.random.seed(0)  # baseline only; see module docstring
    return lambda: seed_text_dropout(x, P_DROP)


def make_cs231n(x: np.ndarray) -> Callable[[], object]:
    rng = np.random.default_rng(0)
    keep = 1.0 - P_DROP

    def run() -> np.ndarray:
        mask = (rng.random(x.shape) < keep) / keep
        return x * mask

    return run


def make_copy(x: np.ndarray) -> Callable[[], object]:
    return lambda: x * 2


def make_torch(x: np.ndarray) -> Callable[[], object] | None:
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    t = torch.from_numpy(x)
    return lambda: torch.nn.functional.dropout(t, P_DROP, training=True)


ROWS: list[tuple[str, Callable[[np.ndarray], Callable[[], object] | None]]] = [
    ("ours: dropout_forward", make_ours_forward),
    ("ours: dropout_backward", make_ours_backward),
    ("seed text (global RNG)", make_seed),
    ("CS231n: (u < keep)/keep", make_cs231n),
    ("x * 2 (bandwidth floor)", make_copy),
    ("torch F.dropout", make_torch),
]
SEED_ROW = "seed text (global RNG)"


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------


def loops_for(fn: Callable[[], object], min_time: float) -> int:
    """A loop count that makes one repeat of ``fn`` last at least ``min_time`` seconds."""
    fn()  # warm-up (allocations, page faults, lazy imports)
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or loops >= 1 << 20:
            return loops
        loops *= 2 if elapsed <= 0 else max(2, min(10, int(1.2 * min_time / elapsed) + 1))


def interleaved_seconds(
    fns: dict[str, Callable[[], object]], repeats: int, min_time: float
) -> dict[str, list[float]]:
    """Seconds per call of every function, ``repeats`` times, the functions taking
    turns within each repeat: a busy spell on a shared machine then slows all of
    them alike, and the per-repeat ratios stay meaningful."""
    loops = {name: loops_for(fn, min_time) for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(loops[name]):
                fn()
            times[name].append((time.perf_counter() - start) / loops[name])
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer repeats (seconds)")
    parser.add_argument("--p-drop", type=float, default=0.5, help="drop probability (default 0.5)")
    args = parser.parse_args(argv)
    global P_DROP
    P_DROP = args.p_drop

    if args.quick:
        sizes, repeats, min_time = [10**3, 10**5, 10**6], 3, 0.01
    else:
        sizes, repeats, min_time = [10**3, 10**5, 10**6, 16 * 10**6], 9, 0.04
    dtypes = [np.float32, np.float64]
    columns = [(n, np.dtype(dt)) for n in sizes for dt in dtypes]

    t0 = time.perf_counter()
    throughput: dict[str, dict[tuple[int, np.dtype], float | None]] = {}
    ratio: dict[str, dict[tuple[int, np.dtype], float]] = {}
    for n, dt in columns:
        x = np.random.default_rng(1).standard_normal(n).astype(dt)
        print(f"  timing n={n:>10,} {dt.name:<8} ...", file=sys.stderr, flush=True)
        fns = {name: make(x) for name, make in ROWS}
        for name in [k for k, fn in fns.items() if fn is None]:
            throughput.setdefault(name, {})[(n, dt)] = None
        times = interleaved_seconds(
            {k: fn for k, fn in fns.items() if fn is not None}, repeats, min_time
        )
        for name, ts in times.items():
            throughput.setdefault(name, {})[(n, dt)] = n / statistics.median(ts) / 1e6
            paired = [s_ / t for s_, t in zip(times[SEED_ROW], ts, strict=True)]
            ratio.setdefault(name, {})[(n, dt)] = statistics.median(paired)
        del x, fns

    def size_label(n: int) -> str:
        digits = str(n).rstrip("0")
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{mant}e{len(str(n)) - 1}"

    headers = [f"{size_label(n)} {dt.name}" for n, dt in columns]
    name_w = max(len(name) for name, _ in ROWS)
    cell_w = 17
    print()
    print(
        f"Dropout throughput, M elements/s (median of {repeats}); "
        f"(x) = median of the paired per-repeat speed-ups over the seed text. "
        f"p_drop = {P_DROP}, 1 thread."
    )
    print(
        f"NumPy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {platform.system()}"
    )
    print()
    print(f"{'implementation':<{name_w}} | " + " | ".join(f"{h:>{cell_w}}" for h in headers))
    print("-" * name_w + "-+-" + "-+-".join("-" * cell_w for _ in headers))
    for name, _ in ROWS:
        cells = []
        for col in columns:
            value = throughput[name][col]
            if value is None:
                cells.append(f"{'n/a':>{cell_w}}")
            else:
                cells.append(f"{value:>9.0f} ({ratio[name][col]:4.1f}x)".rjust(cell_w))
        print(f"{name:<{name_w}} | " + " | ".join(cells))
    if all(v is None for v in throughput["torch F.dropout"].values()):
        print("\n(torch F.dropout: PyTorch is not installed; that row is optional.)")
    print(f"\ntotal benchmark time: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
