"""Extreme parameters and data give finite results, or a clear error.

Sparsity targets near 0 and 1, huge penalties, saturated hidden units, inputs
of huge scale, constant data, a single sample or feature, many more hidden
units than features; and estimators whose line search fails or whose
objective overflows at trial points (the driver itself: test_optimize.py).
"""

import math
import warnings

import numpy as np
import pytest
from _models import (
    AUTOENCODER_ATTRIBUTES,
    assert_finite_autoencoder,
    assert_predicts_the_most_probable_class,
    autoencoder_loss,
    fit_quietly,
)
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import (
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
    ZCAWhitener,
)
from sklearn_sae._objective import ParameterLayout

RNG = np.random.RandomState(0)
X01 = RNG.uniform(size=(40, 6))
Y = np.arange(40) % 2
DTYPES = [np.float64, np.float32]

# Data outside [0, 1] for a sigmoid decoder, on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore:SparseAutoencoder reconstructs:UserWarning"
)


def _assert_finite_autoencoder(sae, X, sigmoid_decoder):
    """Weights, loss, codes and reconstructions finite; sigmoid outputs in [0, 1]."""
    assert_finite_autoencoder(sae)
    H = sae.transform(X)
    assert np.all(np.isfinite(H))
    X_hat = sae.inverse_transform(H)
    assert np.all(np.isfinite(X_hat))
    assert math.isfinite(sae.score(X))
    if not isinstance(sae, KSparseAutoencoder):
        assert np.all((H >= 0) & (H <= 1))
    if sigmoid_decoder:
        assert np.all((X_hat >= 0) & (X_hat <= 1))
    return H


def _assert_finite_stack(stack, X):
    for sae in stack.autoencoders_:
        assert np.all(np.isfinite(sae.components_))
        assert math.isfinite(sae.loss_)
        assert np.all(np.isfinite(sae.loss_curve_))
    H = stack.transform(X)
    assert np.all(np.isfinite(H))
    assert np.all((H >= 0) & (H <= 1))
    X_hat = stack.inverse_transform(H)
    assert np.all(np.isfinite(X_hat))
    assert np.all((X_hat >= 0) & (X_hat <= 1))


def _assert_finite_classifier(clf, X):
    for array in clf.coefs_ + clf.intercepts_:
        assert np.all(np.isfinite(array))
    assert math.isfinite(clf.loss_)
    assert np.all(np.isfinite(clf.loss_curve_))
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    log_proba = clf.predict_log_proba(X)
    assert np.all(np.isfinite(log_proba))
    assert np.all(log_proba <= 0)
    assert np.all(np.isfinite(clf.decision_function(X)))
    assert_predicts_the_most_probable_class(clf, X)


