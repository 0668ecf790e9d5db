"""SparseAutoencoder features on MNIST, when the IDX files are at hand.

The files are looked up in ``SKLEARN_SAE_MNIST_DIR``, else in
``../shared/data/mnist`` beside the repository (where CI keeps them); the
tests are skipped when neither holds them. The full-size comparison is
``benchmarks/bench_mnist_pipeline.py``.
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sklearn_sae import SparseAutoencoder
from sklearn_sae.datasets import MNIST_DIR_ENV, N_TRAIN, load_mnist

MNIST_DIR = Path(
    os.environ.get(MNIST_DIR_ENV)
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
)


@pytest.fixture(scope="module")
def mnist():
    try:
        X, y = load_mnist(MNIST_DIR, return_X_y=True, dtype=np.float32)
    except FileNotFoundError as exc:
        pytest.skip(f"MNIST IDX files not found ({exc}); set {MNIST_DIR_ENV}")
    return X[:3000], y[:3000], X[N_TRAIN : N_TRAIN + 5000], y[N_TRAIN : N_TRAIN + 5000]


def test_sae_features_beat_raw_pixels(mnist):
    X_train, y_train, X_test, y_test = mnist
    raw = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    pipe = Pipeline(
        [
            ("sae", SparseAutoencoder(n_components=100, max_iter=50, random_state=0)),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X_train, y_train)
    sae = pipe["sae"]
    assert sae.components_.dtype == np.float32
    raw_accuracy = raw.score(X_test, y_test)
    sae_accuracy = pipe.score(X_test, y_test)
    # 3,000 training images: about 0.85 from raw pixels, 0.88 from the features.
    assert sae_accuracy > raw_accuracy + 0.015
    # The sparsity penalty holds the mean activation near rho.
    mean_activation = sae.transform(X_test).mean(axis=0)
    assert np.median(mean_activation) == pytest.approx(sae.rho, abs=0.05)
