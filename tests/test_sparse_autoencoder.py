"""Behaviour of SparseAutoencoder as a scikit-learn transformer."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_sae import SparseAutoencoder
from sklearn_sae._objective import SparseAutoencoderObjective


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def small_X(digits):
    return digits[0][:300]


@pytest.fixture(scope="module")
def fitted(small_X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SparseAutoencoder(n_components=16, max_iter=60, random_state=0).fit(
            small_X
        )


def _fit_quietly(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


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
    objective = SparseAutoencoderObjective(
        small_X, 16, rho=fitted.rho, beta=fitted.beta, alpha=fitted.alpha
    )
    theta = objective.layout.pack(
        fitted.components_,
        fitted.decoder_components_,
        fitted.intercept_hidden_,
        fitted.intercept_visible_,
    )
    assert objective(theta)[0] == pytest.approx(fitted.loss_, rel=1e-12)


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        H_fit = clone(fitted).fit_transform(small_X)
    np.testing.assert_allclose(H_fit, H)


def test_score_is_minus_the_reconstruction_term(fitted, small_X):
    X_hat = fitted.inverse_transform(fitted.transform(small_X))
    expected = -0.5 * np.sum((X_hat - small_X) ** 2) / small_X.shape[0]
    assert fitted.score(small_X) == pytest.approx(expected, rel=1e-12)
    untrained = _fit_quietly(
        SparseAutoencoder(n_components=16, max_iter=1, random_state=0), small_X
    )
    assert fitted.score(small_X) > untrained.score(small_X)


def test_training_learns_sparse_codes(small_X):
    sae = _fit_quietly(
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X_train, y_train)
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
    search = GridSearchCV(pipe, grid, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["sae__rho"] in grid["sae__rho"]
    assert search.best_params_["sae__beta"] in grid["sae__beta"]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ > 0.5


def test_pickle_round_trip(fitted, small_X):
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        restored.transform(small_X), fitted.transform(small_X)
    )
    assert restored.loss_ == fitted.loss_


def test_fixed_random_state_is_deterministic(small_X):
    params = dict(n_components=8, max_iter=15)
    a = _fit_quietly(SparseAutoencoder(random_state=3, **params), small_X)
    b = _fit_quietly(SparseAutoencoder(random_state=3, **params), small_X)
    c = _fit_quietly(SparseAutoencoder(random_state=4, **params), small_X)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.decoder_components_, b.decoder_components_)
    assert a.loss_curve_ == b.loss_curve_
    assert not np.allclose(a.components_, c.components_)


def test_float32_is_preserved_and_close_to_float64(small_X):
    params = dict(n_components=8, max_iter=10, random_state=0)
    sae64 = _fit_quietly(SparseAutoencoder(**params), small_X)
    sae32 = _fit_quietly(SparseAutoencoder(**params), small_X.astype(np.float32))
    for name in (
        "components_",
        "decoder_components_",
        "intercept_hidden_",
        "intercept_visible_",
    ):
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
    sae = _fit_quietly(SparseAutoencoder(n_components=3, max_iter=5), X)
    assert sae.components_.dtype == np.float64
    assert sae.transform(X).dtype == np.float64


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_sparse_input_gives_the_dense_result(small_X, container):
    params = dict(n_components=8, max_iter=10, random_state=0)
    dense = _fit_quietly(SparseAutoencoder(**params), small_X)
    sparse = _fit_quietly(SparseAutoencoder(**params), container(small_X))
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
    refit = _fit_quietly(clone(fitted).set_params(**params), fortran)
    np.testing.assert_allclose(refit.components_, fitted.components_, rtol=1e-9)


def test_warm_start_continues_from_the_previous_solution(small_X):
    sae = SparseAutoencoder(
        n_components=8, max_iter=10, warm_start=True, random_state=0
    )
    _fit_quietly(sae, small_X)
    first_loss = sae.loss_
    first_components = sae.components_.copy()
    _fit_quietly(sae, small_X)
    # The second run starts where the first stopped, so it only goes down.
    assert sae.loss_curve_[0] <= first_loss
    assert sae.loss_ < first_loss
    assert not np.array_equal(sae.components_, first_components)

    cold = _fit_quietly(
        SparseAutoencoder(n_components=8, max_iter=10, random_state=0), small_X
    )
    assert cold.loss_ == pytest.approx(first_loss)


def test_warm_start_refuses_a_changed_shape(small_X):
    sae = _fit_quietly(
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
    sae = _fit_quietly(
        SparseAutoencoder(n_components=4, max_iter=5, verbose=1, tol=0.0), small_X
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == sae.n_iter_ == 5
    assert re.match(
        r"Iteration 1, loss = \S+, gradient norm = \S+, elapsed = \S+s", lines[0]
    )


def test_warns_with_remedy_for_inputs_outside_unit_interval(small_X):
    with pytest.warns(UserWarning, match="MinMaxScaler"):
        _fit_quietly(SparseAutoencoder(n_components=4, max_iter=2), small_X * 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _fit_quietly(SparseAutoencoder(n_components=4, max_iter=2), small_X)


def test_feature_names_out(fitted):
    names = fitted.get_feature_names_out()
    assert list(names[:2]) == ["sparseautoencoder0", "sparseautoencoder1"]
    assert names.shape == (16,)


def test_set_output_pandas(fitted, small_X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(small_X, columns=[f"p{i}" for i in range(small_X.shape[1])])
    sae = _fit_quietly(clone(fitted), frame).set_output(transform="pandas")
    H = sae.transform(frame)
    assert list(H.columns) == list(sae.get_feature_names_out())
    assert list(sae.feature_names_in_) == list(frame.columns)


# --- bad input -----------------------------------------------------------------


def _bad_inputs(n_features):
    good = np.full((4, n_features), 0.5)
    nan = good.copy()
    nan[1, 2] = np.nan
    inf = good.copy()
    inf[0, 0] = np.inf
    return [
        pytest.param(nan, ValueError, "NaN", id="nan"),
        pytest.param(inf, ValueError, "infinity", id="inf"),
        pytest.param(good[0], ValueError, "Expected 2D array", id="1d"),
        pytest.param(good[None], ValueError, "dim 3", id="3d"),
        pytest.param(np.full((4, n_features), "a"), ValueError, "string", id="strings"),
        pytest.param(good + 1j, ValueError, "[Cc]omplex", id="complex"),
        pytest.param(np.empty((0, n_features)), ValueError, "0 sample", id="empty"),
        pytest.param(None, (ValueError, TypeError), "Expected 2D array", id="none"),
    ]


@pytest.mark.parametrize(("X", "error", "match"), _bad_inputs(64))
def test_fit_rejects_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        SparseAutoencoder(n_components=3, max_iter=2).fit(X)


@pytest.mark.parametrize(("X", "error", "match"), _bad_inputs(64))
@pytest.mark.parametrize("method", ["transform", "score"])
def test_transform_and_score_reject_bad_input(fitted, method, X, error, match):
    with pytest.raises(error, match=match):
        getattr(fitted, method)(X)


@pytest.mark.parametrize(("X", "error", "match"), _bad_inputs(16))
def test_inverse_transform_rejects_bad_input(fitted, X, error, match):
    with pytest.raises(error, match=match):
        fitted.inverse_transform(X)


def test_wrong_width_is_named(fitted, small_X):
    with pytest.raises(ValueError, match="X has 10 features, but SparseAutoencoder"):
        fitted.transform(small_X[:, :10])
    with pytest.raises(ValueError, match=r"X has 10 features.*expecting 16"):
        fitted.inverse_transform(np.full((3, 10), 0.5))


def test_strings_are_named(fitted):
    with pytest.raises(ValueError, match=r"[Ss]tring|could not convert"):
        fitted.transform(np.array([["a"] * 64]))


def test_methods_need_a_fitted_model(small_X):
    sae = SparseAutoencoder()
    for method in ("transform", "inverse_transform", "score"):
        with pytest.raises(NotFittedError):
            getattr(sae, method)(small_X)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n_components", 0),
        ("n_components", 2.5),
        ("n_components", True),
        ("rho", 0.0),
        ("rho", 1.0),
        ("rho", np.nan),
        ("rho", True),
        ("beta", -1.0),
        ("beta", np.inf),
        ("beta", False),
        ("alpha", -1e-3),
        ("alpha", np.nan),
        ("alpha", "0.1"),
        ("max_iter", 0),
        ("max_iter", True),
        ("max_iter", 10.0),
        ("tol", -1.0),
        ("tol", np.nan),
        ("warm_start", "yes"),
        ("random_state", "seed"),
        ("verbose", -1),
    ],
)
def test_invalid_parameters_are_named(small_X, name, value):
    sae = SparseAutoencoder(n_components=3, max_iter=2).set_params(**{name: value})
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        sae.fit(small_X)
