"""Behaviour of StackedSparseAutoencoder and StackedSparseAutoencoderClassifier."""

import numpy as np
import pytest
import scipy.sparse as sp
from _data import mnist_split
from _models import (
    assert_search_picked_the_best,
    autoencoder_loss,
    classifier_loss,
    fit_quietly,
)
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from sklearn_sae import SparseAutoencoder
from sklearn_sae._stacked import (
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
)

# Settings under which pre-training on digits learns features that vary from
# sample to sample in both layers (with the tutorial's alpha=3e-3 everywhere,
# the second layer of so small a stack settles on a constant code).
DIGITS_STACK = {"hidden_layer_sizes": (48, 24), "alpha": (3e-3, 1e-4)}


@pytest.fixture(scope="module")
def split(digits):
    """1000 training and 797 test digits."""
    X, y = digits
    return train_test_split(X, y, train_size=1000, random_state=0)


@pytest.fixture(scope="module")
def stack(split):
    X_train = split[0]
    model = StackedSparseAutoencoder(**DIGITS_STACK, max_iter=60, random_state=0)
    return fit_quietly(model, X_train)


@pytest.fixture(scope="module")
def pretrained(split):
    X_train, _, y_train, _ = split
    clf = StackedSparseAutoencoderClassifier(
        **DIGITS_STACK, max_iter=80, fine_tune=False, random_state=0
    )
    return fit_quietly(clf, X_train, y_train)


@pytest.fixture(scope="module")
def finetuned(split):
    X_train, _, y_train, _ = split
    clf = StackedSparseAutoencoderClassifier(
        **DIGITS_STACK, max_iter=80, random_state=0
    )
    return fit_quietly(clf, X_train, y_train)


# StackedSparseAutoencoder ----------------------------------------------------


def test_stack_trains_each_layer_on_the_features_below(stack, split):
    X_train = split[0]
    first, second = stack.autoencoders_
    assert isinstance(first, SparseAutoencoder)
    assert (first.n_components, second.n_components) == (48, 24)
    assert first.n_features_in_ == 64
    assert second.n_features_in_ == 48
    assert stack.n_iter_ == first.n_iter_ + second.n_iter_
    # The second layer's loss is its objective on the first layer's features.
    H1 = first.transform(X_train)
    assert autoencoder_loss(second, H1) == pytest.approx(second.loss_, rel=1e-10)
    # Both layers learned codes that differ between samples.
    H2 = stack.transform(X_train)
    assert np.median(H1.std(axis=0)) > 0.05
    assert np.median(H2.std(axis=0)) > 0.05


def test_stack_transform_and_inverse_transform_formulas(stack, split):
    X = split[1][:50]
    first, second = stack.autoencoders_
    H1 = expit(X @ first.components_.T + first.intercept_hidden_)
    H2 = expit(H1 @ second.components_.T + second.intercept_hidden_)
    np.testing.assert_allclose(stack.transform(X), H2, rtol=1e-12)
    X_hat = stack.inverse_transform(H2)
    assert X_hat.shape == X.shape
    R1 = expit(H2 @ second.decoder_components_ + second.intercept_visible_)
    expected = expit(R1 @ first.decoder_components_ + first.intercept_visible_)
    np.testing.assert_allclose(X_hat, expected, rtol=1e-12)
    residual = X_hat - X
    assert stack.score(X) == pytest.approx(-0.5 * np.sum(residual**2) / len(X))


def test_stack_fit_transform_equals_fit_then_transform(stack, split):
    model = clone(stack)
    H = fit_quietly(model, split[0], method="fit_transform")
    np.testing.assert_allclose(H, stack.transform(split[0]), rtol=1e-12)


def test_per_layer_parameters_reach_each_layer(split):
    model = StackedSparseAutoencoder(
        (8, 6, 4), rho=[0.05, 0.1, 0.2], beta=(3.0, 1.0, 0.0), alpha=1e-3, max_iter=5
    )
    fit_quietly(model, split[0][:200])
    assert [sae.rho for sae in model.autoencoders_] == [0.05, 0.1, 0.2]
    assert [sae.beta for sae in model.autoencoders_] == [3.0, 1.0, 0.0]
    assert [sae.alpha for sae in model.autoencoders_] == [1e-3] * 3
    assert [sae.n_components for sae in model.autoencoders_] == [8, 6, 4]


