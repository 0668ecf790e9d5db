"""MNIST one-class novelty detection: the autoencoder, PCA and IsolationForest.

The protocol: for each digit, train on the training images of that digit,
score all 10,000 test images, and measure the ROC AUC of that digit against
the other nine (higher scores should mean "this digit"). The figure is the AUC
averaged over the ten digits. Three scores:

- ``SparseAutoencoder.score_samples``, minus the reconstruction error. Its
  settings are chosen for each digit without the test images: the digit's
  training images are split 80/20; every candidate of ``--grid`` is trained
  on the 80% part and scored on a held-out set made of the 20% part
  (positives) and 2,000 training images of the other digits (negatives); the
  candidate with the best held-out AUC for that digit is kept and refitted on
  all the digit's training images, as PCA and IsolationForest are, and that
  model scores the test images. This per-digit choice is the autoencoder's
  figure. For comparison the script also prints the test AUC of the models
  trained on the 80% parts, both for the per-digit choice and for the one
  candidate with the best held-out AUC averaged over the digits.
- PCA's reconstruction error, fitted on all the digit's training images, for
  each number of components of ``--pca-components``: the best of them on the
  test images (an optimistic figure, chosen with the test labels), the one
  chosen on the same held-out sets as the autoencoder, and the one chosen for
  each digit on its held-out set.
- ``IsolationForest(random_state=0).score_samples``, fitted on all the
  digit's training images.

Run from the repository root (about fifteen minutes on two cores)::

    python benchmarks/bench_novelty_mnist.py
"""

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from sklearn_sae import SparseAutoencoder
from sklearn_sae.datasets import N_TRAIN, load_mnist

# Candidates for the autoencoder. A reconstruction-error detector separates
# well when it reconstructs its own digit closely and the other digits badly,
# so the grid spans the model's capacity and one regulariser that pulls
# reconstructions towards the training digit:
# - n_components 16, 32, 64: PCA is best near 30 components; a sigmoid
#   decoder gets more out of each unit, so the range brackets that size;
# - max_iter 150 and 400 (the estimator's default): L-BFGS is far from
#   converged at 150, so the number of iterations sets how much detail the
#   model learns, as the number of components does for PCA;
# - corruption 0 and 0.25 (the masking noise of denoising autoencoders on
#   MNIST): a denoising autoencoder learns to restore images of its digit,
#   so it pulls images of other digits towards its own and errs more on them.
# All keep the sigmoid decoder, whose reconstructions lie in [0, 1] like the
# pixels, and untied weights; beta=0, because a sparsity penalty favours
# stroke-like features that reconstruct any digit; alpha=1e-4, light weight
# decay for a few thousand images. Any other list can be given by --grid.
GRID = [
    {
        "n_components": n_components,
        "max_iter": max_iter,
        "corruption": corruption,
        "beta": 0.0,
        "alpha": 1e-4,
    }
    for corruption in (0.0, 0.25)
    for max_iter in (150, 400)
    for n_components in (16, 32, 64)
]


def cpu_features():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    avx512 = [flag for flag in flags if flag.startswith("avx512")][:3]
    return ", ".join(avx512) or ("avx2" if "avx2" in flags else "no AVX2")


def load_averages():
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def pca_scores(pca, X):
    X_hat = pca.inverse_transform(pca.transform(X))
    X_hat -= X
    return -0.5 * np.einsum("ij,ij->i", X_hat, X_hat)


