"""MNIST one-class novelty detection: the autoencoder, PCA and IsolationForest.

The protocol: for each digit, train on the training images of that digit,
score all 10,000 test images, and measure the ROC AUC of that digit against
the other nine (higher scores should mean "this digit"). The figure is the AUC
averaged over the ten digits. Three scores:

- ``SparseAutoencoder.score_samples``, minus the reconstruction error. Its
  settings are chosen without the test images: each digit's training images
  are split 80/20; every candidate of ``--grid`` is trained on the 80% part
  and scored on a held-out set made of the 20% part (positives) and 2,000
  training images of the other digits (negatives); the candidate with the best
  held-out AUC averaged over the digits is kept and refitted on all the
  digit's training images, as PCA and IsolationForest are; those models
  score the test images (the models trained on the 80% parts are scored
  too).
- PCA's reconstruction error, fitted on all the digit's training images, for
  each number of components of ``--pca-components``: the best of them on the
  test images (an optimistic figure, chosen with the test labels), and the
  one chosen on the same held-out sets as the autoencoder.
- ``IsolationForest(random_state=0).score_samples``, fitted on all the
  digit's training images.

Run from the repository root (about fifteen minutes on two busy cores)::

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

# Candidates for the autoencoder: plain autoencoders (beta=0) of two sizes,
# with the weight decay that suits a few thousand images. --grid takes others,
# for instance the tutorial's sparse settings,
# '[{"n_components": 64, "rho": 0.1, "beta": 3.0, "alpha": 3e-3}]'.
GRID = [
    {"n_components": 32, "beta": 0.0, "alpha": 1e-4},
    {"n_components": 64, "beta": 0.0, "alpha": 1e-4},
]


def cpu_features():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    avx512 = [flag for flag in flags if flag.startswith("avx512")][:3]
    return ", ".join(avx512) or ("avx2" if "avx2" in flags else "no AVX2")


def pca_scores(pca, X):
    X_hat = pca.inverse_transform(pca.transform(X))
    X_hat -= X
    return -0.5 * np.einsum("ij,ij->i", X_hat, X_hat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=150)
    parser.add_argument(
        "--grid", type=json.loads, default=GRID, help="JSON list of parameter dicts"
    )
    parser.add_argument(
        "--pca-components",
        type=int,
        nargs="+",
        default=[5, 10, 20, 30, 50, 100, 200],
    )
    parser.add_argument("--digits", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()
    print(
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} "
        f"cores, {cpu_features()}; load average {os.getloadavg()[0]:.1f}"
    )
    start_all = time.perf_counter()
    X, y = load_mnist(return_X_y=True, dtype=np.float32)
    y = y.astype(int)
    X_train, y_train = X[:N_TRAIN], y[:N_TRAIN]
    X_test, y_test = X[N_TRAIN:], y[N_TRAIN:]
    rng = np.random.RandomState(0)

    held_out_auc = {i: [] for i in range(len(args.grid))}
    pca_held_out = {n: [] for n in args.pca_components}
    pca_test = {n: [] for n in args.pca_components}
    forest_test, models, own_images = [], {}, {}
    for digit in args.digits:
        start = time.perf_counter()
        own = rng.permutation(np.flatnonzero(y_train == digit))
        own_images[digit] = np.sort(own)
        n_fit = int(0.8 * len(own))
        fit_part, positives = X_train[own[:n_fit]], X_train[own[n_fit:]]
        negatives = X_train[rng.choice(np.flatnonzero(y_train != digit), 2000, False)]
        X_held = np.concatenate([positives, negatives])
        is_digit_held = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
        is_digit = y_test == digit

        for i, params in enumerate(args.grid):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                sae = SparseAutoencoder(
                    max_iter=args.max_iter, random_state=0, **params
                ).fit(fit_part)
            models[digit, i] = sae
            held_out_auc[i].append(
                roc_auc_score(is_digit_held, sae.score_samples(X_held))
            )
        for n in args.pca_components:
            pca = PCA(n, random_state=0).fit(fit_part)
            pca_held_out[n].append(
                roc_auc_score(is_digit_held, pca_scores(pca, X_held))
            )
            pca = PCA(n, random_state=0).fit(X_train[own])
            pca_test[n].append(roc_auc_score(is_digit, pca_scores(pca, X_test)))
        forest = IsolationForest(random_state=0).fit(X_train[own])
        forest_test.append(roc_auc_score(is_digit, forest.score_samples(X_test)))
        print(
            f"digit {digit}: held-out AUC "
            + ", ".join(f"{held_out_auc[i][-1]:.4f}" for i in range(len(args.grid)))
            + f"; PCA(30) test {pca_test.get(30, [np.nan])[-1]:.4f}, "
            f"IsolationForest test {forest_test[-1]:.4f} "
            f"({time.perf_counter() - start:.0f}s)",
            flush=True,
        )

    chosen = max(held_out_auc, key=lambda i: np.mean(held_out_auc[i]))
    part_test = [
        roc_auc_score(y_test == digit, models[digit, chosen].score_samples(X_test))
        for digit in args.digits
    ]
    sae_test = []
    for digit in args.digits:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sae = SparseAutoencoder(
                max_iter=args.max_iter, random_state=0, **args.grid[chosen]
            ).fit(X_train[own_images[digit]])
        sae_test.append(roc_auc_score(y_test == digit, sae.score_samples(X_test)))
    print("\nSparseAutoencoder candidates, mean held-out AUC (training images):")
    for i, params in enumerate(args.grid):
        mark = "  <- chosen" if i == chosen else ""
        print(f"  {params}: {np.mean(held_out_auc[i]):.4f}{mark}")
    pca_best = max(pca_test, key=lambda n: np.mean(pca_test[n]))
    pca_chosen = max(pca_held_out, key=lambda n: np.mean(pca_held_out[n]))
    print("PCA reconstruction error, mean test AUC by n_components:")
    print("  " + ", ".join(f"{n}: {np.mean(pca_test[n]):.4f}" for n in pca_test))
    print("\nPer digit test AUC (SparseAutoencoder, PCA best, IsolationForest):")
    for k, digit in enumerate(args.digits):
        print(
            f"  {digit}: {sae_test[k]:.4f}  {pca_test[pca_best][k]:.4f}  "
            f"{forest_test[k]:.4f}"
        )
    sae_mean = np.mean(sae_test)
    print(
        f"\nMean test AUC over {len(args.digits)} digits:\n"
        f"  SparseAutoencoder {args.grid[chosen]}, max_iter={args.max_iter}: "
        f"{sae_mean:.4f} (trained on 80% of each digit: {np.mean(part_test):.4f})\n"
        f"  PCA, best n_components on the test images ({pca_best}): "
        f"{np.mean(pca_test[pca_best]):.4f}\n"
        f"  PCA, n_components chosen on the held-out sets ({pca_chosen}): "
        f"{np.mean(pca_test[pca_chosen]):.4f}\n"
        f"  IsolationForest: {np.mean(forest_test):.4f}\n"
        f"  SparseAutoencoder - best PCA: {sae_mean - np.mean(pca_test[pca_best]):+.4f}"
    )
    print(
        f"Total {time.perf_counter() - start_all:.0f}s; load average "
        f"{os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