def test_single_int_is_one_layer(split):
    model = fit_quietly(StackedSparseAutoencoder(10, max_iter=5), split[0][:100])
    assert len(model.autoencoders_) == 1
    assert model.transform(split[0][:3]).shape == (3, 10)


def test_stack_preserves_float32(split):
    X = split[0][:200]
    model32 = fit_quietly(
        StackedSparseAutoencoder((12, 6), max_iter=20, random_state=0),
        X.astype(np.float32),
    )
    model64 = fit_quietly(
        StackedSparseAutoencoder((12, 6), max_iter=20, random_state=0), X
    )
    assert all(sae.components_.dtype == np.float32 for sae in model32.autoencoders_)
    H32 = model32.transform(X.astype(np.float32))
    assert H32.dtype == np.float32
    assert model32.inverse_transform(H32).dtype == np.float32
    np.testing.assert_allclose(H32, model64.transform(X), atol=2e-2)


def test_stack_sparse_input_gives_the_dense_result(split):
    X = split[0][:150]
    dense = fit_quietly(
        StackedSparseAutoencoder((10, 5), max_iter=15, random_state=0), X
    )
    sparse = fit_quietly(
        StackedSparseAutoencoder((10, 5), max_iter=15, random_state=0),
        sp.csr_matrix(X),
    )
    np.testing.assert_allclose(
        sparse.transform(sp.csr_matrix(X)), dense.transform(X), rtol=1e-6, atol=1e-9
    )


def test_stack_convergence_warning_names_the_layer_and_max_iter(split):
    model = StackedSparseAutoencoder((6, 4), max_iter=2, tol=0.0)
    with pytest.warns(ConvergenceWarning) as record:
        model.fit(split[0][:100])
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert "StackedSparseAutoencoder" in messages[0]
    assert "pre-training layer 1 of 2 (64 -> 6 units)" in messages[0]
    assert "pre-training layer 2 of 2 (6 -> 4 units)" in messages[1]
    assert all("Increase max_iter (now 2)" in m for m in messages)
    assert not any("warm_start" in m for m in messages)


def test_stack_feature_names_out(stack):
    names = stack.get_feature_names_out()
    assert len(names) == 24
    assert names[0] == "stackedsparseautoencoder0"


