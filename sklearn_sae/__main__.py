"""Demo: sparse-autoencoder features against raw pixels for LogisticRegression.

Run ``python -m sklearn_sae``. By default it uses scikit-learn's 8x8 digits,
which need no download; ``--mnist`` uses MNIST through
:func:`sklearn_sae.datasets.load_mnist`. It prints both accuracies and saves
the learned filters as an image (``--filters``). ``python -m sklearn_sae
--help`` lists the options.
"""

import argparse
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ._sparse_autoencoder import SparseAutoencoder

# Sparsity and weight decay per dataset, unless given on the command line.
# MNIST takes the tutorial's settings, the estimator's defaults. On the small
# 8x8 digits, a weaker weight decay and a sparser target give better features;
# compare with `python -m sklearn_sae --rho 0.1 --beta 3 --alpha 3e-3`.
_SETTINGS = {
    "digits": {"rho": 0.05, "beta": 1.0, "alpha": 1e-4},
    "mnist": {"rho": 0.1, "beta": 3.0, "alpha": 3e-3},
}


def _load(args):
    """Train and test data, a description, and the shape of one image."""
    if args.mnist:
        from .datasets import N_TRAIN, load_mnist

        X, y = load_mnist(args.data_home, return_X_y=True, dtype="float32")
        train, test = slice(0, args.n_train), slice(N_TRAIN, None)
        return X[train], X[test], y[train], y[test], "MNIST (float32)", (28, 28)

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16 into [0, 1], as the sigmoid decoder needs
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    return X_train, X_test, y_train, y_test, "scikit-learn digits (8x8)", (8, 8)


def _save_filters(sae, image_shape, path):
    """Save the filters as the tutorial's display_network draws them."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("  (matplotlib is not installed: no filter image; see the plot extra)")
        return
    from .plotting import FilterDisplay

    figure = Figure(figsize=(6, 6), layout="constrained")
    ax = figure.subplots()
    FilterDisplay.from_estimator(sae, image_shape=image_shape, ax=ax)
    ax.set_title(f"{sae.n_components} filters learned by the sparse autoencoder")
    figure.savefig(path, dpi=100)
    print(f"  filters saved to {path}")


def _fit_score(name, model, X_train, X_test, y_train, y_test):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = model.score(X_test, y_test)
    print(f"  {name:<48} accuracy {accuracy:.4f}   ({seconds:.1f} s)")
    return accuracy


def _parser():
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
        "--data-home", default=None, help="folder of the MNIST IDX files"
    )
    parser.add_argument(
        "--n-train",
        type=int,
        default=10_000,
        help="MNIST training images to use (default 10000)",
    )
    parser.add_argument("--n-components", type=int, default=200)
    for name, meaning in [
        ("rho", "sparsity target"),
        ("beta", "sparsity weight"),
        ("alpha", "weight decay"),
    ]:
        parser.add_argument(
            f"--{name}",
            type=float,
            default=None,
            help=(
                f"{meaning} (default {_SETTINGS['digits'][name]} on digits, "
                f"{_SETTINGS['mnist'][name]} on MNIST)"
            ),
        )
    parser.add_argument("--max-iter", type=int, default=400)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--filters",
        default="sae_filters.png",
        metavar="PATH",
        help=(
            "image file for the learned filters (default sae_filters.png; an "
            "empty string saves none; needs matplotlib)"
        ),
    )
    return parser


def main(argv=None):
    """Run the demo; return the accuracy gain of the features, in points."""
    args = _parser().parse_args(argv)
    settings = _SETTINGS["mnist" if args.mnist else "digits"]
    params = {
        name: settings[name] if getattr(args, name) is None else getattr(args, name)
        for name in settings
    }

    X_train, X_test, y_train, y_test, name, image_shape = _load(args)
    print(
        f"{name}: {X_train.shape[0]} training and {X_test.shape[0]} test samples, "
        f"{X_train.shape[1]} features"
    )
    sae = SparseAutoencoder(
        n_components=args.n_components,
        max_iter=args.max_iter,
        random_state=args.random_state,
        **params,
    )
    pipe = Pipeline([("sae", sae), ("clf", LogisticRegression(max_iter=5000))])
    raw_accuracy = _fit_score(
        "raw pixels -> LogisticRegression",
        LogisticRegression(max_iter=5000),
        X_train,
        X_test,
        y_train,
        y_test,
    )
    sae_accuracy = _fit_score(
        f"SparseAutoencoder({args.n_components}) -> LogisticRegression",
        pipe,
        X_train,
        X_test,
        y_train,
        y_test,
    )
    gain = 100 * (sae_accuracy - raw_accuracy)
    settings_text = ", ".join(f"{k}={v:g}" for k, v in params.items())
    print(
        f"  sparse-autoencoder features: {gain:+.2f} points ({settings_text}; "
        f"{pipe['sae'].n_iter_} L-BFGS iterations, final loss "
        f"{pipe['sae'].loss_:.4f})"
    )
    if args.filters:
        _save_filters(pipe["sae"], image_shape, args.filters)
    return gain


if __name__ == "__main__":
    main()
