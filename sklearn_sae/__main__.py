"""Demo: sparse-autoencoder features against raw pixels for LogisticRegression.

Run ``python -m sklearn_sae``. By default it uses scikit-learn's 8x8 digits,
which need no download; ``--mnist`` uses MNIST through
:func:`sklearn_sae.datasets.load_mnist`.
"""

import argparse
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ._sparse_autoencoder import SparseAutoencoder


def _load(args):
    if args.mnist:
        from .datasets import N_TRAIN, load_mnist

        X, y = load_mnist(return_X_y=True, dtype="float32")
        train = slice(0, args.n_train or 10_000)
        test = slice(N_TRAIN, None)
        return X[train], X[test], y[train], y[test], "MNIST"

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16 into [0, 1], as the sigmoid decoder needs
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    return X_train, X_test, y_train, y_test, "scikit-learn digits (8x8)"


def _fit_score(name, model, X_train, X_test, y_train, y_test):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = model.score(X_test, y_test)
    print(f"  {name:<44} accuracy {accuracy:.4f}   ({seconds:.1f} s)")
    return accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_sae",
        description=(
            "Train LogisticRegression on raw pixels and on the hidden "
            "activations of a SparseAutoencoder, and print both test accuracies."
        ),
    )
    parser.add_argument(
        "--mnist",
        action="store_true",
        help="use MNIST (from SKLEARN_SAE_MNIST_DIR, else OpenML) instead of digits",
    )
    parser.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="MNIST training images to use (default 10000)",
    )
    parser.add_argument("--n-components", type=int, default=200)
    parser.add_argument("--rho", type=float, default=0.05)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument(
        "--alpha",
        type=float,
        default=1e-4,
        help="weight decay (default 1e-4; the tutorial's 3e-3 suits MNIST)",
    )
    parser.add_argument("--max-iter", type=int, default=400)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    X_train, X_test, y_train, y_test, name = _load(args)
    print(
        f"{name}: {X_train.shape[0]} training and {X_test.shape[0]} test samples, "
        f"{X_train.shape[1]} features"
    )
    raw = LogisticRegression(max_iter=5000)
    sae = SparseAutoencoder(
        n_components=args.n_components,
        rho=args.rho,
        beta=args.beta,
        alpha=args.alpha,
        max_iter=args.max_iter,
        random_state=args.random_state,
    )
    pipe = Pipeline([("sae", sae), ("clf", LogisticRegression(max_iter=5000))])
    raw_accuracy = _fit_score(
        "raw pixels -> LogisticRegression", raw, X_train, X_test, y_train, y_test
    )
    sae_accuracy = _fit_score(
        f"SparseAutoencoder({args.n_components}) -> LogisticRegression",
        pipe,
        X_train,
        X_test,
        y_train,
        y_test,
    )
    print(
        f"  sparse-autoencoder features: {100 * (sae_accuracy - raw_accuracy):+.2f} "
        f"points ({pipe['sae'].n_iter_} L-BFGS iterations, final loss "
        f"{pipe['sae'].loss_:.4f})"
    )


if __name__ == "__main__":
    main()
