"""The estimators under test and what the tests do with them.

- ``every_estimator``, ``fit``, ``fitted_attributes`` and ``assert_identical``:
  every public estimator and the bit-for-bit comparison of fitted models (the
  reproducibility and persistence tests).
- ``fit_quietly``: a fit whose ConvergenceWarning is expected (short fits that
  stop at ``max_iter`` on purpose).
- ``assert_finite_autoencoder`` and ``assert_predicts_the_most_probable_class``:
  what every fitted autoencoder and classifier must satisfy.
- ``recorded_masks``, ``autoencoder_loss`` and ``classifier_loss``: ``loss_``
  recomputed as the objective at the fitted attributes, with the masking noise
  that ``fit`` drew recorded rather than drawn again.
- ``assert_search_picked_the_best``: a grid search's scores recomputed
  candidate by candidate.
"""

import contextlib
import struct
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.utils import check_array
from threadpoolctl import threadpool_limits

from sklearn_sae import (
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
    ZCAWhitener,
)
from sklearn_sae._finetune import ClassifierObjective, NetworkLayout
from sklearn_sae._objective import ParameterLayout, SparseAutoencoderObjective


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


AUTOENCODER_ATTRIBUTES = (
    "components_",
    "decoder_components_",
    "intercept_hidden_",
    "intercept_visible_",
)


ZCA_ATTRIBUTES = (
    "mean_",
    "components_",
    "explained_variance_",
    "whitening_",
    "dewhitening_",
)


def assert_finite_autoencoder(sae):
    """Finite weights, ``loss_`` and ``loss_curve_``; ``loss_`` the lowest seen.

    One loss per iteration, at least one iteration.
    """
    for name in AUTOENCODER_ATTRIBUTES:
        assert np.all(np.isfinite(getattr(sae, name))), name
    assert np.isfinite(sae.loss_)
    assert np.all(np.isfinite(sae.loss_curve_))
    assert len(sae.loss_curve_) == sae.n_iter_ >= 1
    # The driver keeps the best point it saw.
    assert sae.loss_ <= min(sae.loss_curve_)


def assert_predicts_the_most_probable_class(clf, X):
    """``predict`` gives, for every sample, a class of highest probability.

    Compared by probability rather than by index, so that ties (saturated
    units) may go either way.
    """
    proba = clf.predict_proba(X)
    predicted = clf.predict(X)
    index = np.searchsorted(clf.classes_, predicted)
    assert np.all(index < len(clf.classes_)), "a prediction is not a class"
    np.testing.assert_array_equal(clf.classes_[index], predicted)
    most = proba.max(axis=1)
    np.testing.assert_array_equal(proba[np.arange(len(predicted)), index], most)


def fit_quietly(estimator, *args, method="fit"):
    """``estimator.fit(*args)`` (or another ``method``), ConvergenceWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(estimator, method)(*args)


@contextlib.contextmanager
def recorded_masks():
    """Record the masking noise of every SparseAutoencoder fit in the block.

    Yields a list to which each fit appends the mask it trains with (None
    without corruption): the objective can then be recomputed with the very
    mask of the fit, whatever the order in which ``fit`` draws its random
    numbers.
    """
    masks = []
    original = SparseAutoencoder._input_mask

    def record(self, X, random_state):
        mask = original(self, X, random_state)
        masks.append(None if mask is None else mask.copy())
        return mask

    SparseAutoencoder._input_mask = record
    try:
        yield masks
    finally:
        SparseAutoencoder._input_mask = original


def objective_options(sae):
    """The options of SparseAutoencoderObjective set by an autoencoder's parameters."""
    if isinstance(sae, KSparseAutoencoder):
        return {
            "n_components": sae.n_components,
            "alpha": sae.alpha,
            "decoder": "linear",
            "tied_weights": True,
            "k": sae.k,
        }
    return {
        "n_components": sae.n_components,
        "rho": sae.rho,
        "beta": sae.beta,
        "alpha": sae.alpha,
        "decoder": sae.decoder,
        "sparsity": sae.sparsity,
        "tied_weights": sae.tied_weights,
    }


def autoencoder_loss(sae, X, *, input_mask=None, **options):
    """The objective at the fitted attributes of ``sae`` on X: what ``loss_`` is.

    ``options`` (those of :func:`objective_options`) replace the ones read from
    the estimator's parameters; ``input_mask`` is the masking noise of the fit
    (see :func:`recorded_masks`). BLAS runs single-threaded, as in ``fit``.
    """
    X = check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32), order="C")
    options = {**objective_options(sae), **options}
    n_components = options.pop("n_components")
    tied = options["tied_weights"]
    theta = ParameterLayout(X.shape[1], n_components, tied).pack(
        sae.components_,
        None if tied else sae.decoder_components_,
        sae.intercept_hidden_,
        sae.intercept_visible_,
    )
    objective = SparseAutoencoderObjective(
        X, n_components, input_mask=input_mask, **options
    )
    with threadpool_limits(limits=1, user_api="blas"), objective:
        return objective(theta)[0]


def classifier_loss(clf, X, y, *, fine_tune=None, softmax_alpha=None):
    """The objective of the classifier's last stage at its fitted attributes.

    With fine-tuning, that of the whole network on X, only the softmax weights
    decayed; without, that of the softmax layer on the top features of the
    pre-trained layers. ``fine_tune`` and ``softmax_alpha`` default to the
    classifier's parameters.
    """
    fine_tune = clf.fine_tune if fine_tune is None else fine_tune
    if softmax_alpha is None:
        softmax_alpha = clf.softmax_alpha
    X = check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32), order="C")
    _, y_index = np.unique(y, return_inverse=True)
    if fine_tune:
        weights = [W.T for W in clf.coefs_]
        biases = clf.intercepts_
        sizes = (X.shape[1], *(W.shape[0] for W in weights))
        alpha = [0.0] * (len(weights) - 1) + [softmax_alpha]
        features = X
    else:
        weights = [clf.coefs_[-1].T]
        biases = clf.intercepts_[-1:]
        sizes = (weights[0].shape[1], len(clf.classes_))
        alpha = softmax_alpha
        features = X
        # As fit computes the features between stages, with one BLAS thread.
        with threadpool_limits(limits=1, user_api="blas"):
            for sae in clf.autoencoders_:
                features = sae.transform(features)
    theta = NetworkLayout(sizes).pack(weights, biases)
    objective = ClassifierObjective(features, y_index, sizes, alpha=alpha)
    with threadpool_limits(limits=1, user_api="blas"), objective:
        return objective(theta)[0]


def assert_search_picked_the_best(search, X, y):
    """The search's scores are those of its candidates, and it kept the best.

    Every candidate is cross-validated again on its own (``cross_val_score``,
    the search's folds): the same split scores, bit for bit, and the best
    parameters, score and refitted estimator are those of the highest mean.
    ConvergenceWarning is silenced in the fits.
    """
    results = search.cv_results_
    means = []
    for index, params in enumerate(results["params"]):
        estimator = clone(search.estimator).set_params(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores = cross_val_score(estimator, X, y, cv=search.cv)
        for split, score in enumerate(scores):
            assert results[f"split{split}_test_score"][index] == score, (params, split)
        means.append(scores.mean())
    best = int(np.argmax(means))
    assert search.best_index_ == best
    assert search.best_params_ == results["params"][best]
    assert search.best_score_ == pytest.approx(means[best], rel=1e-12)
    refit = search.best_estimator_.get_params()
    assert all(refit[name] == value for name, value in search.best_params_.items())
