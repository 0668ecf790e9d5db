"""Comparing fitted models bit for bit: shared by the reproducibility and
persistence tests."""

import struct

import numpy as np
from sklearn.base import BaseEstimator

from sklearn_sae import StackedSparseAutoencoderClassifier


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
