"""Behaviour of SparseAutoencoder as a scikit-learn transformer."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _models import (
    AUTOENCODER_ATTRIBUTES,
    assert_search_picked_the_best,
    autoencoder_loss,
    fit_quietly,
)
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from sklearn_sae import SparseAutoencoder


@pytest.fixture(scope="module")
def small_X(digits):
    return digits[0][:300]


@pytest.fixture(scope="module")
def fitted(small_X):
    return fit_quietly(
        SparseAutoencoder(n_components=16, max_iter=60, random_state=0), small_X
    )


def test_fitted_attributes(fitted, small_X):
    n_features = small_X.shape[1]
    assert fitted.components_.shape == (16, n_features)
    assert fitted.decoder_components_.shape == (16, n_features)
    assert fitted.intercept_hidden_.shape == (16,)
    assert fitted.intercept_visible_.shape == (n_features,)
    assert fitted.n_features_in_ == n_features
    assert 1 <= fitted.n_iter_ <= 60
    assert len(fitted.loss_curve_) == fitted.n_iter_
    assert fitted.loss_curve_[-1] == pytest.approx(fitted.loss_)
    # L-BFGS only accepts steps that decrease the loss.
    assert np.all(np.diff(fitted.loss_curve_) <= 0)


def test_loss_is_the_objective_at_the_fitted_weights(fitted, small_X):
    assert autoencoder_loss(fitted, small_X) == pytest.approx(fitted.loss_, rel=1e-12)


def test_transform_and_inverse_transform_formulas(fitted, small_X):
    H = fitted.transform(small_X)
    np.testing.assert_allclose(
        H, expit(small_X @ fitted.components_.T + fitted.intercept_hidden_)
    )
    assert H.min() >= 0.0
    assert H.max() <= 1.0
    X_hat = fitted.inverse_transform(H)
    np.testing.assert_allclose(
        X_hat, expit(H @ fitted.decoder_components_ + fitted.intercept_visible_)
    )
    H_fit = fit_quietly(clone(fitted), small_X, method="fit_transform")
    np.testing.assert_allclose(H_fit, H)


def test_score_is_minus_the_reconstruction_term(fitted, small_X):
    X_hat = fitted.inverse_transform(fitted.transform(small_X))
    expected = -0.5 * np.sum((X_hat - small_X) ** 2) / small_X.shape[0]
    assert fitted.score(small_X) == pytest.approx(expected, rel=1e-12)
    untrained = fit_quietly(
        SparseAutoencoder(n_components=16, max_iter=1, random_state=0), small_X
    )
    assert fitted.score(small_X) > untrained.score(small_X)


def test_training_learns_sparse_codes(small_X):
    sae = fit_quietly(
        SparseAutoencoder(n_components=20, rho=0.05, max_iter=200, random_state=0),
        small_X,
    )
    mean_activation = sae.transform(small_X).mean(axis=0)
    # The KL penalty pulls every unit's mean activation towards rho.
    assert np.median(mean_activation) == pytest.approx(0.05, abs=0.03)


def test_pipeline_with_logistic_regression_on_digits(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    pipe = Pipeline(
        [
            (
                "sae",
                SparseAutoencoder(
                    n_components=50, alpha=1e-4, max_iter=100, random_state=0
                ),
            ),
            ("clf", LogisticRegression(C=100.0, max_iter=3000)),
        ]
    )
    fit_quietly(pipe, X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.95


def test_grid_search_over_rho_and_beta(digits):
    X, y = digits
    X, y = X[:400], y[:400]
    pipe = Pipeline(
        [
            ("sae", SparseAutoencoder(n_components=20, max_iter=20, random_state=0)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    grid = {"sae__rho": [0.05, 0.2], "sae__beta": [0.0, 3.0]}
    search = fit_quietly(GridSearchCV(pipe, grid, cv=2), X, y)
    assert len(search.cv_results_["params"]) == 4
    assert_search_picked_the_best(search, X, y)
    assert search.best_score_ > 0.5


def test_float32_is_preserved_and_close_to_float64(small_X):
    params = dict(n_components=8, max_iter=10, random_state=0)
    sae64 = fit_quietly(SparseAutoencoder(**params), small_X)
    sae32 = fit_quietly(SparseAutoencoder(**params), small_X.astype(np.float32))
    for name in AUTOENCODER_ATTRIBUTES:
        assert getattr(sae32, name).dtype == np.float32
        assert getattr(sae64, name).dtype == np.float64
    H32 = sae32.transform(small_X.astype(np.float32))
    assert H32.dtype == np.float32
    assert sae32.inverse_transform(H32).dtype == np.float32
    assert sae64.transform(small_X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(sae32.components_, sae64.components_, atol=1e-3)
    assert sae32.loss_ == pytest.approx(sae64.loss_, rel=1e-4)


def test_integer_input_is_trained_in_float64():
    X = np.random.RandomState(0).randint(0, 2, size=(30, 5))
    sae = fit_quietly(SparseAutoencoder(n_components=3, max_iter=5), X)
    assert sae.components_.dtype == np.float64
    assert sae.transform(X).dtype == np.float64


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_sparse_input_gives_the_dense_result(small_X, container):
    params = dict(n_components=8, max_iter=10, random_state=0)
    dense = fit_quietly(SparseAutoencoder(**params), small_X)
    sparse = fit_quietly(SparseAutoencoder(**params), container(small_X))
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-7)
    H = sparse.transform(container(small_X))
    assert isinstance(H, np.ndarray)
    np.testing.assert_allclose(H, dense.transform(small_X), rtol=1e-7)
    assert sparse.score(container(small_X)) == pytest.approx(dense.score(small_X))


def test_fortran_and_strided_input_give_the_c_ordered_result(fitted, small_X):
    expected = fitted.transform(small_X)
    fortran = np.asfortranarray(small_X)
    wide = np.zeros((small_X.shape[0], 2 * small_X.shape[1]))
    wide[:, ::2] = small_X
    strided = wide[:, ::2]
    assert not strided.flags.c_contiguous
    for X in (fortran, strided):
        H = fitted.transform(X)
        assert H.flags.c_contiguous
        np.testing.assert_allclose(H, expected, rtol=1e-12)
    params = fitted.get_params()
    refit = fit_quietly(clone(fitted).set_params(**params), fortran)
    np.testing.assert_allclose(refit.components_, fitted.components_, rtol=1e-9)


def test_warm_start_continues_from_the_previous_solution(small_X):
    sae = SparseAutoencoder(
        n_components=8, max_iter=10, warm_start=True, random_state=0
    )
    fit_quietly(sae, small_X)
    first_loss = sae.loss_
    first_components = sae.components_.copy()
    fit_quietly(sae, small_X)
    # The second run starts where the first stopped, so it only goes down.
    assert sae.loss_curve_[0] <= first_loss
    assert sae.loss_ < first_loss
    assert not np.array_equal(sae.components_, first_components)

    cold = fit_quietly(
        SparseAutoencoder(n_components=8, max_iter=10, random_state=0), small_X
    )
    assert cold.loss_ == pytest.approx(first_loss)


def test_warm_start_refuses_a_changed_shape(small_X):
    sae = fit_quietly(
        SparseAutoencoder(n_components=8, max_iter=3, warm_start=True), small_X
    )
    sae.set_params(n_components=9)
    with pytest.raises(ValueError, match="n_components"):
        sae.fit(small_X)
    sae.set_params(n_components=8)
    with pytest.raises(ValueError, match="features"):
        sae.fit(small_X[:, :10])


def test_convergence_warning_at_max_iter(small_X):
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        sae = SparseAutoencoder(n_components=8, max_iter=2, random_state=0).fit(small_X)
    assert sae.n_iter_ == 2


def test_tol_zero_runs_to_max_iter(small_X):
    with pytest.warns(ConvergenceWarning):
        sae = SparseAutoencoder(n_components=4, max_iter=25, tol=0.0).fit(small_X)
    assert sae.n_iter_ == 25


def test_large_tol_stops_early_without_warning(small_X):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        sae = SparseAutoencoder(n_components=4, max_iter=100, tol=10.0).fit(small_X)
    assert sae.n_iter_ == len(sae.loss_curve_) >= 1
    assert sae.n_iter_ < 100


def test_verbose_prints_one_line_per_iteration(small_X, capsys):
    sae = fit_quietly(
        SparseAutoencoder(n_components=4, max_iter=5, verbose=1, tol=0.0), small_X
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == sae.n_iter_ == 5
    assert re.match(
        r"Iteration 1, loss = \S+, gradient norm = \S+, elapsed = \S+s", lines[0]
    )


def test_warns_with_remedy_for_inputs_outside_unit_interval(small_X):
    with pytest.warns(UserWarning, match="MinMaxScaler"):
        fit_quietly(SparseAutoencoder(n_components=4, max_iter=2), small_X * 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fit_quietly(SparseAutoencoder(n_components=4, max_iter=2), small_X)


def test_feature_names_out(fitted):
    names = fitted.get_feature_names_out()
    assert list(names[:2]) == ["sparseautoencoder0", "sparseautoencoder1"]
    assert names.shape == (16,)


def test_set_output_pandas(fitted, small_X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(small_X, columns=[f"p{i}" for i in range(small_X.shape[1])])
    sae = fit_quietly(clone(fitted), frame).set_output(transform="pandas")
    H = sae.transform(frame)
    assert list(H.columns) == list(sae.get_feature_names_out())
    assert list(sae.feature_names_in_) == list(frame.columns)
