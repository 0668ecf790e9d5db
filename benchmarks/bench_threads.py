"""How the work is shared between the cores: whole L-BFGS fits and BLAS calls.

``--parts fits`` compares, in one run and on the same data and starting point:

- ``package``: ``minimize_lbfgs`` (BLAS single-threaded) driving the objective
  with its rows split over threads, as ``SparseAutoencoder.fit`` does;
- ``baseline``: plain ``scipy.optimize.minimize`` driving the objective on one
  thread, with BLAS left multi-threaded (NumPy's and SciPy's OpenBLAS pools).

Each configuration runs ``--repeats`` times; medians are printed, with the
baseline / package ratio (above 1: the package is faster).

``--parts counts`` forces the number of threads (``--threads``, by default
1, 2, 4, 16 and 64, more than the cores of most machines that run this) on
one evaluation of the objective on MNIST (60,000 x 784, 200 hidden units),
BLAS single-threaded as in ``fit``, and prints for each the chunks and
threads used, the memory of the partial gradients and of the threads' work
arrays, the median time of ``--repeats`` evaluations, and whether the loss
and gradient are bitwise those of one thread. On a machine with fewer cores
than threads the extra threads take turns: the times show what the hand-over
of 64 chunks costs, not a speed-up.

``--parts blas`` times the calls that sum one block of rows into a chunk's
gradient, with single-threaded BLAS, as the objective's threads make them:
a number of blocks on one thread, then as many on each of two threads at
once, each thread with its own arrays (twice the work, whose time is
halved). The weight-gradient product ``total += left.T @ right`` and the
column sums ``total += block.sum(axis=0)`` are made two ways:

- ``numpy``: ``np.matmul`` into a work array, then an in-place addition (the
  objective's way);
- ``scipy``: SciPy's BLAS wrappers (``get_blas_funcs``), ``gemm`` and ``gemv``
  with ``beta=1``, which add into the total in place.

The speed-up of two threads over one is 2 when the calls run side by side,
and 1 or less when one thread waits for the other (SciPy's wrappers hold the
GIL while BLAS runs). Block shapes are those of the objective on MNIST
(``d=784, h=200``) and on the small problem (``d=64, h=25``) of
``bench_objective.py``.

Run from the repository root::

    python benchmarks/bench_threads.py

``--parts fits`` and ``counts`` use MNIST unless ``--no-mnist`` (``counts``
then uses uniform random data of its shape): the IDX files in the
folder named by ``SKLEARN_SAE_MNIST_DIR``, else a download from OpenML, cached
in scikit-learn's data home (see :func:`sklearn_sae.datasets.load_mnist`).
"""

import argparse
import itertools
import os
import queue
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.optimize
from scipy.linalg import get_blas_funcs
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae._objective import (
    ParameterLayout,
    SparseAutoencoderObjective,
)
from sklearn_sae._optimize import minimize_lbfgs, single_threaded_blas
from sklearn_sae._rows import block_rows


def _package(X, n_components, theta0, max_iter):
    with SparseAutoencoderObjective(
        X, n_components, rho=0.1, beta=3.0, alpha=3e-3
    ) as objective:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            minimize_lbfgs(objective, theta0, max_iter=max_iter, tol=0.0)
        return time.perf_counter() - start, objective.rows.n_threads


def _baseline(X, n_components, theta0, max_iter):
    objective = SparseAutoencoderObjective(
        X, n_components, rho=0.1, beta=3.0, alpha=3e-3, n_threads=1
    )
    start = time.perf_counter()
    scipy.optimize.minimize(
        objective,
        theta0,
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": max_iter, "gtol": 0.0, "ftol": 0.0},
    )
    return time.perf_counter() - start


def fits(args):
    cases = []
    digits = load_digits().data / 16.0
    cases.append(("digits 1797x64, h=200, float64", digits, 200, 100))
    if not args.no_mnist:
        from sklearn_sae.datasets import load_mnist

        X, _ = load_mnist(return_X_y=True, dtype=np.float32)
        cases.append(("MNIST 10000x784, h=200, float32", X[:10_000], 200, 20))

    print(f"{'problem':<34} {'iters':>5} {'baseline':>9} {'package':>9} {'ratio':>6}")
    for name, X, n_components, max_iter in cases:
        layout = ParameterLayout(X.shape[1], n_components)
        theta0 = layout.initialize(np.random.RandomState(0))
        base, pack = [], []
        for _ in range(args.repeats):
            base.append(_baseline(X, n_components, theta0, max_iter))
            seconds, n_threads = _package(X, n_components, theta0, max_iter)
            pack.append(seconds)
        b, p = np.median(base), np.median(pack)
        print(
            f"{name:<34} {max_iter:>5} {b:>8.2f}s {p:>8.2f}s {b / p:>6.2f}"
            f"   (package on {n_threads} threads)"
        )


def _workspace_bytes(rows):
    """Bytes of the threads' work arrays (workspaces) of a RowChunks."""
    workspaces = []
    while True:
        try:
            workspaces.append(rows._workspaces.get_nowait())
        except queue.Empty:
            break
    total = 0
    for work in workspaces:
        arrays = [*vars(work).values(), *vars(work.sums).values()]
        for array in arrays:
            if isinstance(array, dict):
                total += sum(a.nbytes for a in array.values())
            elif isinstance(array, np.ndarray):
                total += array.nbytes
        rows._workspaces.put(work)
    return total