def test_pipeline_grid_search_over_rho_and_beta(split):
    X_train, X_test, y_train, y_test = split
    pipe = Pipeline(
        [
            ("ssae", StackedSparseAutoencoder((16, 8), max_iter=15, random_state=0)),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    )
    grid = GridSearchCV(
        pipe, {"ssae__rho": [0.05, 0.2], "ssae__beta": [0.0, 3.0]}, cv=2
    )
    fit_quietly(grid, X_train[:400], y_train[:400])
    assert len(grid.cv_results_["params"]) == 4
    assert_search_picked_the_best(grid, X_train[:400], y_train[:400])
    best = grid.best_estimator_["ssae"]
    assert best.autoencoders_[0].rho == grid.best_params_["ssae__rho"]
    assert grid.score(X_test, y_test) > 0.5


# StackedSparseAutoencoderClassifier ------------------------------------------


def test_classifier_fitted_attributes(finetuned):
    np.testing.assert_array_equal(finetuned.classes_, np.arange(10))
    assert [W.shape for W in finetuned.coefs_] == [(64, 48), (48, 24), (24, 10)]
    assert [b.shape for b in finetuned.intercepts_] == [(48,), (24,), (10,)]
    assert [W.shape for W in finetuned.pretrained_coefs_] == [
        W.shape for W in finetuned.coefs_
    ]
    assert finetuned.n_iter_ == (
        sum(sae.n_iter_ for sae in finetuned.autoencoders_)
        + finetuned.softmax_n_iter_
        + finetuned.fine_tune_n_iter_
    )
    assert 1 <= finetuned.fine_tune_n_iter_ <= 80
    # The pre-trained network starts from the autoencoders' encoders.
    for W, b, sae in zip(
        finetuned.pretrained_coefs_,
        finetuned.pretrained_intercepts_,
        finetuned.autoencoders_,
        strict=False,
    ):
        np.testing.assert_array_equal(W, sae.components_.T)
        np.testing.assert_array_equal(b, sae.intercept_hidden_)
    # Fine-tuning moved every layer.
    for W, W0 in zip(finetuned.coefs_, finetuned.pretrained_coefs_, strict=True):
        assert not np.allclose(W, W0)


def test_loss_curve_runs_from_softmax_stage_into_fine_tuning(finetuned, split):
    curve = finetuned.loss_curve_
    assert len(curve) == finetuned.softmax_n_iter_ + finetuned.fine_tune_n_iter_
    # One objective throughout: L-BFGS only accepts decreasing steps.
    assert np.all(np.diff(curve) <= 1e-12)
    assert curve[-1] == pytest.approx(finetuned.loss_)
    # loss_ is the objective at the final weights: the mean cross-entropy plus
    # softmax_alpha / 2 * ||W_softmax||^2.
    X_train, _, y_train, _ = split
    loss = classifier_loss(finetuned, X_train, y_train)
    assert loss == pytest.approx(finetuned.loss_, rel=1e-10)


def test_fine_tuning_improves_on_the_pretrained_features(pretrained, finetuned, split):
    _, X_test, _, y_test = split
    # Same seed: fine-tuning starts from exactly the pre-trained network.
    for W, W0 in zip(finetuned.pretrained_coefs_, pretrained.coefs_, strict=True):
        np.testing.assert_array_equal(W, W0)
    assert pretrained.fine_tune_n_iter_ == 0
    before = pretrained.score(X_test, y_test)
    after = finetuned.score(X_test, y_test)
    assert before > 0.75
    assert after > 0.95
    assert after > before + 0.03
    assert finetuned.loss_ < pretrained.loss_


def test_predict_proba_is_the_softmax_of_the_network(finetuned, split):
    X = split[1][:40]
    A = X
    for W, b in zip(finetuned.coefs_[:-1], finetuned.intercepts_[:-1], strict=True):
        A = expit(A @ W + b)
    Z = A @ finetuned.coefs_[-1] + finetuned.intercepts_[-1]
    proba = finetuned.predict_proba(X)
    np.testing.assert_allclose(proba, softmax(Z, axis=1), rtol=1e-10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(finetuned.decision_function(X), Z, rtol=1e-10)
    np.testing.assert_allclose(
        finetuned.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(finetuned.predict(X), np.argmax(Z, axis=1))


def test_string_labels_and_binary_decision_function(split):
    X_train, X_test, y_train, y_test = split
    names = np.array(["even", "odd"])
    clf = StackedSparseAutoencoderClassifier((16, 8), max_iter=40, random_state=0)
    fit_quietly(clf, X_train, names[y_train % 2])
    np.testing.assert_array_equal(clf.classes_, names)
    predicted = clf.predict(X_test)
    assert predicted.dtype == names.dtype
    assert np.mean(predicted == names[y_test % 2]) > 0.85
    scores = clf.decision_function(X_test)
    assert scores.shape == (len(X_test),)
    np.testing.assert_array_equal(predicted, names[(scores > 0).astype(int)])
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(
        scores, np.log(proba[:, 1]) - np.log(proba[:, 0]), rtol=1e-8, atol=1e-10
    )


def test_string_labels_multiclass(split):
    X_train, X_test, y_train, y_test = split
    words = np.array(["zero", "one", "two"])
    keep = y_train < 3
    clf = StackedSparseAutoencoderClassifier((16,), max_iter=40, random_state=0)
    fit_quietly(clf, X_train[keep], words[y_train[keep]])
    np.testing.assert_array_equal(clf.classes_, np.sort(words))
    keep_test = y_test < 3
    assert clf.score(X_test[keep_test], words[y_test[keep_test]]) > 0.9


def test_fine_tune_max_iter_bounds_the_fine_tuning(split):
    X_train, _, y_train, _ = split
    clf = StackedSparseAutoencoderClassifier(
        (8,), max_iter=30, fine_tune_max_iter=3, tol=0.0, random_state=0
    )
    with pytest.warns(ConvergenceWarning) as record:
        clf.fit(X_train[:300], y_train[:300])
    assert clf.fine_tune_n_iter_ == 3
    assert clf.softmax_n_iter_ <= 30
    messages = [str(w.message) for w in record]
    assert any(
        "fine-tuning all layers" in m and "Increase fine_tune_max_iter (now 3)" in m
        for m in messages
    )
    assert not any("warm_start" in m for m in messages)


def test_classifier_float32_is_preserved(split):
    X_train, X_test, y_train, y_test = split
    X32 = X_train.astype(np.float32)
    clf = StackedSparseAutoencoderClassifier((24, 12), max_iter=40, random_state=0)
    fit_quietly(clf, X32, y_train)
    assert all(W.dtype == np.float32 for W in clf.coefs_)
    assert all(b.dtype == np.float32 for b in clf.intercepts_)
    assert clf.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    clf64 = StackedSparseAutoencoderClassifier((24, 12), max_iter=40, random_state=0)
    fit_quietly(clf64, X_train, y_train)
    # 40 iterations stop far from convergence, where float32's rounding moves
    # the fit by a few points of accuracy either way (0.91 to 0.96 measured);
    # a broken float32 path would fall far below.
    assert clf.score(X_test, y_test) > 0.9
    assert clf64.score(X_test, y_test) > 0.9


def test_classifier_sparse_input_gives_the_dense_result(split):
    X_train, X_test, y_train, _ = split
    params = {"hidden_layer_sizes": (10,), "max_iter": 15, "random_state": 0}
    dense = fit_quietly(
        StackedSparseAutoencoderClassifier(**params), X_train[:200], y_train[:200]
    )
    sparse = fit_quietly(
        StackedSparseAutoencoderClassifier(**params),
        sp.csr_matrix(X_train[:200]),
        y_train[:200],
    )
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X_test)),
        dense.predict_proba(X_test),
        rtol=1e-5,
        atol=1e-8,
    )


