"""Input checks shared by the estimators."""

import sys

import numpy as np
from sklearn.utils import check_array


def is_dask_array(X):
    """Whether X is a ``dask.array.Array``, without importing dask.

    A dask array exists only if ``dask.array`` was imported already.
    """
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def check_not_none(X, estimator, shape="(n_samples, n_features)"):
    """Raise a ValueError naming the problem when X is None.

    scikit-learn's own checks turn None into a 0-d array and report "got
    scalar array", which hides the actual mistake.
    """
    if X is None:
        raise ValueError(
            f"Expected 2D array, got None instead: {type(estimator).__name__} "
            f"needs X, an array-like of shape {shape}, but X is None."
        )


def check_inverse_transform_input(estimator, X, n_features, description, copy=False):
    """Validate the input of ``inverse_transform``.

    X must be a finite 2-D float array (float32 is kept, anything else is
    converted to float64) with ``n_features`` columns.

    Parameters
    ----------
    estimator : estimator instance
        The fitted estimator, named in the error messages.

    X : array-like of shape (n_samples, n_features)
        The input of ``inverse_transform``.

    n_features : int
        The number of columns X must have.

    description : str
        What ``n_features`` is, for the error message (for instance
        ``"n_components"``).

    copy : bool, default=False
        Whether to copy X even when no conversion is needed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The validated input, of dtype float32 or float64.
    """
    check_not_none(X, estimator, shape=f"(n_samples, {n_features})")
    X = check_array(
        X,
        dtype=(np.float64, np.float32),
        copy=copy,
        input_name="X",
        estimator=estimator,
    )
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__}."
            f"inverse_transform is expecting {n_features} features ({description}) "
            "as input."
        )
    return X
