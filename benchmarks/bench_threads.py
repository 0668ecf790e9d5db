"""How the work is shared between the two cores: whole L-BFGS fits, timed.

Compares, in one run and on the same data and starting point:

- ``package``: ``minimize_lbfgs`` (BLAS single-threaded) driving the objective
  with its rows split over threads, as ``SparseAutoencoder.fit`` does;
- ``baseline``: plain ``scipy.optimize.minimize`` driving the objective on one
  thread, with BLAS left multi-threaded (NumPy's and SciPy's OpenBLAS pools).

Each configuration runs ``--repeats`` times; medians are printed, with the
baseline / package ratio (above 1: the package is faster). Run from the
repository root::

    SKLEARN_SAE_MNIST_DIR=../shared/data/mnist python benchmarks/bench_threads.py
"""

import argparse
import time
import warnings

import numpy as np
import scipy.optimize
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae._objective import ParameterLayout, SparseAutoencoderObjective
from sklearn_sae._optimize import minimize_lbfgs


def _package(X, n_components, theta0, max_iter):
    with SparseAutoencoderObjective(
        X, n_components, rho=0.1, beta=3.0, alpha=3e-3
    ) as objective:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            minimize_lbfgs(objective, theta0, max_iter=max_iter, tol=0.0)
        return time.perf_counter() - start, objective.n_threads


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-mnist", action="store_true", help="digits only")
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    main()