# --- extreme hyperparameters -------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "params",
    [
        {"rho": 1e-6},
        {"rho": 1 - 1e-6},
        {"rho": 1e-6, "beta": 1e6},
        {"rho": 1 - 1e-6, "beta": 1e6},
        {"beta": 1e6},
        {"beta": 1e6, "sparsity": "l1"},
        {"alpha": 1e3},
        {"alpha": 1e3, "beta": 1e6},
        {"beta": 1e6, "decoder": "linear"},
        {"beta": 1e6, "tied_weights": True},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_extreme_hyperparameters_give_finite_models(params, dtype):
    X = X01.astype(dtype)
    sae = fit_quietly(SparseAutoencoder(5, max_iter=40, random_state=0, **params), X)
    assert sae.components_.dtype == dtype
    _assert_finite_autoencoder(sae, X, sigmoid_decoder=sae.decoder == "sigmoid")


def test_huge_weight_decay_shrinks_the_weights_to_zero():
    sae = fit_quietly(SparseAutoencoder(5, alpha=1e3, random_state=0), X01)
    _assert_finite_autoencoder(sae, X01, sigmoid_decoder=True)
    assert np.abs(sae.components_).max() < 1e-3
    ksae = fit_quietly(KSparseAutoencoder(5, k=2, alpha=1e3, random_state=0), X01)
    _assert_finite_autoencoder(ksae, X01 - X01.mean(axis=0), sigmoid_decoder=False)
    assert np.abs(ksae.components_).max() < 1e-3


@pytest.mark.parametrize("rho", [1e-6, 1 - 1e-6])
def test_sparsity_target_near_the_edges_is_approached(rho):
    # With a strong KL penalty the mean activations follow rho towards 0 or 1.
    sae = fit_quietly(
        SparseAutoencoder(5, rho=rho, beta=30.0, max_iter=200, random_state=0), X01
    )
    H = _assert_finite_autoencoder(sae, X01, sigmoid_decoder=True)
    rho_hat = H.mean(axis=0)
    assert np.all(np.abs(rho_hat - rho) < 0.05), rho_hat


@pytest.mark.parametrize("dtype", DTYPES)
def test_stacks_with_extreme_per_layer_parameters(dtype):
    X = X01.astype(dtype)
    params = {
        "rho": (1e-6, 1 - 1e-6),
        "beta": (1e6, 0.0),
        "alpha": (0.0, 1e3),
        "max_iter": 30,
        "random_state": 0,
    }
    stack = fit_quietly(StackedSparseAutoencoder((5, 3), **params), X)
    _assert_finite_stack(stack, X)
    clf = StackedSparseAutoencoderClassifier((5, 3), softmax_alpha=1e3, **params)
    _assert_finite_classifier(fit_quietly(clf, X, Y), X)


# --- saturated hidden units ----------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sparsity", ["kl", "l1"])
def test_warm_start_from_saturated_units_stays_finite(dtype, sparsity):
    """Weights 1e3 times too large saturate every unit: sigmoids at exactly 0 or 1."""
    X = (X01 > 0.5).astype(dtype)
    sae = fit_quietly(
        SparseAutoencoder(5, sparsity=sparsity, max_iter=10, random_state=0), X
    )
    for name in AUTOENCODER_ATTRIBUTES:
        setattr(sae, name, getattr(sae, name) * 1e3)
    H = sae.transform(X)
    assert np.all((H == 0) | (H == 1)) or np.mean((H < 1e-6) | (H > 1 - 1e-6)) > 0.9
    sae.set_params(warm_start=True, max_iter=50)
    fit_quietly(sae, X)
    _assert_finite_autoencoder(sae, X, sigmoid_decoder=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_decoder_on_huge_inputs_is_finite(dtype):
    # Out of the sigmoid's range: it warns, but the model stays finite.
    X = (X01 * 1e6).astype(dtype)
    sae = SparseAutoencoder(5, max_iter=30, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sae.fit(X)
    assert any("Scale X into [0, 1]" in str(w.message) for w in caught)
    _assert_finite_autoencoder(sae, X, sigmoid_decoder=True)


# --- inputs of huge scale ---------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "estimator",
    [
        SparseAutoencoder(5, decoder="linear", max_iter=50, random_state=0),
        SparseAutoencoder(5, decoder="linear", beta=1e6, max_iter=50, random_state=0),
        SparseAutoencoder(
            5, decoder="linear", tied_weights=True, max_iter=50, random_state=0
        ),
        KSparseAutoencoder(5, k=2, max_iter=50, random_state=0),
    ],
    ids=["linear", "linear-beta=1e6", "linear-tied", "k-sparse"],
)
def test_linear_decoder_on_inputs_scaled_by_1e6(estimator, dtype):
    X = ((X01 - 0.5) * 1e6).astype(dtype)
    sae = fit_quietly(estimator, X)
    assert sae.components_.dtype == dtype
    _assert_finite_autoencoder(sae, X, sigmoid_decoder=False)
    # The reconstruction is of the scale of the input, not stuck at zero.
    X_hat = sae.inverse_transform(sae.transform(X))
    assert np.linalg.norm(X_hat - X) < np.linalg.norm(X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_whitening_inputs_scaled_by_1e6(dtype):
    X = (X01 * 1e6).astype(dtype)
    zca = ZCAWhitener(epsilon=1e-3).fit(X)
    X_white = zca.transform(X)
    assert np.all(np.isfinite(X_white))
    np.testing.assert_allclose(
        X_white.T @ X_white / len(X),
        np.eye(6),
        atol=1e-3 if dtype == np.float64 else 1e-2,
    )
    np.testing.assert_allclose(
        zca.inverse_transform(X_white), X, rtol=1e-3 if dtype == np.float32 else 1e-9
    )


def test_classifier_on_inputs_scaled_by_1e6():
    X = X01 * 1e6
    clf = StackedSparseAutoencoderClassifier((5,), max_iter=30, random_state=0)
    _assert_finite_classifier(fit_quietly(clf, X, Y), X)


def test_overflow_at_the_starting_point_is_a_clear_error():
    # Squares of 1e19 overflow float32 (the largest is about 3.4e38).
    X = ((X01 - 0.5) * 1e19).astype(np.float32)
    sae = SparseAutoencoder(5, decoder="linear", max_iter=20, random_state=0)
    with pytest.raises(
        ValueError,
        match=r"SparseAutoencoder: the loss is inf at the starting point, so L-BFGS "
        r"cannot start.*Scale X down.*float64 rather than float32",
    ):
        sae.fit(X)
    assert not hasattr(sae, "components_")
    # The same data in float64 do not overflow.
    _assert_finite_autoencoder(
        fit_quietly(sae, X.astype(np.float64)),
        X.astype(np.float64),
        sigmoid_decoder=False,
    )


# --- degenerate data -------------------------------------------------------------

DEGENERATE = {
    "constant-feature": np.c_[X01, np.full(40, 0.3)],
    "all-constant": np.full((40, 6), 0.3),
    "all-zero": np.zeros((40, 6)),
    "one-sample": X01[:1],
    "one-feature": X01[:, :1],
    "binary": (X01 > 0.5).astype(float),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", list(DEGENERATE))
@pytest.mark.parametrize(
    "estimator",
    [
        SparseAutoencoder(5, max_iter=30, random_state=0),
        SparseAutoencoder(5, decoder="linear", sparsity="l1", max_iter=30),
        SparseAutoencoder(5, tied_weights=True, corruption=0.5, max_iter=30),
        KSparseAutoencoder(5, k=2, max_iter=30, random_state=0),
        SparseAutoencoder(200, max_iter=30, random_state=0),
    ],
    ids=["sigmoid", "linear-l1", "tied-denoising", "k-sparse", "200-units"],
)
def test_degenerate_data_give_finite_autoencoders(estimator, data, dtype):
    X = DEGENERATE[data].astype(dtype)
    sae = fit_quietly(estimator, X)
    H = _assert_finite_autoencoder(sae, X, sigmoid_decoder=sae._decoder == "sigmoid")
    assert H.shape == (X.shape[0], sae.n_components)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", list(DEGENERATE))
def test_degenerate_data_give_finite_stacks(data, dtype):
    X = DEGENERATE[data].astype(dtype)
    stack = fit_quietly(StackedSparseAutoencoder((20, 3), max_iter=20), X)
    _assert_finite_stack(stack, X)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "data", ["constant-feature", "all-constant", "all-zero", "one-feature", "binary"]
)
def test_degenerate_data_give_finite_classifiers(data, dtype):
    X = DEGENERATE[data].astype(dtype)
    clf = StackedSparseAutoencoderClassifier((20, 3), max_iter=20, random_state=0)
    _assert_finite_classifier(fit_quietly(clf, X, Y), X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_classifier_on_one_sample_per_class(dtype):
    X = X01[:2].astype(dtype)
    clf = StackedSparseAutoencoderClassifier((4,), max_iter=50, random_state=0)
    _assert_finite_classifier(fit_quietly(clf, X, [3, 7]), X)
    np.testing.assert_array_equal(clf.predict(X), [3, 7])


def test_constant_data_give_constant_codes_and_uninformative_probabilities():
    X = np.full((40, 6), 0.3)
    sae = fit_quietly(SparseAutoencoder(5, max_iter=100, random_state=0), X)
    H = sae.transform(X)
    np.testing.assert_allclose(H, H[:1].repeat(40, axis=0))
    np.testing.assert_allclose(sae.inverse_transform(H), X, atol=1e-3)
    clf = StackedSparseAutoencoderClassifier((4,), max_iter=50, random_state=0)
    proba = fit_quietly(clf, X, Y).predict_proba(X)
    # Half the samples of each class, nothing to tell them apart.
    np.testing.assert_allclose(proba, 0.5, atol=1e-3)


# --- the L-BFGS driver: failed line searches and overflow ----------------------


class _SpyObjective:
    """Wraps an estimator's objective and records every loss it returns."""

    def __init__(self, objective, losses, transform=None):
        self.objective = objective
        self.losses = losses
        self.transform = transform

    def __enter__(self):
        self.inner = self.objective.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.objective.__exit__(*exc_info)

    def __call__(self, theta):
        loss, grad = self.inner(theta)
        if self.transform is not None:
            loss, grad = self.transform(theta, loss, grad)
        self.losses.append(float(loss))
        return loss, grad


def _spy_on(monkeypatch, transform=None):
    losses = []
    make_objective = SparseAutoencoder._make_objective

    def spied(self, X, random_state):
        return _SpyObjective(make_objective(self, X, random_state), losses, transform)

    monkeypatch.setattr(SparseAutoencoder, "_make_objective", spied)
    return losses


def test_line_search_failure_keeps_the_best_parameters(monkeypatch):
    """On these saturated units the line search fails (scipy's ABNORMAL stop).

    scipy then restores the last iterate but reports the loss of its last
    rejected trial point, several times larger here: the model must keep the
    best point and its loss.
    """
    losses = _spy_on(monkeypatch)
    X = X01 * 1e8
    sae = SparseAutoencoder(4, decoder="linear", max_iter=200, random_state=0)
    with pytest.warns(
        ConvergenceWarning,
        match=r"SparseAutoencoder: L-BFGS stopped after \d+ iteration\(s\) without "
        r"converging: the line search could not improve the loss further\. The "
        r"parameters are the best found\. Scaling the input",
    ):
        sae.fit(X)
    _assert_finite_autoencoder(sae, X, sigmoid_decoder=False)
    assert sae.loss_ == min(losses)
    assert sae.loss_ == autoencoder_loss(sae, X)
    # The trial points after the last iterate were worse.
    assert max(losses[-3:]) > sae.loss_


def test_non_descent_gradient_keeps_the_starting_point(monkeypatch):
    """A wrong gradient (its sign flipped) points every line search uphill.

    scipy's line search can then only shrink its step to nothing (and
    L-BFGS-B reports that as convergence): the model must keep the starting
    point, the best it saw, not drift to a worse one.
    """
    thetas = []

    def flip(theta, loss, grad):
        thetas.append(theta.copy())
        return loss, -grad

    losses = _spy_on(monkeypatch, flip)
    sae = fit_quietly(SparseAutoencoder(4, max_iter=50, random_state=0), X01)
    _assert_finite_autoencoder(sae, X01, sigmoid_decoder=True)
    assert len(losses) > 5
    assert sae.loss_ == min(losses) == losses[0]
    layout = ParameterLayout(X01.shape[1], 4, tied_weights=False)
    theta = layout.pack(
        sae.components_,
        sae.decoder_components_,
        sae.intercept_hidden_,
        sae.intercept_visible_,
    )
    np.testing.assert_allclose(theta, thetas[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_objective_overflowing_at_trial_points(monkeypatch, bad):
    """Far from the start the loss is NaN or inf (as in an overflow).

    The line search must back off from those points, and the fit end finite,
    at a loss no worse than the best finite one seen.
    """
    start = {}

    def overflow(theta, loss, grad):
        start.setdefault("theta", theta.copy())
        if np.abs(theta - start["theta"]).max() > 0.5:
            return bad, np.full_like(grad, bad)
        return loss, grad

    losses = _spy_on(monkeypatch, overflow)
    sae = fit_quietly(SparseAutoencoder(5, max_iter=100, random_state=0), X01)
    assert not all(map(math.isfinite, losses)), "no trial point overflowed"
    _assert_finite_autoencoder(sae, X01, sigmoid_decoder=True)
    assert sae.loss_ == min(loss for loss in losses if math.isfinite(loss))
    assert sae.loss_ < losses[0]
