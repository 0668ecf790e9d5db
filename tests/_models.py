"""The estimators under test and their bit-for-bit comparison: shared by the
reproducibility and persistence tests."""

import struct

import numpy as np
from sklearn.base import BaseEstimator

from sklearn_sae import (
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
    ZCAWhitener,
)


def every_estimator(n_components, max_iter):
    """Every public estimator, SparseAutoencoder with each of its options, and
    the fine-tuned deep autoencoder.

    The autoencoders have ``n_components`` hidden units (the stacks that many,
    then half as many) and run ``max_iter`` L-BFGS iterations (the stacks 10
    a stage).
    """
    h = n_components
    common = {"max_iter": max_iter, "random_state": 0}
    return {
        "sae": SparseAutoencoder(n_components=h, **common),
        "sae-linear": SparseAutoencoder(n_components=h, decoder="linear", **common),
        "sae-l1": SparseAutoencoder(n_components=h, sparsity="l1", **common),
        "sae-tied": SparseAutoencoder(n_components=h, tied_weights=True, **common),
        "sae-corruption": SparseAutoencoder(n_components=h, corruption=0.3, **common),
        "k-sparse": KSparseAutoencoder(n_components=h, k=h // 4, **common),
        "stacked": StackedSparseAutoencoder((h, h // 2), max_iter=10, random_state=0),
        "stacked-fine-tuned": StackedSparseAutoencoder(
            (h, h // 2), max_iter=10, fine_tune=True, random_state=0
        ),
        "classifier": StackedSparseAutoencoderClassifier(
            (h, h // 2), max_iter=10, random_state=0
        ),
        "zca": ZCAWhitener(epsilon=0.1),
    }


def fit(estimator, X, y):
    if isinstance(estimator, StackedSparseAutoencoderClassifier):
        return estimator.fit(X, y)
    return estimator.fit(X)


def fitted_attributes(estimator):
    """The fitted attributes (public names ending in ``_``) of an estimator."""
    return {
        name: value
        for name, value in vars(estimator).items()
        if name.endswith("_") and not name.startswith("_")
    }


def assert_identical(a, b, path="model"):
    """Assert that ``a`` and ``b`` are equal bit for bit, recursing into containers."""
    assert type(a) is type(b), f"{path}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, f"{path}: dtype {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"{path}: shape {a.shape} != {b.shape}"
        if a.dtype.kind == "O":
            assert a.tolist() == b.tolist(), path
        else:
            assert a.tobytes() == b.tobytes(), f"{path}: values differ"
    elif isinstance(a, float):
        assert struct.pack("d", a) == struct.pack("d", b), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys {a.keys()} != {b.keys()}"
        for key in a:
            assert_identical(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, BaseEstimator):
        assert repr(a.get_params()) == repr(b.get_params()), f"{path}: parameters"
        assert_identical(fitted_attributes(a), fitted_attributes(b), path)
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