def fit_autoencoder(params, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SparseAutoencoder(**{"random_state": 0, **params}).fit(X)


def short(params):
    return ", ".join(f"{key}={value}" for key, value in params.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--grid",
        type=json.loads,
        default=GRID,
        help="JSON list of SparseAutoencoder parameter dicts",
    )
    parser.add_argument(
        "--pca-components",
        type=int,
        nargs="+",
        default=[5, 10, 20, 30, 50, 100, 200],
    )
    parser.add_argument("--digits", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()
    grid = args.grid
    print(
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; CPU: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{cpu_features()}; load averages {load_averages()}"
    )
    print("SparseAutoencoder candidates (held-out AUC columns below):")
    for i, params in enumerate(grid):
        print(f"  [{i}] {short(params)}")
    start_all = time.perf_counter()
    X, y = load_mnist(return_X_y=True, dtype=np.float32)
    y = y.astype(int)
    X_train, y_train = X[:N_TRAIN], y[:N_TRAIN]
    X_test, y_test = X[N_TRAIN:], y[N_TRAIN:]
    rng = np.random.RandomState(0)

    digits = args.digits
    held_out_auc = np.empty((len(digits), len(grid)))
    part_test_auc = np.empty((len(digits), len(grid)))
    pca_held_out = np.empty((len(digits), len(args.pca_components)))
    pca_test = np.empty((len(digits), len(args.pca_components)))
    sae_test, chosen, forest_test = [], [], []
    for k, digit in enumerate(digits):
        start = time.perf_counter()
        own = rng.permutation(np.flatnonzero(y_train == digit))
        n_fit = int(0.8 * len(own))
        fit_part, positives = X_train[own[:n_fit]], X_train[own[n_fit:]]
        negatives = X_train[rng.choice(np.flatnonzero(y_train != digit), 2000, False)]
        X_held = np.concatenate([positives, negatives])
        is_digit_held = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
        is_digit = y_test == digit
        X_own = X_train[np.sort(own)]

        for i, params in enumerate(grid):
            sae = fit_autoencoder(params, fit_part)
            held_out_auc[k, i] = roc_auc_score(is_digit_held, sae.score_samples(X_held))
            part_test_auc[k, i] = roc_auc_score(is_digit, sae.score_samples(X_test))
        chosen.append(int(np.argmax(held_out_auc[k])))
        sae = fit_autoencoder(grid[chosen[-1]], X_own)
        sae_test.append(roc_auc_score(is_digit, sae.score_samples(X_test)))
        for j, n in enumerate(args.pca_components):
            pca = PCA(n, random_state=0).fit(fit_part)
            pca_held_out[k, j] = roc_auc_score(is_digit_held, pca_scores(pca, X_held))
            pca = PCA(n, random_state=0).fit(X_own)
            pca_test[k, j] = roc_auc_score(is_digit, pca_scores(pca, X_test))
        forest = IsolationForest(random_state=0).fit(X_own)
        forest_test.append(roc_auc_score(is_digit, forest.score_samples(X_test)))
        print(
            f"digit {digit}: held-out AUC "
            + " ".join(f"{auc:.4f}" for auc in held_out_auc[k])
            + f"; chosen [{chosen[-1]}] ({time.perf_counter() - start:.0f}s)",
            flush=True,
        )

    n_digits = len(digits)
    rows = np.arange(n_digits)
    best_overall = int(np.argmax(held_out_auc.mean(axis=0)))
    pca_best = int(np.argmax(pca_test.mean(axis=0)))
    pca_overall = int(np.argmax(pca_held_out.mean(axis=0)))
    pca_per_digit = np.argmax(pca_held_out, axis=1)
    components = args.pca_components

    print("\nSparseAutoencoder candidates, mean held-out AUC (training images):")
    for i, params in enumerate(grid):
        mark = "  <- best on average" if i == best_overall else ""
        print(f"  [{i}] {short(params)}: {held_out_auc[:, i].mean():.4f}{mark}")
    print("PCA reconstruction error, mean test AUC by n_components:")
    mean_auc = pca_test.mean(axis=0)
    print("  " + ", ".join(f"{n}: {mean_auc[j]:.4f}" for j, n in enumerate(components)))
    print(
        "\nPer digit: SparseAutoencoder candidate chosen on the held-out set, "
        "its test AUC;\nPCA's best n_components on the test images, its test "
        "AUC; IsolationForest's test AUC"
    )
    for k, digit in enumerate(digits):
        print(
            f"  {digit}: [{chosen[k]:>2}] {sae_test[k]:.4f}   "
            f"PCA({components[pca_best]}) {pca_test[k, pca_best]:.4f}   "
            f"{forest_test[k]:.4f}"
        )
    sae_mean = np.mean(sae_test)
    pca_best_mean = pca_test[:, pca_best].mean()
    print(
        f"\nMean test AUC over {n_digits} digits:\n"
        f"  SparseAutoencoder, candidate chosen per digit on its held-out set, "
        f"refitted on all the digit's images: {sae_mean:.4f}\n"
        f"    the same choice, models trained on 80% of each digit: "
        f"{part_test_auc[rows, chosen].mean():.4f}\n"
        f"    one candidate for all digits ([{best_overall}], best mean held-out "
        f"AUC), trained on 80%: {part_test_auc[:, best_overall].mean():.4f}\n"
        f"  PCA, best n_components on the test images ({components[pca_best]}): "
        f"{pca_best_mean:.4f}\n"
        f"  PCA, n_components chosen on the held-out sets "
        f"({components[pca_overall]}): {pca_test[:, pca_overall].mean():.4f}\n"
        f"  PCA, n_components chosen per digit on its held-out set "
        f"({', '.join(str(components[j]) for j in pca_per_digit)}): "
        f"{pca_test[rows, pca_per_digit].mean():.4f}\n"
        f"  IsolationForest: {np.mean(forest_test):.4f}\n"
        f"  SparseAutoencoder - best PCA: {sae_mean - pca_best_mean:+.4f}"
    )
    print(
        f"Total {time.perf_counter() - start_all:.0f}s; load averages {load_averages()}"
    )


if __name__ == "__main__":
    main()
