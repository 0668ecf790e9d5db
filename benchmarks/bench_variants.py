"""The tutorial's variants on MNIST: accuracy of Pipeline(variant, LogisticRegression).

Trains each variant on the first ``--n-train`` MNIST training images (10,000 by
default), then LogisticRegression on its features, and scores the 10,000 test
images; raw pixels go through the same LogisticRegression for comparison.
For each variant it also times one evaluation of the objective it minimises
(at its starting point, median of ``--repeats``) against the five matrix
products that bound an evaluation, measured in the same run: the switches are
meant to cost little beyond the default objective.

Run from the repository root::

    python benchmarks/bench_variants.py

MNIST comes from :func:`sklearn_sae.datasets.load_mnist`: the IDX files in
the folder named by ``SKLEARN_SAE_MNIST_DIR`` (or ``--data-home``), else a
download from OpenML, cached in scikit-learn's data home.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from sklearn_sae import KSparseAutoencoder, SparseAutoencoder
from sklearn_sae.datasets import N_TRAIN, load_mnist


def _variants(args):
    common = dict(max_iter=args.max_iter, random_state=0)
    tutorial = dict(n_components=200, rho=0.1, beta=3.0, alpha=3e-3)
    return {
        "kl": [SparseAutoencoder(**tutorial, **common)],
        "l1": [
            SparseAutoencoder(
                n_components=200, sparsity="l1", beta=args.l1_beta, alpha=3e-3, **common
            )
        ],
        "denoising": [
            SparseAutoencoder(**tutorial, corruption=args.corruption, **common)
        ],
        # k-sparse codes want centred input (see KSparseAutoencoder's notes).
        "k-sparse": [
            StandardScaler(with_std=False),
            KSparseAutoencoder(n_components=200, k=args.k, alpha=3e-3, **common),
        ],
    }


def _median_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _five_products(X, W1, W2T):
    """The products of one evaluation: encode, decode, back through the
    decoder, and the two weight gradients."""
    H = X @ W1.T
    X_hat = H @ W2T
    delta = X_hat @ W2T.T
    _ = H.T @ X_hat
    _ = delta.T @ X


def _evaluation_ratio(steps, X, repeats):
    """Time of one objective evaluation over the five products' time."""
    for step in steps[:-1]:
        X = clone(step).fit_transform(X)
    autoencoder = steps[-1]
    X = np.ascontiguousarray(X, dtype=X.dtype)
    random_state = check_random_state(0)
    layout_owner = clone(autoencoder).set_params(random_state=0)
    objective = layout_owner._make_objective(X, random_state)
    theta = objective.layout.initialize(np.random.RandomState(0))
    W1, W2T, _, _ = (p.astype(X.dtype) for p in objective.layout.unpack(theta))
    with objective, threadpool_limits(1, user_api="blas"):
        objective(theta)
        evaluation = _median_seconds(lambda: objective(theta), repeats)
    _five_products(X, W1, W2T)
    products = _median_seconds(lambda: _five_products(X, W1, W2T), repeats)
    return evaluation / products


def _fit_score(steps, X_train, y_train, X_test, y_test):
    model = make_pipeline(*steps, LogisticRegression(max_iter=5000))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return model.score(X_test, y_test), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="MNIST IDX directory")
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--max-iter", type=int, default=400)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--l1-beta", type=float, default=0.03)
    parser.add_argument("--corruption", type=float, default=0.3)
    parser.add_argument("--k", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--variants", nargs="+", default=["kl", "l1", "denoising", "k-sparse"]
    )
    args = parser.parse_args(argv)

    X, y = load_mnist(args.data_home, return_X_y=True, dtype=np.dtype(args.dtype))
    X_train, y_train = X[: args.n_train], y[: args.n_train]
    X_test, y_test = X[N_TRAIN:], y[N_TRAIN:]
    print(
        f"MNIST: {len(X_train)} training and {len(X_test)} test images, "
        f"{args.dtype}, max_iter={args.max_iter}"
    )
    print(f"{'features':<12} {'accuracy':>8} {'fit (s)':>8} {'eval/5 products':>16}")
    accuracy, seconds = _fit_score([], X_train, y_train, X_test, y_test)
    print(f"{'raw pixels':<12} {accuracy:>8.4f} {seconds:>8.1f} {'':>16}")
    variants = _variants(args)
    for name in args.variants:
        steps = variants[name]
        ratio = _evaluation_ratio(steps, X_train, args.repeats)
        accuracy, seconds = _fit_score(steps, X_train, y_train, X_test, y_test)
        print(f"{name:<12} {accuracy:>8.4f} {seconds:>8.1f} {ratio:>16.2f}")
        print(f"    {steps[-1]!r}")


if __name__ == "__main__":
    main()