def counts(args):
    if args.no_mnist:
        rng = np.random.RandomState(0)
        X_all = rng.uniform(size=(60_000, 784)).astype(np.float32)
        name = "uniform 60000x784"
    else:
        from sklearn_sae.datasets import load_mnist

        X_all, _ = load_mnist(return_X_y=True, dtype=np.float32)
        name = "MNIST 60000x784"
    print(
        f"One evaluation on {name}, 200 hidden units, BLAS single-threaded, "
        f"forced thread counts; median of {args.repeats}; {os.cpu_count()} cores"
    )
    print(
        f"{'dtype':<8} {'threads':>7} {'chunks':>6} {'partial gradients':>17} "
        f"{'work arrays':>11} {'seconds':>8} {'bitwise':>8}"
    )
    for dtype in (np.float32, np.float64):
        X = np.ascontiguousarray(X_all, dtype=dtype)
        theta = ParameterLayout(784, 200).initialize(np.random.RandomState(0))
        reference = None
        for n_threads in args.threads:
            with (
                SparseAutoencoderObjective(
                    X, 200, rho=0.1, beta=3.0, alpha=3e-3, n_threads=n_threads
                ) as objective,
                single_threaded_blas(),
            ):
                rows = objective.rows
                loss, grad = objective(theta)
                times = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    objective(theta)
                    times.append(time.perf_counter() - start)
                n_gradients = rows._gradients.qsize()
                gradient_bytes = n_gradients * objective.layout.size * X.itemsize
                work_bytes = _workspace_bytes(rows)
            if reference is None:
                reference = loss, grad
            same = loss == reference[0] and np.array_equal(grad, reference[1])
            print(
                f"{np.dtype(dtype).name:<8} {rows.n_threads:>7} {rows.n_chunks:>6} "
                f"{gradient_bytes / 1e6:>5.1f} MB = "
                f"{n_gradients:>3} x {gradient_bytes / n_gradients / 1e6:.2f} MB "
                f"{work_bytes / 1e6:>8.1f} MB {np.median(times):>7.3f}s "
                f"{'yes' if same else 'NO':>8}",
                flush=True,
            )


# Blocks per thread and per timing, and timings per median.
BLAS_BLOCKS = 32
BLAS_REPEATS = 7


class BlockSums:
    """One thread's operands and totals: ``BLAS_BLOCKS`` blocks of rows."""

    def __init__(self, rows, d, h, dtype, rng):
        self.left = rng.uniform(size=(rows, h)).astype(dtype)
        self.right = rng.uniform(size=(rows, d)).astype(dtype)
        self.total = np.zeros((h, d), dtype=dtype)
        self.work = np.empty((h, d), dtype=dtype)
        self.sums = np.zeros(d, dtype=dtype)
        self.sum_work = np.empty(d, dtype=dtype)
        self.ones = np.ones(rows, dtype=dtype)
        self.gemm, self.gemv = get_blas_funcs(("gemm", "gemv"), dtype=dtype)

    def numpy_product(self):
        for _ in range(BLAS_BLOCKS):
            np.matmul(self.left.T, self.right, out=self.work)
            self.total += self.work

    def scipy_product(self):
        # total.T += right.T @ left, all Fortran-ordered views: in place.
        for _ in range(BLAS_BLOCKS):
            self.gemm(
                1.0,
                self.right.T,
                self.left.T,
                1.0,
                self.total.T,
                trans_b=True,
                overwrite_c=True,
            )

    def numpy_sums(self):
        for _ in range(BLAS_BLOCKS):
            self.sums += np.matmul(self.ones, self.right, out=self.sum_work)

    def scipy_sums(self):
        for _ in range(BLAS_BLOCKS):
            self.gemv(
                1.0, self.right.T, self.ones, beta=1.0, y=self.sums, overwrite_y=True
            )


def _median_seconds(run):
    run()
    times = []
    for _ in range(BLAS_REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def blas(args):
    rng = np.random.RandomState(0)
    print(
        f"Blocks of rows summed into a total, single-threaded BLAS: "
        f"{BLAS_BLOCKS} blocks per thread, median of {BLAS_REPEATS}"
    )
    print(
        f"{'block':<22} {'dtype':<8} {'call':<15} "
        f"{'1 thread':>9} {'2 threads':>9} {'speed-up':>8}"
    )
    with single_threaded_blas(), ThreadPoolExecutor(2) as pool:
        for d, h in [(784, 200), (64, 25)]:
            for dtype in (np.float32, np.float64):
                rows = block_rows(60_000, d, np.dtype(dtype).itemsize)
                pair = [BlockSums(rows, d, h, dtype, rng) for _ in range(2)]
                for way, what in itertools.product(
                    ("numpy", "scipy"), ("product", "sums")
                ):
                    name = f"{way}_{what}"
                    one = getattr(pair[0], name)
                    # Each thread does as many blocks as the one thread does,
                    # so perfect sharing takes the same time for twice the work.
                    both = [getattr(sums, name) for sums in pair]

                    def two(both=both):
                        list(pool.map(lambda run: run(), both))

                    t1 = _median_seconds(one)
                    t2 = _median_seconds(two) / 2
                    shape = f"{rows}x{h} x {rows}x{d}"
                    print(
                        f"{shape:<22} {np.dtype(dtype).name:<8} {way + ' ' + what:<15} "
                        f"{t1 * 1e3:>7.2f}ms {t2 * 1e3:>7.2f}ms {t1 / t2:>8.2f}"
                    )


PARTS = {"blas": blas, "counts": counts, "fits": fits}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument(
        "--repeats", type=int, default=3, help="fits, counts: runs each"
    )
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1, 2, 4, 16, 64],
        help="counts: thread counts",
    )
    parser.add_argument("--no-mnist", action="store_true", help="fits: digits only")
    args = parser.parse_args(argv)
    for part in args.parts:
        PARTS[part](args)


if __name__ == "__main__":
    main()
