"""Reproducibility: a fixed random_state gives bitwise-identical models.

Identical means equal bit for bit, not within a tolerance: every fitted array
(same dtype, shape and bytes), ``loss_`` and ``loss_curve_``; another seed
gives another model. It must hold
when the same instance is refitted, for a clone, whatever the number of BLAS
threads (a worker process of ``GridSearchCV(n_jobs=2)`` runs with fewer than
its parent), and so for a search run sequentially or in parallel. Fitted
models must also be safe to use from many threads at once.
"""

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from _data import digits
from _models import assert_identical, every_estimator, fit, fitted_attributes
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from sklearn_sae import (
    SparseAutoencoder,
    StackedSparseAutoencoderClassifier,
)
from sklearn_sae._objective import SparseAutoencoderObjective

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Every public estimator, SparseAutoencoder with each of its options, and the
# fine-tuned deep autoencoder.
ESTIMATORS = every_estimator(n_components=32, max_iter=15)


@pytest.fixture(scope="module")
def data():
    """The digits and their mirror images: 7188 rows, enough that the
    objective splits them into several chunks (checked in
    test_data_is_split_into_chunks)."""
    return digits(n_copies=4)


def snapshot(estimator):
    """A deep copy of the fitted attributes, immune to a later refit."""
    return copy.deepcopy(fitted_attributes(estimator))


def test_data_is_split_into_chunks(data):
    # The tests below would pass trivially if the objective never split its
    # rows: check that the training sets (whole, and a 2/3 CV fold) are large
    # enough to be split.
    X, _ = data
    for rows in (X, X[: 2 * len(X) // 3]):
        with SparseAutoencoderObjective(rows, 32) as objective:
            assert objective.rows.n_chunks > 1


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fixed_random_state_gives_identical_models(name, data):
    X, y = data
    estimator = clone(ESTIMATORS[name])
    first = snapshot(fit(estimator, X, y))
    if "loss_curve_" in first:
        assert len(first["loss_curve_"]) >= 2  # the runs did iterate

    # Refitting the same instance, and fitting a clone.
    fit(estimator, X, y)
    assert_identical(fitted_attributes(estimator), first)
    other = fit(clone(ESTIMATORS[name]), X, y)
    assert_identical(fitted_attributes(other), first)

    # Another seed, another model: the seed is used.
    if "random_state" in estimator.get_params():
        reseeded = fit(clone(ESTIMATORS[name]).set_params(random_state=1), X, y)
        assert not np.allclose(first_weights(reseeded), first_weights(estimator))


def first_weights(model):
    """The weights of the first layer of a fitted model."""
    if hasattr(model, "coefs_"):
        return model.coefs_[0]
    if hasattr(model, "autoencoders_"):
        return model.autoencoders_[0].components_
    return model.components_


# The stacked models train each layer on the features of the layer below,
# computed by ``transform`` between the L-BFGS runs: with single-threaded BLAS,
# as the fits run, since OpenBLAS's gemm rounds differently with 1, 2 or 4
# threads.
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_models_do_not_depend_on_the_number_of_blas_threads(name, data):
    # Worker processes of joblib (loky) and dask run BLAS with fewer threads
    # than their parent; the model must not change with that number.
    X, y = data
    models = []
    for n_threads in (1, 2, 4):
        with threadpool_limits(limits=n_threads, user_api="blas"):
            models.append(fit(clone(ESTIMATORS[name]), X, y))
    for model in models[1:]:
        assert_identical(fitted_attributes(model), fitted_attributes(models[0]))


def test_grid_search_scores_do_not_depend_on_n_jobs(data):
    # n_jobs=2 runs the fits in loky worker processes, whose BLAS pools are
    # limited to cpu_count // n_jobs threads, fewer than the parent's: the
    # scores must be exactly those of the sequential search all the same.
    # saga rather than lbfgs: its epochs run without BLAS, whereas lbfgs's
    # small BLAS products with two threads on two busy cores took seconds per
    # fit in the parent process.
    X, y = data
    pipeline = Pipeline(
        [
            ("sae", SparseAutoencoder(n_components=32, max_iter=10, random_state=0)),
            ("clf", LogisticRegression(solver="saga", max_iter=30, random_state=0)),
        ]
    )
    grid = {"sae__rho": [0.05, 0.2], "sae__beta": [0.5, 3.0]}
    cv = KFold(3, shuffle=True, random_state=0)
    searches = {
        n_jobs: GridSearchCV(pipeline, grid, cv=cv, n_jobs=n_jobs).fit(X, y)
        for n_jobs in (1, 2)
    }
    sequential, parallel = searches[1].cv_results_, searches[2].cv_results_
    keys = ["mean_test_score"] + [f"split{i}_test_score" for i in range(3)]
    for key in keys:
        assert parallel[key].tolist() == sequential[key].tolist(), key
    assert searches[2].best_params_ == searches[1].best_params_
    # The scores do tell the candidates apart (the search is not degenerate).
    assert len(set(sequential["mean_test_score"].tolist())) > 1


def _public_outputs(model, X):
    """Every prediction-like output of a fitted model on X, as a list of arrays."""
    if isinstance(model, StackedSparseAutoencoderClassifier):
        return [
            model.predict(X),
            model.predict_proba(X),
            model.predict_log_proba(X),
            model.decision_function(X),
        ]
    H = model.transform(X)
    return [H, model.inverse_transform(H)]


@pytest.mark.parametrize(
    "name", ["sae", "sae-corruption", "stacked", "stacked-fine-tuned", "classifier"]
)
def test_concurrent_calls_match_sequential_ones(name, data):
    X, y = data
    model = fit(clone(ESTIMATORS[name]), X, y)
    # Different rows per call, so that a shared buffer would mix them up.
    slices = [slice(i * 300, i * 300 + 900) for i in range(8)]
    expected = [_public_outputs(model, X[s]) for s in slices]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda s: _public_outputs(model, X[s]), slices * 4))
    for i, outputs in enumerate(results):
        assert_identical(outputs, expected[i % len(slices)], f"call {i}")
