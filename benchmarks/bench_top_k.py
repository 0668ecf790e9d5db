"""KSparseAutoencoder's top-k selection against a partition of the values.

``keep_top_k`` zeroes all but the ``k`` largest entries of each row of the
hidden layer's linear units: in every evaluation of a ``KSparseAutoencoder``
fit and in every transform, and, through ``ConvolutionalFeatures``, at every
window position of every image. Its floor is ``np.partition`` of the same
rows (the k-th largest value of each row, no more), timed in the same run on
the same blocks of rows; for comparison, the selection by
``np.argpartition`` and ``np.put_along_axis`` is timed too. float32 rows of
normal values, as many rows as ``--mib`` MiB hold, for each number of units;
best of ``--repeats``, one thread. Run from the repository root::

    python benchmarks/bench_top_k.py
"""

import argparse
import os
import time

import numpy as np
from _cpu import cpu_features
from threadpoolctl import threadpool_limits

from sklearn_sae import _rows
from sklearn_sae._objective import keep_top_k


def blocks(Z):
    """The blocks of rows ``keep_top_k`` works through."""
    step = max(1, _rows._BLOCK_BYTES // (8 * Z.shape[1]))
    return [Z[start : start + step] for start in range(0, Z.shape[0], step)]


def partition_only(Z, k):
    for block in blocks(Z):
        np.partition(block, Z.shape[1] - k, axis=1)


def by_argpartition(Z, k):
    n_drop = Z.shape[1] - k
    for block in blocks(Z):
        smallest = np.argpartition(block, n_drop - 1, axis=1)[:, :n_drop]
        np.put_along_axis(block, smallest, 0, axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="MiB of rows")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"CPU: {cpu_features()}, {os.cpu_count()} cores (one used), load average "
        f"{os.getloadavg()[0]:.2f}; float32, best of {args.repeats}"
    )
    cases = [(200, 25), (200, 20), (800, 20), (1600, 20)]
    rng = np.random.RandomState(0)
    ways = {
        "partition (floor)": partition_only,
        "keep_top_k": keep_top_k,
        "argpartition": by_argpartition,
    }
    with threadpool_limits(limits=1):
        for n_units, k in cases:
            n_rows = args.mib * 2**20 // (4 * n_units)
            Z0 = rng.standard_normal((n_rows, n_units)).astype(np.float32)
            Z = np.empty_like(Z0)
            times = {name: [] for name in ways}
            for _ in range(args.repeats):
                for name, way in ways.items():
                    np.copyto(Z, Z0)
                    start = time.perf_counter()
                    way(Z, k)
                    times[name].append(time.perf_counter() - start)
            best = {name: min(seconds) for name, seconds in times.items()}
            floor = best["partition (floor)"]
            print(
                f"{n_units:>5} units, k={k:<3} {n_rows:>7} rows: "
                + "; ".join(
                    f"{name} {1e9 * seconds / Z.size:.2f} ns/entry"
                    + ("" if seconds == floor else f" ({seconds / floor:.2f}x)")
                    for name, seconds in best.items()
                )
            )


if __name__ == "__main__":
    main()
