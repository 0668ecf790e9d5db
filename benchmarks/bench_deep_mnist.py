"""MNIST: a deep autoencoder's 30-number codes against PCA's (Hinton and
Salakhutdinov, Science 2006).

A ``StackedSparseAutoencoder`` of ``--sizes`` layers (784-...-30) is
pre-trained greedily on the training images and then, with
``fine_tune=True``, fine-tuned as one deep autoencoder. Each test image is
reconstructed from its 30-number code by

- ``PCA(n_components=30)`` fitted on the same training images;
- the stack before fine-tuning (each layer's decoder, from the top down);
- the fine-tuned deep autoencoder;

and the mean squared reconstruction error per test image (the squared error
summed over the 784 pixels, in [0, 1], averaged over the images, the paper's
measure) is printed with its ratio to PCA's. The Science paper reports 3.00
for its deep autoencoder and 13.87 for PCA, a ratio of 0.22.

The fit's wall time is compared with its matrix-product floor, measured in
the same run as ``bench_stacked_mnist.py`` does for the classifier: for every
L-BFGS stage, its number of objective evaluations times the time the matrix
products of one evaluation take on this machine.

Run from the repository root::

    python benchmarks/bench_deep_mnist.py

The defaults, 784-200-100-30 with 60 iterations a layer and 1350 of
fine-tuning, were chosen by scoring the last 10,000 training images, held
out, never the test images. ``--validation`` makes that split: it trains on
the first 50,000 training images (at most ``--n-train``) and scores the last
10,000 in place of the test images.

``--quick`` runs a small problem (5,000 training images, a few iterations) to
check that the script works.
"""

import argparse
import os
import re
import sys
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import StackedSparseAutoencoder
from sklearn_sae.datasets import N_TRAIN, load_mnist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_stacked_mnist import StageRecorder, _floor_table

SCIENCE = {"deep autoencoder": 3.00, "PCA": 13.87}
# Training images held out by --validation, the last of the training set.
N_VALIDATION = 10_000


def squared_error_per_image(X_hat, X):
    """Mean over the images of the squared error summed over the pixels."""
    residual = X_hat - X
    return float(np.einsum("ij,ij->", residual, residual)) / len(X)


def pretrained_reconstruction(model, X):
    """X through the pre-trained layers' encoders, then their decoders."""
    H = X
    for sae in model.autoencoders_:
        H = sae.transform(H)
    for sae in reversed(model.autoencoders_):
        H = sae.inverse_transform(H)
    return H


def cpu_features():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    # As `lscpu | grep -o 'avx512[a-z]*' | head -3` names them.
    avx512 = [m.group() for m in map(re.compile("avx512[a-z]*").match, flags) if m]
    return " ".join(avx512[:3]) or ("avx2" if "avx2" in flags else "no AVX2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="200,100,30",
        help="the stack's layer widths, comma-separated (default: 200,100,30)",
    )
    parser.add_argument(
        "--max-iter", type=int, default=60, help="L-BFGS iterations a layer"
    )
    parser.add_argument(
        "--fine-tune-max-iter", type=int, default=1350, help="of the fine-tuning"
    )
    parser.add_argument("--alpha", type=float, default=1e-5, help="weight decay")
    parser.add_argument("--beta", type=float, default=0.0, help="sparsity weight")
    parser.add_argument(
        "--code", choices=["sigmoid", "linear"], default="linear", help="code units"
    )
    parser.add_argument("--n-train", type=int, default=N_TRAIN)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--validation",
        action="store_true",
        help=f"score the last {N_VALIDATION} training images instead of the test "
        "images, training on the others",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.max_iter, args.fine_tune_max_iter = 5000, 10, 10

    X, _ = load_mnist(args.data_home, return_X_y=True, dtype=args.dtype)
    if args.validation:
        held_out = N_TRAIN - N_VALIDATION
        X_train, X_test = X[: min(args.n_train, held_out)], X[held_out:N_TRAIN]
    else:
        X_train, X_test = X[: args.n_train], X[N_TRAIN:]
    test_name = "held-out training" if args.validation else "test"
    sizes = tuple(int(n) for n in args.sizes.split(","))
    n_code = sizes[-1]
    print(
        f"Deep autoencoder 784-{'-'.join(map(str, sizes))} and back ({X.dtype}): "
        f"{len(X_train)} training and {len(X_test)} {test_name} images; "
        f"max_iter={args.max_iter} a layer, fine_tune_max_iter="
        f"{args.fine_tune_max_iter}, alpha={args.alpha}, beta={args.beta}, "
        f"code={args.code!r}"
    )
    print(f"  CPU: {cpu_features()}; load average {os.getloadavg()[0]:.1f}")

    start = time.perf_counter()
    pca = PCA(n_components=n_code, random_state=args.random_state).fit(X_train)
    pca_seconds = time.perf_counter() - start
    pca_error = squared_error_per_image(
        pca.inverse_transform(pca.transform(X_test)), X_test
    )

    model = StackedSparseAutoencoder(
        sizes,
        beta=args.beta,
        alpha=args.alpha,
        max_iter=args.max_iter,
        fine_tune=True,
        fine_tune_max_iter=args.fine_tune_max_iter,
        code=args.code,
        random_state=args.random_state,
    )
    with warnings.catch_warnings():
        # Stages that stop at their iteration limit.
        warnings.simplefilter("ignore", ConvergenceWarning)
        with StageRecorder() as recorder:
            start = time.perf_counter()
            model.fit(X_train)
            fit_seconds = time.perf_counter() - start
    pretrained_error = squared_error_per_image(
        pretrained_reconstruction(model, X_test), X_test
    )
    deep_error = squared_error_per_image(
        model.inverse_transform(model.transform(X_test)), X_test
    )

    _floor_table(recorder.stages, X_train.dtype, fit_seconds)
    print(f"  load average after the fit {os.getloadavg()[0]:.1f}")
    print(
        f"  squared error per {test_name} image, {n_code} numbers a code "
        f"(Science 2006: deep {SCIENCE['deep autoencoder']}, PCA {SCIENCE['PCA']})"
    )
    print(f"    PCA                       {pca_error:7.3f}   ({pca_seconds:.1f}s)")
    print(
        f"    stack, pre-trained        {pretrained_error:7.3f}   "
        f"ratio to PCA {pretrained_error / pca_error:.3f}"
    )
    print(
        f"    deep autoencoder          {deep_error:7.3f}   "
        f"ratio to PCA {deep_error / pca_error:.3f} "
        f"(to the pre-trained stack {deep_error / pretrained_error:.3f})"
    )
    print(f"  fit {fit_seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