def test_verbose_names_the_stages(split, capsys):
    X_train, _, y_train, _ = split
    clf = StackedSparseAutoencoderClassifier((6, 4), max_iter=2, verbose=1)
    fit_quietly(clf, X_train[:60], y_train[:60])
    out = capsys.readouterr().out
    assert "pre-training layer 1 of 2 (64 -> 6 units)" in out
    assert "pre-training layer 2 of 2 (6 -> 4 units)" in out
    assert "training the softmax layer" in out
    assert "fine-tuning all layers" in out
    assert out.count("Iteration 1,") == 4


# MNIST -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return mnist_split(mnist_dir, n_train=2000, n_test=3000)


def test_mnist_fine_tuning_beats_pretrained_features(mnist):
    X_train, y_train, X_test, y_test = mnist
    clf = StackedSparseAutoencoderClassifier(
        (64, 32), alpha=(3e-3, 1e-4), max_iter=30, random_state=0
    )
    fit_quietly(clf, X_train, y_train)
    assert clf.coefs_[0].dtype == np.float32
    A = X_test
    for W, b in zip(
        clf.pretrained_coefs_[:-1], clf.pretrained_intercepts_[:-1], strict=True
    ):
        A = expit(A @ W + b)
    scores = A @ clf.pretrained_coefs_[-1] + clf.pretrained_intercepts_[-1]
    before = np.mean(np.argmax(scores, axis=1) == y_test)
    after = clf.score(X_test, y_test)
    # 2,000 images and 30 iterations a stage: about 0.56 before, 0.86 after.
    assert after > 0.83
    assert after > before + 0.15
