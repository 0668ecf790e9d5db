"""Data shared by the tests: scikit-learn's digits and MNIST, in [0, 1]."""

import functools

import numpy as np
from sklearn.datasets import load_digits

from sklearn_sae.datasets import N_TRAIN, load_mnist


@functools.cache
def _digits(n_copies):
    X, y = load_digits(return_X_y=True)
    images = (X / 16.0).reshape(-1, 8, 8)
    copies = [images, images[:, :, ::-1], images[:, ::-1], images[:, ::-1, ::-1]]
    X = np.vstack([images.reshape(-1, 64) for images in copies[:n_copies]])
    return X, np.tile(y, n_copies)


def digits(n_copies=1):
    """``load_digits`` / 16: 1797 images of 8 x 8 pixels in [0, 1], 10 classes.

    With ``n_copies`` from 2 to 4, also their mirror images (flipped
    left-right, upside down, then both): 7188 rows for 4, enough that the
    objective splits them into several chunks. Fresh arrays on every call, so
    that a test may modify them.
    """
    if not 1 <= n_copies <= 4:
        raise ValueError(f"n_copies must be 1 to 4, got {n_copies}")
    X, y = _digits(n_copies)
    return X.copy(), y.copy()


def mnist_split(directory, n_train, n_test):
    """The first ``n_train`` training and ``n_test`` test images of MNIST.

    ``(X_train, y_train, X_test, y_test)``, float32 in [0, 1], read from the
    IDX files in ``directory`` (the ``mnist_dir`` fixture).
    """
    X, y = load_mnist(directory, return_X_y=True, dtype=np.float32)
    test = slice(N_TRAIN, N_TRAIN + n_test)
    return X[:n_train], y[:n_train], X[test], y[test]
