"""score_samples: each sample's reconstruction error, for novelty detection."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from sklearn_sae import (
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    _rows,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _models():
    return {
        "sae": SparseAutoencoder(16, max_iter=30, random_state=0),
        "sae-linear": SparseAutoencoder(
            16, decoder="linear", max_iter=30, random_state=0
        ),
        "k-sparse": KSparseAutoencoder(16, k=4, max_iter=30, random_state=0),
        "stacked": StackedSparseAutoencoder((16, 8), max_iter=20, random_state=0),
    }


@pytest.fixture(scope="module", params=list(_models()))
def fitted(request):
    X, _ = _digits()
    return _models()[request.param].fit(X[:500])


def _reference(model, X):
    """Minus half the squared error of each row, all rows at once."""
    X_hat = model.inverse_transform(model.transform(X))
    return -0.5 * ((X_hat - X) ** 2).sum(axis=1)


def test_score_samples_is_minus_each_samples_reconstruction_error(fitted):
    X, _ = _digits()
    scores = fitted.score_samples(X)
    assert scores.shape == (X.shape[0],)
    assert scores.dtype == np.float64
    assert np.all(scores <= 0)
    np.testing.assert_allclose(scores, _reference(fitted, X), rtol=1e-12)
    assert fitted.score(X) == pytest.approx(scores.mean(), rel=1e-12)


def test_float32_in_float32_out(fitted):
    X, _ = _digits()
    X32 = X.astype(np.float32)
    scores = fitted.score_samples(X32)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, fitted.score_samples(X), rtol=1e-4, atol=1e-5)
    assert fitted.score(X32) == pytest.approx(scores.mean(), rel=1e-6)


def test_sparse_input_gives_the_dense_scores(fitted):
    X, _ = _digits()
    np.testing.assert_allclose(
        fitted.score_samples(sp.csr_matrix(X)), fitted.score_samples(X), rtol=1e-12
    )


def test_large_input_is_processed_in_blocks(fitted, monkeypatch):
    X, _ = _digits()
    whole = fitted.score_samples(X)
    calls = []
    target = type(fitted)
    method = "transform" if isinstance(fitted, StackedSparseAutoencoder) else None
    if method is None:
        original = target._reconstruct

        def spy(self, block, *weights):
            calls.append(block.shape[0])
            return original(self, block, *weights)

        monkeypatch.setattr(target, "_reconstruct", spy)
    else:
        original = target.transform

        def spy(self, block):
            calls.append(block.shape[0])
            return original(self, block)

        monkeypatch.setattr(target, "transform", spy)
    # 64 features * 8 bytes * 100 rows: blocks of at most 100 rows.
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 64 * 8 * 100)
    blocked = fitted.score_samples(X)
    assert len(calls) == 18
    assert max(calls) == 100
    assert sum(calls) == X.shape[0]
    np.testing.assert_allclose(blocked, whole, rtol=1e-12)
    for sparse in (False, True):
        calls.clear()
        data = sp.csr_matrix(X) if sparse else X
        np.testing.assert_allclose(fitted.score_samples(data), whole, rtol=1e-12)
        assert len(calls) == 18


def test_training_class_scores_higher_than_the_others():
    X, y = _digits()
    for model in _models().values():
        model.fit(X[y == 0])
        scores = model.score_samples(X)
        assert np.median(scores[y == 0]) > np.median(scores[y != 0])


def test_bad_input(fitted):
    X, _ = _digits()
    with pytest.raises(ValueError, match="features"):
        fitted.score_samples(X[:, :10])
    bad = X.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fitted.score_samples(bad)
    with pytest.raises(ValueError, match="None"):
        fitted.score_samples(None)
    with pytest.raises(NotFittedError):
        type(fitted)().score_samples(X)


def test_input_is_not_modified(fitted):
    X, _ = _digits()
    X32 = X.astype(np.float32)
    copy = X32.copy()
    fitted.score_samples(X32)
    assert X32.tobytes() == copy.tobytes()
