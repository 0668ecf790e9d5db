"""The stacks' one-layer options per layer, warm start, and the fine-tuned deep
autoencoder of StackedSparseAutoencoder."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _models import assert_identical
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklearn_sae import (
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
)
from sklearn_sae._deep import DeepAutoencoderObjective, DeepLayout

STACKS = [StackedSparseAutoencoder, StackedSparseAutoencoderClassifier]

# A small stack whose fine-tuning has room to improve on its pre-training.
DEEP = {"hidden_layer_sizes": (24, 8), "beta": 0.0, "alpha": 1e-4, "max_iter": 40}


def _quietly(fit, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args)


def _fit(model, X, y):
    if isinstance(model, StackedSparseAutoencoderClassifier):
        return _quietly(model.fit, X, y)
    return _quietly(model.fit, X)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, train_size=600, random_state=0)


@pytest.fixture(scope="module")
def deep(digits):
    model = StackedSparseAutoencoder(**DEEP, fine_tune=True, random_state=0)
    return _quietly(model.fit, digits[0])


# Per-layer options ------------------------------------------------------------


@pytest.mark.parametrize("estimator", STACKS)
def test_per_layer_options_reach_each_layer(estimator, digits):
    X, _, y, _ = digits
    model = estimator(
        (8, 6, 4),
        sparsity=["l1", "kl", "l1"],
        tied_weights=(True, False, True),
        corruption=[0.3, 0.0, 0.1],
        decoder=["linear", "sigmoid", "sigmoid"],
        beta=0.1,
        max_iter=5,
        random_state=0,
    )
    _fit(model, X[:200], y[:200])
    layers = model.autoencoders_
    assert [sae.sparsity for sae in layers] == ["l1", "kl", "l1"]
    assert [sae.tied_weights for sae in layers] == [True, False, True]
    assert [sae.corruption for sae in layers] == [0.3, 0.0, 0.1]
    assert [sae.decoder for sae in layers] == ["linear", "sigmoid", "sigmoid"]
    assert layers[0].decoder_components_ is layers[0].components_
    assert layers[1].decoder_components_ is not layers[1].components_


@pytest.mark.parametrize("estimator", STACKS)
def test_each_layer_is_the_autoencoder_its_options_make(estimator, digits):
    """The first layer is a SparseAutoencoder fitted with the same options."""
    X, _, y, _ = digits
    options = {"sparsity": "l1", "tied_weights": True, "corruption": 0.25}
    model = _fit(
        estimator((10, 5), beta=0.1, max_iter=8, random_state=0, **options), X, y
    )
    first = model.autoencoders_[0]
    alone = SparseAutoencoder(
        10, beta=0.1, max_iter=8, random_state=first.random_state, **options
    )
    _quietly(alone.fit, X)
    np.testing.assert_array_equal(first.components_, alone.components_)


@pytest.mark.parametrize("estimator", STACKS)
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"sparsity": ("kl", "l2")}, r"sparsity\[1\] of Stacked.* must be a str among"),
        ({"sparsity": ["kl"]}, r"hidden_layer_sizes has 2 layer\(s\), but sparsity="),
        ({"tied_weights": [True, 1]}, r"tied_weights\[1\] of Stacked.* must be an"),
        ({"tied_weights": [0.0, False]}, r"tied_weights\[0\] of Stacked"),
        ({"corruption": (0.1, 1.0)}, r"corruption\[1\] of Stacked.* in the range"),
        ({"corruption": (True, 0.1)}, r"corruption\[0\] of Stacked.* must be a float"),
        ({"decoder": ("sigmoid", "linear")}, r"decoder\[1\] of Stacked.* for layer 2"),
        ({"decoder": "linear"}, r"decoder of Stacked.* must be 'sigmoid' for layer 2"),
        ({"decoder": ("linear", "relu")}, r"decoder\[1\] of Stacked.* a str among"),
    ],
)
def test_bad_per_layer_options_name_the_parameter_and_the_layer(
    estimator, params, match
):
    X = np.random.RandomState(0).uniform(size=(10, 3))
    y = np.arange(10) % 2
    model = estimator(hidden_layer_sizes=(4, 2), max_iter=2).set_params(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)


@pytest.mark.parametrize("estimator", STACKS)
def test_scalar_options_of_the_wrong_type_are_refused(estimator):
    X = np.random.RandomState(0).uniform(size=(10, 3))
    y = np.arange(10) % 2
    for params in ({"tied_weights": 0}, {"corruption": True}, {"sparsity": 1}):
        model = estimator(hidden_layer_sizes=(4, 2), max_iter=2).set_params(**params)
        with pytest.raises(ValueError, match=f"The '{next(iter(params))}' parameter"):
            model.fit(X, y)


def test_linear_decoder_on_the_first_layer_takes_real_valued_input(digits):
    X = (digits[0][:200] - 0.5) * 4  # values in [-2, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = _quietly(
            StackedSparseAutoencoder(
                (12, 6), decoder=["linear", "sigmoid"], max_iter=10, random_state=0
            ).fit,
            X,
        )
    X_hat = model.inverse_transform(model.transform(X))
    assert X_hat.min() < 0
    assert X_hat.max() > 1
    assert _quietly(StackedSparseAutoencoder(5, decoder="linear", max_iter=2).fit, X)


# Warm start ------------------------------------------------------------------


@pytest.mark.parametrize("estimator", STACKS)
def test_warm_start_continues_each_layer(estimator, digits):
    X, _, y, _ = digits
    model = _fit(estimator((10, 5), max_iter=6, warm_start=True, random_state=0), X, y)
    before = copy.deepcopy(model.autoencoders_)
    first_loss = before[0].loss_
    _fit(model, X, y)
    H = X
    for sae, fitted in zip(before, model.autoencoders_, strict=True):
        continued = _quietly(sae.set_params(warm_start=True).fit, H)
        assert_identical(fitted, continued, "layer")
        H = continued.transform(H)
    assert model.autoencoders_[0].loss_ < first_loss


@pytest.mark.parametrize("estimator", STACKS)
def test_warm_start_needs_the_same_layers(estimator, digits):
    X, _, y, _ = digits
    model = _fit(estimator((10, 5), max_iter=3, warm_start=True), X, y)
    model.set_params(hidden_layer_sizes=(10, 4))
    with pytest.raises(
        ValueError, match=r"same hidden_layer_sizes as the previous fit \(\(10, 5\)\)"
    ):
        model.fit(X, y)


def test_without_warm_start_a_refit_starts_afresh(digits):
    X = digits[0]
    model = _quietly(
        StackedSparseAutoencoder((10, 5), max_iter=6, random_state=0).fit, X
    )
    first = copy.deepcopy(model)
    _quietly(model.fit, X)
    assert_identical(first, model)


# The fine-tuned deep autoencoder -----------------------------------------------


def test_fine_tuning_lowers_the_reconstruction_error(deep, digits):
    X_train, X_test = digits[0], digits[1]
    pretrained = _quietly(StackedSparseAutoencoder(**DEEP, random_state=0).fit, X_train)
    for layer, sae in enumerate(pretrained.autoencoders_):
        assert_identical(sae, deep.autoencoders_[layer], f"layer {layer}")
    # At least 10% less reconstruction error, on the training and test sets.
    assert -deep.score(X_train) < 0.9 * -pretrained.score(X_train)
    assert -deep.score(X_test) < 0.9 * -pretrained.score(X_test)
    assert deep.fine_tune_n_iter_ == DEEP["max_iter"]
    assert deep.n_iter_ == pretrained.n_iter_ + deep.fine_tune_n_iter_
    assert len(deep.loss_curve_) == deep.fine_tune_n_iter_
    assert deep.loss_curve_[-1] == deep.loss_


def test_fine_tuned_network_formulas(deep, digits):
    X = digits[1][:40]
    W, b = deep.coefs_, deep.intercepts_
    assert [w.shape for w in W] == [(64, 24), (24, 8), (8, 24), (24, 64)]
    H = expit(expit(X @ W[0] + b[0]) @ W[1] + b[1])
    np.testing.assert_allclose(deep.transform(X), H, rtol=1e-12)
    X_hat = expit(expit(H @ W[2] + b[2]) @ W[3] + b[3])
    np.testing.assert_allclose(deep.inverse_transform(H), X_hat, rtol=1e-12)
    expected = -0.5 * np.sum((X_hat - X) ** 2) / len(X)
    assert deep.score(X) == pytest.approx(expected, rel=1e-12)
    assert deep.transform(sp.csr_matrix(X)) == pytest.approx(H, rel=1e-12)


def test_fine_tuned_loss_is_the_deep_objective(deep, digits):
    layout = DeepLayout((64, 24, 8))
    W = [w.T for w in deep.coefs_[:2]]
    W2T = deep.coefs_[:1:-1]
    b, c = deep.intercepts_[:2], deep.intercepts_[:1:-1]
    objective = DeepAutoencoderObjective(digits[0], (64, 24, 8), alpha=1e-4)
    loss, _ = objective(layout.pack(W, W2T, b, c))
    assert loss == pytest.approx(deep.loss_, rel=1e-12)
    # No sparsity term: at beta=3 the loss is the same.
    assert -deep.score(digits[0]) < loss


def test_fine_tuning_keeps_options_of_the_layers(digits):
    X = (digits[0] - 0.5) * 3
    model = StackedSparseAutoencoder(
        (16, 6),
        decoder=["linear", "sigmoid"],
        tied_weights=[True, False],
        corruption=0.2,
        max_iter=15,
        fine_tune=True,
        random_state=0,
    )
    _quietly(model.fit, X)
    W = model.coefs_
    np.testing.assert_array_equal(W[3], W[0].T)
    assert not np.array_equal(W[2], W[1].T)
    H = model.transform(X[:30])
    X_hat = expit(H @ W[2] + model.intercepts_[2]) @ W[3] + model.intercepts_[3]
    np.testing.assert_allclose(model.inverse_transform(H), X_hat, rtol=1e-12)
    assert X_hat.min() < 0


def test_fine_tune_max_iter_bounds_the_fine_tuning_and_names_it(digits):
    model = StackedSparseAutoencoder(
        (8, 4), max_iter=3, fine_tune=True, fine_tune_max_iter=2, tol=0.0
    )
    with pytest.warns(ConvergenceWarning) as record:
        model.fit(digits[0][:100])
    messages = [str(w.message) for w in record]
    assert len(messages) == 3
    assert "while fine-tuning the deep autoencoder" in messages[2]
    assert "Increase fine_tune_max_iter (now 2)" in messages[2]
    assert model.fine_tune_n_iter_ == 2


def test_refit_without_fine_tuning_drops_the_fine_tuned_network(deep, digits):
    model = copy.deepcopy(deep).set_params(fine_tune=False, max_iter=5)
    assert hasattr(model, "coefs_")
    _quietly(model.fit, digits[0])
    assert not hasattr(model, "coefs_")
    assert not hasattr(model, "loss_")
    fresh = _quietly(clone(model).fit, digits[0])
    np.testing.assert_array_equal(
        model.transform(digits[1]), fresh.transform(digits[1])
    )


def test_fine_tuned_stack_preserves_float32_and_pickles(deep, digits):
    X = digits[0][:200]
    model32 = _quietly(
        StackedSparseAutoencoder((12, 6), max_iter=10, fine_tune=True).fit,
        X.astype(np.float32),
    )
    assert {w.dtype for w in model32.coefs_ + model32.intercepts_} == {
        np.dtype(np.float32)
    }
    H = model32.transform(X.astype(np.float32))
    assert H.dtype == np.float32
    assert model32.inverse_transform(H).dtype == np.float32
    restored = pickle.loads(pickle.dumps(deep))
    np.testing.assert_array_equal(restored.transform(X), deep.transform(X))


def test_fine_tuning_does_not_depend_on_the_number_of_threads(digits):
    from threadpoolctl import threadpool_limits

    X = np.tile(digits[0], (4, 1))  # large enough for several chunks
    fits = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="blas"):
            model = StackedSparseAutoencoder((16, 4), max_iter=4, fine_tune=True)
            fits.append(_quietly(model.set_params(random_state=0).fit, X))
    assert_identical(fits[0], fits[1])


# A linear code ---------------------------------------------------------------


def test_linear_code_makes_the_top_layer_linear(digits):
    X_train, X_test = digits[0], digits[1][:40]
    model = StackedSparseAutoencoder(
        (16, 4), beta=[3.0, 0.0], max_iter=20, code="linear", random_state=0
    )
    _quietly(model.fit, X_train)
    first, top = model.autoencoders_
    assert isinstance(top, SparseAutoencoder)
    H1 = expit(X_test @ first.components_.T + first.intercept_hidden_)
    H = H1 @ top.components_.T + top.intercept_hidden_
    np.testing.assert_allclose(model.transform(X_test), H, rtol=1e-12)
    assert H.min() < 0 or H.max() > 1


def test_fine_tuned_linear_code(digits):
    X_train, X_test = digits[0], digits[1][:40]
    model = StackedSparseAutoencoder(
        (16, 4), beta=[3.0, 0.0], max_iter=20, code="linear", fine_tune=True
    )
    _quietly(model.set_params(random_state=0).fit, X_train)
    W, b = model.coefs_, model.intercepts_
    H = expit(X_test @ W[0] + b[0]) @ W[1] + b[1]
    np.testing.assert_allclose(model.transform(X_test), H, rtol=1e-12)
    X_hat = expit(expit(H @ W[2] + b[2]) @ W[3] + b[3])
    np.testing.assert_allclose(model.inverse_transform(H), X_hat, rtol=1e-12)
    layout = DeepLayout((64, 16, 4))
    theta = layout.pack([w.T for w in W[:2]], W[:1:-1], b[:2], b[:1:-1])
    objective = DeepAutoencoderObjective(
        X_train, (64, 16, 4), alpha=3e-3, linear_code=True
    )
    assert objective(theta)[0] == pytest.approx(model.loss_, rel=1e-12)
    pretrained = _quietly(clone(model).set_params(fine_tune=False).fit, X_train)
    assert model.score(X_train) > pretrained.score(X_train)


@pytest.mark.parametrize(
    ("beta", "match"),
    [
        (3.0, r"beta of Stacked.* must be 0 for the top layer with code='linear'"),
        ((0.0, 1.0), r"beta\[1\] of Stacked.* must be 0 for the top layer"),
    ],
)
def test_linear_code_refuses_a_sparsity_penalty_on_it(beta, match):
    X = np.random.RandomState(0).uniform(size=(10, 3))
    model = StackedSparseAutoencoder((4, 2), beta=beta, code="linear", max_iter=2)
    with pytest.raises(ValueError, match=match):
        model.fit(X)
    model.set_params(beta=(1.0, 0.0))
    _quietly(model.fit, X)


def test_warm_start_needs_the_same_code_units(digits):
    X = digits[0][:100]
    model = StackedSparseAutoencoder(
        (6, 3), beta=0.0, max_iter=3, warm_start=True, random_state=0
    )
    _quietly(model.fit, X)
    model.set_params(code="linear")
    with pytest.raises(ValueError, match="same units as the previous fit"):
        model.fit(X)
