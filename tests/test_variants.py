"""Behaviour of the tutorial's variants: SparseAutoencoder's options and
KSparseAutoencoder."""

import itertools
import warnings

import numpy as np
import pytest
from _models import autoencoder_loss, fit_quietly, recorded_masks
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from sklearn_sae import KSparseAutoencoder, SparseAutoencoder
from sklearn_sae._objective import masking_noise

OPTION_NAMES = ("decoder", "sparsity", "tied_weights", "corruption")
OPTIONS = [
    dict(zip(OPTION_NAMES, values, strict=True))
    for values in itertools.product(
        ("sigmoid", "linear"), ("kl", "l1"), (False, True), (0.0, 0.25)
    )
]


def _options_id(options):
    return "-".join(map(str, options.values()))


@pytest.mark.parametrize("options", OPTIONS, ids=_options_id)
def test_loss_is_the_objective_minimised_for_every_combination(digits, options):
    X = digits[0][:200]
    with recorded_masks() as masks:
        sae = fit_quietly(
            SparseAutoencoder(n_components=12, max_iter=15, random_state=0, **options),
            X,
        )
    # One mask, drawn once and held fixed, and only with corruption.
    (mask,) = masks
    assert (mask is None) == (options["corruption"] == 0)
    loss = autoencoder_loss(sae, X, input_mask=mask)
    assert sae.loss_ == pytest.approx(loss, rel=1e-9)
    assert sae.loss_curve_[-1] == sae.loss_
    assert sae.loss_curve_[0] > sae.loss_
    assert np.all(np.isfinite(sae.components_))
    H = sae.transform(X)
    assert H.shape == (200, 12)
    assert sae.inverse_transform(H).shape == X.shape


def test_tied_weights_share_one_matrix(digits):
    X = digits[0][:200]
    sae = fit_quietly(
        SparseAutoencoder(
            n_components=10, tied_weights=True, max_iter=20, random_state=0
        ),
        X,
    )
    assert sae.decoder_components_ is sae.components_
    untied = fit_quietly(
        SparseAutoencoder(n_components=10, max_iter=20, random_state=0), X
    )
    assert not np.allclose(untied.decoder_components_, untied.components_)


def test_tied_weights_warm_start_continues(digits):
    X = digits[0][:200]
    sae = SparseAutoencoder(
        n_components=10, tied_weights=True, max_iter=10, tol=0, random_state=0
    )
    fit_quietly(sae, X)
    first = sae.loss_
    sae.set_params(warm_start=True)
    fit_quietly(sae, X)
    assert sae.loss_curve_[0] < first


def test_linear_decoder_takes_real_valued_input_without_warning(digits):
    X = (digits[0][:200] - 0.5) * 8.0  # values in [-4, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        sae = SparseAutoencoder(
            n_components=20, decoder="linear", max_iter=100, random_state=0
        ).fit(X)
    H = sae.transform(X)
    X_hat = sae.inverse_transform(H)
    np.testing.assert_allclose(
        X_hat, H @ sae.decoder_components_ + sae.intercept_visible_, rtol=1e-12
    )
    # A sigmoid decoder could not reach these values at all.
    assert X_hat.min() < -1
    assert X_hat.max() > 2
    assert sae.score(X) > -0.5 * np.mean(np.sum((X - X.mean(axis=0)) ** 2, axis=1))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sigmoid_decoder_still_warns_and_names_the_linear_decoder(digits):
    sae = SparseAutoencoder(n_components=3, max_iter=2)
    with pytest.warns(UserWarning, match='decoder="linear"'):
        sae.fit(digits[0][:50] * 16)


def test_l1_sparsity_does_not_use_rho(digits):
    X = digits[0][:200]
    fits = [
        fit_quietly(
            SparseAutoencoder(
                n_components=8, sparsity="l1", rho=rho, max_iter=10, random_state=0
            ),
            X,
        )
        for rho in (0.05, 0.5)
    ]
    np.testing.assert_array_equal(fits[0].components_, fits[1].components_)
    assert fits[0].loss_ == fits[1].loss_


def test_l1_sparsity_makes_codes_sparser(digits):
    X = digits[0][:400]
    weak, strong = (
        fit_quietly(
            SparseAutoencoder(
                n_components=20, sparsity="l1", beta=beta, max_iter=100, random_state=0
            ),
            X,
        )
        for beta in (0.0, 0.1)
    )
    assert strong.transform(X).mean() < 0.5 * weak.transform(X).mean()


