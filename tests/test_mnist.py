"""SparseAutoencoder features on MNIST, when the IDX files are at hand.

The files are looked up as the ``mnist_dir`` fixture of ``conftest.py`` says;
the tests are skipped when they are not found. The full-size comparison is
``benchmarks/bench_mnist_pipeline.py``.
"""

import numpy as np
import pytest
from _data import mnist_split
from _models import fit_quietly
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sklearn_sae import SparseAutoencoder


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return mnist_split(mnist_dir, n_train=3000, n_test=5000)


def test_sae_features_beat_raw_pixels(mnist):
    X_train, y_train, X_test, y_test = mnist
    raw = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    pipe = Pipeline(
        [
            ("sae", SparseAutoencoder(n_components=100, max_iter=50, random_state=0)),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    fit_quietly(pipe, X_train, y_train)
    sae = pipe["sae"]
    assert sae.components_.dtype == np.float32
    raw_accuracy = raw.score(X_test, y_test)
    sae_accuracy = pipe.score(X_test, y_test)
    # 3,000 training images: about 0.85 from raw pixels, 0.88 from the features.
    assert sae_accuracy > raw_accuracy + 0.015
    # The sparsity penalty holds the mean activation near rho.
    mean_activation = sae.transform(X_test).mean(axis=0)
    assert np.median(mean_activation) == pytest.approx(sae.rho, abs=0.05)
