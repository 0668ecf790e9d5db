"""Early stopping on held-out data, with MLPClassifier's names and rule."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from _models import assert_identical, fitted_attributes
from sklearn.datasets import load_digits
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_sae import (
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
    _stacked,
)
from sklearn_sae._sparse_autoencoder import _BaseAutoencoder

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

EARLY = {"early_stopping": True, "n_iter_no_change": 3}


def _digits(n=600):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _autoencoders(**params):
    return [
        SparseAutoencoder(16, max_iter=300, random_state=0, **params),
        SparseAutoencoder(16, decoder="linear", max_iter=300, random_state=0, **params),
        KSparseAutoencoder(16, k=4, max_iter=300, random_state=0, **params),
    ]


def _every(**params):
    return [
        *_autoencoders(**params),
        StackedSparseAutoencoder((16, 8), max_iter=100, random_state=0, **params),
        StackedSparseAutoencoderClassifier(
            (16, 8), max_iter=100, random_state=0, **params
        ),
    ]


def _fit(model, X, y):
    if isinstance(model, StackedSparseAutoencoderClassifier):
        return model.fit(X, y)
    return model.fit(X)


@pytest.mark.parametrize("model", _autoencoders(**EARLY), ids=repr)
def test_autoencoders_keep_the_weights_of_the_best_held_out_score(model):
    X, _ = _digits()
    model.fit(X)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ == len(model.loss_curve_)
    best = int(np.argmax(scores))
    assert model.best_validation_score_ == scores[best] == max(scores)
    # The weights kept are those of the best iterate: its training loss.
    assert model.loss_ == model.loss_curve_[best]
    # It stopped on MLP's rule: n_iter_no_change + 1 iterations without an
    # improvement of tol, well before max_iter.
    assert model.n_iter_ < model.max_iter
    assert model.n_iter_ - 1 - best >= model.n_iter_no_change + 1
    # The held-out score is minus the mean reconstruction error.
    assert all(score < 0 for score in scores)


def test_held_out_score_is_the_score_of_the_held_out_rows(monkeypatch):
    X, _ = _digits()
    seen = []
    original = _BaseAutoencoder._make_objective

    def spy(self, X_train, random_state):
        seen.append(X_train.copy())
        return original(self, X_train, random_state)

    monkeypatch.setattr(_BaseAutoencoder, "_make_objective", spy)
    model = SparseAutoencoder(
        16, max_iter=40, random_state=0, validation_fraction=0.2, early_stopping=True
    ).fit(X)
    (X_train,) = seen
    # The objective sees the training part alone, 80% of the rows.
    n_val = math.ceil(0.2 * X.shape[0])
    assert X_train.shape == (X.shape[0] - n_val, 64)
    in_train = (X[:, None, :] == X_train[None, :, :]).all(axis=2).any(axis=1)
    held_out = X[~in_train]
    assert held_out.shape[0] == n_val  # the first 600 digits are distinct
    # The weights kept are those of the best score on those rows.
    assert model.best_validation_score_ == pytest.approx(
        model.score(held_out), rel=1e-12
    )


@pytest.mark.parametrize("model", _every(**EARLY), ids=repr)
def test_early_stopping_is_reproducible(model):
    X, y = _digits()
    first = fitted_attributes(_fit(model, X, y))
    second = fitted_attributes(_fit(model, X, y))
    assert_identical(first, second)


@pytest.mark.parametrize("model", _every(), ids=repr)
def test_without_early_stopping_the_attributes_are_none(model):
    X, y = _digits(300)
    _fit(model, X, y)
    assert model.validation_scores_ is None
    assert model.best_validation_score_ is None


def test_stack_layers_stop_early_on_their_own_held_out_rows():
    X, _ = _digits()
    stack = StackedSparseAutoencoder((16, 8), max_iter=300, random_state=0, **EARLY)
    stack.fit(X)
    assert len(stack.validation_scores_) == 2
    for sae, scores, best in zip(
        stack.autoencoders_,
        stack.validation_scores_,
        stack.best_validation_score_,
        strict=True,
    ):
        assert sae.early_stopping
        assert scores is sae.validation_scores_
        assert best == max(scores)
        assert sae.n_iter_ < 300
    assert stack.n_iter_ == sum(sae.n_iter_ for sae in stack.autoencoders_)


def test_classifier_scores_accuracy_on_a_stratified_split():
    X, y = _digits()
    clf = StackedSparseAutoencoderClassifier(
        (16, 8), max_iter=200, random_state=0, **EARLY
    ).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.softmax_n_iter_ + clf.fine_tune_n_iter_
    assert len(scores) == len(clf.loss_curve_)
    # Accuracies of a held-out 10%, stratified: 60 samples, 6 per class.
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(round(s * 60) == pytest.approx(s * 60) for s in scores)
    assert clf.best_validation_score_ == max(scores)
    assert clf.fine_tune_n_iter_ < 200
    # The pre-training does not stop early: only the supervised stages do.
    assert not any(sae.early_stopping for sae in clf.autoencoders_)


def test_classifier_keeps_the_best_network():
    X, y = _digits()
    clf = StackedSparseAutoencoderClassifier(
        (16, 8), max_iter=200, random_state=0, **EARLY
    ).fit(X, y)
    best = int(np.argmax(clf.validation_scores_))
    assert clf.loss_ == clf.loss_curve_[best]


def test_classifier_fine_tuning_must_beat_the_softmax_stage(monkeypatch):
    X, y = _digits()

    # Class scores that never change: the held-out accuracy is the same at
    # every iterate, so the fine-tuning never beats the softmax stage.
    def constant_scores(X, weights, biases):
        return np.zeros((X.shape[0], weights[-1].shape[0]), dtype=X.dtype)

    monkeypatch.setattr(_stacked, "forward", constant_scores)
    clf = StackedSparseAutoencoderClassifier(
        (16, 8), max_iter=200, random_state=0, early_stopping=True, n_iter_no_change=2
    ).fit(X, y)
    assert clf.fine_tune_n_iter_ == 3
    assert len(set(clf.validation_scores_)) == 1
    # The pre-trained network, with the softmax layer of the stage's first
    # iterate, is kept, and its loss.
    for kept, pretrained in zip(clf.coefs_, clf.pretrained_coefs_, strict=True):
        assert kept.tobytes() == pretrained.tobytes()
    assert clf.loss_ == clf.loss_curve_[0]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, "0.1"])
@pytest.mark.parametrize("model", _every(early_stopping=True), ids=repr)
def test_validation_fraction_outside_the_open_unit_interval(model, fraction):
    X, y = _digits(100)
    model.set_params(validation_fraction=fraction)
    with pytest.raises(InvalidParameterError, match="validation_fraction"):
        _fit(model, X, y)


@pytest.mark.parametrize("bad", [0, -1, 1.5])
@pytest.mark.parametrize("model", _every(early_stopping=True), ids=repr)
def test_n_iter_no_change_must_be_a_positive_int(model, bad):
    X, y = _digits(100)
    model.set_params(n_iter_no_change=bad)
    with pytest.raises(InvalidParameterError, match="n_iter_no_change"):
        _fit(model, X, y)


@pytest.mark.parametrize("model", _every(early_stopping=True), ids=repr)
def test_too_few_samples_to_hold_out(model):
    X, y = _digits(10)
    with pytest.raises(ValueError, match="at least 2 held-out samples"):
        _fit(model, X, y)


def test_too_few_training_samples():
    X, _ = _digits(3)
    with pytest.raises(ValueError, match="1 training sample"):
        SparseAutoencoder(4, early_stopping=True, validation_fraction=0.9).fit(X)


def test_classifier_class_too_small_to_stratify():
    X, y = _digits(200)
    y = y.copy()
    y[0] = 99  # a class of one sample
    with pytest.raises(ValueError, match="class 99 has 1 sample"):
        StackedSparseAutoencoderClassifier((8,), early_stopping=True).fit(X, y)


def test_classifier_held_out_part_smaller_than_the_classes():
    X, y = _digits(60)
    with pytest.raises(ValueError, match=r"as many held-out and training samples"):
        StackedSparseAutoencoderClassifier(
            (8,), early_stopping=True, validation_fraction=0.1
        ).fit(X, y)


def test_sparse_and_float32_input():
    X, _ = _digits()
    for data in (sp.csr_matrix(X), X.astype(np.float32)):
        model = SparseAutoencoder(16, max_iter=200, random_state=0, **EARLY).fit(data)
        assert model.components_.dtype == data.dtype
        assert model.best_validation_score_ == max(model.validation_scores_)


def test_input_is_not_modified():
    X, y = _digits()
    copy_X, copy_y = X.copy(), y.copy()
    for model in _every(**EARLY):
        _fit(model, X, y)
    assert X.tobytes() == copy_X.tobytes()
    assert y.tobytes() == copy_y.tobytes()
