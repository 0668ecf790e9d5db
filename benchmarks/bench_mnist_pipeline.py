"""MNIST: Pipeline(SparseAutoencoder, LogisticRegression) against raw pixels.

Trains both pipelines on the first ``--n-train`` MNIST training images and
scores them on the 10,000 test images, printing accuracy, wall time and the
difference in accuracy points. MNIST is read by :func:`sklearn_sae.datasets.
load_mnist` (set ``SKLEARN_SAE_MNIST_DIR`` or pass ``--data-home``).

Run from the repository root::

    SKLEARN_SAE_MNIST_DIR=../shared/data/mnist python benchmarks/bench_mnist_pipeline.py
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sklearn_sae import SparseAutoencoder
from sklearn_sae.datasets import N_TRAIN, load_mnist


def _timed_fit_score(model, X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return model.score(X_test, y_test), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="folder of the IDX files")
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-components", type=int, default=200)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_mnist(args.data_home, return_X_y=True, dtype=args.dtype)
    X_train, y_train = X[: args.n_train], y[: args.n_train]
    X_test, y_test = X[N_TRAIN:], y[N_TRAIN:]
    print(
        f"MNIST: {X_train.shape[0]} training images, {X_test.shape[0]} test "
        f"images, {args.dtype}"
    )

    raw = LogisticRegression(max_iter=1000)
    sae = SparseAutoencoder(
        n_components=args.n_components,
        max_iter=args.max_iter,
        random_state=args.random_state,
    )
    pipe = Pipeline([("sae", sae), ("clf", LogisticRegression(max_iter=1000))])

    raw_acc, raw_s = _timed_fit_score(raw, X_train, y_train, X_test, y_test)
    print(f"raw pixels + LogisticRegression     accuracy {raw_acc:.4f}  ({raw_s:.1f}s)")
    sae_acc, sae_s = _timed_fit_score(pipe, X_train, y_train, X_test, y_test)
    print(
        f"SparseAutoencoder({args.n_components}, max_iter={args.max_iter}) "
        f"+ LogisticRegression  accuracy {sae_acc:.4f}  ({sae_s:.1f}s, "
        f"{pipe['sae'].n_iter_} L-BFGS iterations, loss {pipe['sae'].loss_:.4f})"
    )
    print(f"difference: {100 * (sae_acc - raw_acc):+.2f} points of accuracy")
    return sae_acc - raw_acc


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