def test_corruption_is_drawn_from_random_state(digits):
    # The same seed draws the same mask, another seed another one; each fit
    # masks that fraction of every row. (That the same seed gives the same
    # model is in test_determinism.py.)
    X = digits[0][:150]
    with recorded_masks() as masks:
        for seed in (0, 0, 1):
            sae = SparseAutoencoder(
                n_components=8, corruption=0.3, max_iter=2, random_state=seed
            )
            fit_quietly(sae, X)
    np.testing.assert_array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0], masks[2])
    n_features = X.shape[1]
    for mask in masks:
        keep = np.unpackbits(mask, axis=1, count=n_features)
        np.testing.assert_array_equal(
            keep.sum(axis=1), n_features - round(0.3 * n_features)
        )


def test_denoising_reconstructs_masked_digits_closer_to_the_clean_ones(digits):
    X, _ = digits
    X_train, X_test = X[:1400], X[1400:]
    sae = fit_quietly(
        SparseAutoencoder(
            n_components=64,
            rho=0.1,
            beta=0.5,
            alpha=1e-4,
            corruption=0.3,
            max_iter=300,
            random_state=0,
        ),
        X_train,
    )
    rng = np.random.RandomState(42)
    keep = np.unpackbits(
        masking_noise(*X_test.shape, 0.3, rng), axis=1, count=X_test.shape[1]
    )
    X_masked = X_test * keep
    X_restored = sae.inverse_transform(sae.transform(X_masked))
    error_masked = np.sum((X_masked - X_test) ** 2)
    error_restored = np.sum((X_restored - X_test) ** 2)
    assert error_restored < 0.5 * error_masked


def test_k_sparse_codes_have_at_most_k_non_zeros(digits):
    X = digits[0][:300]
    ksae = fit_quietly(
        KSparseAutoencoder(n_components=40, k=5, max_iter=60, random_state=0), X
    )
    H = ksae.transform(X)
    assert H.shape == (300, 40)
    assert np.all(np.count_nonzero(H, axis=1) <= 5)
    assert ksae.decoder_components_ is ksae.components_
    # The kept units are the k largest of the linear units.
    inputs = X @ ksae.components_.T + ksae.intercept_hidden_
    fifth = np.sort(inputs, axis=1)[:, [-5]]
    np.testing.assert_allclose(H, np.where(inputs >= fifth, inputs, 0.0), rtol=1e-12)
    np.testing.assert_allclose(
        ksae.inverse_transform(H),
        H @ ksae.components_ + ksae.intercept_visible_,
        rtol=1e-12,
    )
    assert ksae.loss_ == pytest.approx(autoencoder_loss(ksae, X), rel=1e-9)


def test_k_sparse_uses_its_units_on_centred_input(digits):
    X = digits[0] - digits[0].mean(axis=0)
    ksae = fit_quietly(
        KSparseAutoencoder(n_components=50, k=10, max_iter=200, random_state=0), X
    )
    used = np.count_nonzero(ksae.transform(X), axis=0)
    assert used.min() >= 0.01 * X.shape[0]
    # Ten active linear units reconstruct the digits far better than their mean.
    assert ksae.score(X) < 0
    assert ksae.score(X) > -0.2 * 0.5 * np.mean(np.sum(X**2, axis=1))


def test_k_at_least_n_components_keeps_every_unit(digits):
    X = digits[0][:100]
    ksae = fit_quietly(
        KSparseAutoencoder(n_components=6, k=10, max_iter=5, random_state=0), X
    )
    assert np.all(ksae.transform(X) != 0)


def test_k_sparse_in_a_pipeline_preserves_float32(digits):
    X, y = digits
    X = X.astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    ksae = KSparseAutoencoder(n_components=100, k=20, max_iter=100, random_state=0)
    pipe = Pipeline([("ksae", ksae), ("clf", LogisticRegression(max_iter=2000))])
    fit_quietly(pipe, X_train, y_train)
    assert pipe.named_steps["ksae"].components_.dtype == np.float32
    assert pipe.named_steps["ksae"].transform(X_test).dtype == np.float32
    assert pipe.score(X_test, y_test) > 0.9
