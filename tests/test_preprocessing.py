"""ZCA whitening and patch normalisation of sklearn_sae.preprocessing."""

import itertools

import numpy as np
import pytest
from _models import ZCA_ATTRIBUTES
from sklearn.datasets import load_sample_images
from sklearn.feature_extraction.image import extract_patches_2d
from threadpoolctl import threadpool_limits

from sklearn_sae.preprocessing import ZCAWhitener, normalize_patches


@pytest.fixture(scope="module")
def correlated():
    """Full-rank data with correlated features of different scales, off-centre."""
    rng = np.random.RandomState(0)
    mixing = rng.normal(size=(6, 6)) * np.array([3.0, 2.0, 1.0, 0.5, 0.3, 0.2])
    return rng.normal(size=(2000, 6)) @ mixing + rng.uniform(-5, 5, size=6)


@pytest.fixture(scope="module")
def patches():
    """2000 grey-level 8 x 8 patches of scikit-learn's two sample photographs."""
    images = load_sample_images().images
    return np.vstack(
        [
            extract_patches_2d(
                image.mean(axis=2), (8, 8), max_patches=1000, random_state=seed
            ).reshape(1000, 64)
            for seed, image in enumerate(images)
        ]
    )


def _covariance(X):
    Xc = X - X.mean(axis=0)
    return Xc.T @ Xc / X.shape[0]


# ZCAWhitener ---------------------------------------------------------------


def test_whitened_covariance_tends_to_identity(correlated):
    s = ZCAWhitener(epsilon=0.0).fit(correlated).explained_variance_
    errors = []
    for epsilon in [1.0, 1e-2, 1e-4, 1e-8, 0.0]:
        zca = ZCAWhitener(epsilon=epsilon).fit(correlated)
        X_white = zca.transform(correlated)
        np.testing.assert_allclose(X_white.mean(axis=0), 0.0, atol=1e-12)
        cov = _covariance(X_white)
        # Exactly U diag(s / (s + epsilon)) U^T, so at most epsilon / (s_min +
        # epsilon) away from the identity, and that far in the last direction.
        U = zca.components_.T
        np.testing.assert_allclose(
            cov, (U * (s / (s + epsilon))) @ U.T, rtol=1e-9, atol=1e-12
        )
        error = np.abs(cov - np.eye(6)).max()
        bound = epsilon / (s[-1] + epsilon)
        assert error <= bound + 1e-12
        errors.append(error)
    assert errors[0] > 0.01  # epsilon = 1 is far from white on this data
    assert all(a > b for a, b in itertools.pairwise(errors[:-1]))
    assert errors[-1] < 1e-12


def test_whitening_matrix_of_a_rotated_ellipse():
    # Samples on the axes of an ellipse: mean 0, covariance diag(0.5, 2) (the
    # tutorial divides by m), then rotated by 30 degrees.
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    angle = np.pi / 6
    R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    offset = np.array([3.0, -1.0])
    zca = ZCAWhitener(epsilon=0.1).fit(X @ R.T + offset)

    np.testing.assert_allclose(zca.mean_, offset, atol=1e-15)
    np.testing.assert_allclose(zca.explained_variance_, [2.0, 0.5], rtol=1e-14)
    expected = R @ np.diag(1 / np.sqrt([0.5 + 0.1, 2.0 + 0.1])) @ R.T
    np.testing.assert_allclose(zca.whitening_, expected, rtol=1e-14)
    expected_inverse = R @ np.diag(np.sqrt([0.5 + 0.1, 2.0 + 0.1])) @ R.T
    np.testing.assert_allclose(zca.dewhitening_, expected_inverse, rtol=1e-14)
    # The first principal axis is the rotated second coordinate axis.
    np.testing.assert_allclose(np.abs(zca.components_[0]), np.abs(R[:, 1]))


def test_whitening_matrix_matches_tutorial_code():
    # The tutorial's MATLAB, with samples in columns:
    #   x = x - repmat(mean(x, 2), 1, m); sigma = x * x' / m;
    #   [u, s, v] = svd(sigma); W = u * diag(1 ./ sqrt(diag(s) + epsilon)) * u';
    rng = np.random.RandomState(1)
    X = rng.uniform(size=(7, 4)) @ rng.normal(size=(4, 4))
    x = (X - X.mean(axis=0)).T
    u, s, _ = np.linalg.svd(x @ x.T / x.shape[1])
    W = u @ np.diag(1 / np.sqrt(s + 0.1)) @ u.T

    zca = ZCAWhitener(epsilon=0.1).fit(X)
    np.testing.assert_allclose(zca.whitening_, W, rtol=1e-12)
    np.testing.assert_allclose(zca.explained_variance_, s, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(zca.transform(X), (W @ x).T, rtol=1e-12, atol=1e-14)
    # The rows of components_ are orthonormal eigenvectors, in order.
    np.testing.assert_allclose(
        zca.components_ @ zca.components_.T, np.eye(4), atol=1e-14
    )
    np.testing.assert_allclose(np.abs(zca.components_), np.abs(u.T), atol=1e-12)
    # Signs are fixed: the largest entry of each eigenvector is positive.
    largest = np.argmax(np.abs(zca.components_), axis=1)
    assert np.all(zca.components_[np.arange(4), largest] > 0)
    assert np.all(ZCAWhitener().fit(-X).components_[np.arange(4), largest] > 0)
    assert np.all(np.diff(zca.explained_variance_) <= 0)


def test_transform_and_inverse_transform_formulas(correlated):
    zca = ZCAWhitener(epsilon=0.05).fit(correlated[:1500])
    X_new = correlated[1500:]
    X_white = zca.transform(X_new)
    np.testing.assert_allclose(X_white, (X_new - zca.mean_) @ zca.whitening_)
    np.testing.assert_allclose(
        zca.inverse_transform(X_white), X_white @ zca.dewhitening_ + zca.mean_
    )
    np.testing.assert_allclose(zca.whitening_ @ zca.dewhitening_, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(
        zca.fit_transform(correlated[:1500]), zca.transform(correlated[:1500])
    )


@pytest.mark.parametrize("epsilon", [0.1, 1e-6, 0.0])
def test_inverse_transform_undoes_transform(correlated, epsilon):
    zca = ZCAWhitener(epsilon=epsilon).fit(correlated)
    X_back = zca.inverse_transform(zca.transform(correlated))
    np.testing.assert_allclose(X_back, correlated, rtol=1e-12, atol=1e-12)

    X32 = correlated.astype(np.float32)
    zca32 = ZCAWhitener(epsilon=epsilon).fit(X32)
    X_back32 = zca32.inverse_transform(zca32.transform(X32))
    assert X_back32.dtype == np.float32
    np.testing.assert_allclose(X_back32, X32, rtol=1e-5, atol=1e-4)


def test_float32_is_preserved(correlated):
    X32 = correlated.astype(np.float32)
    zca32 = ZCAWhitener().fit(X32)
    zca64 = ZCAWhitener().fit(correlated)
    for name in ZCA_ATTRIBUTES:
        assert getattr(zca32, name).dtype == np.float32
        assert getattr(zca64, name).dtype == np.float64
        np.testing.assert_allclose(
            np.abs(getattr(zca32, name)),
            np.abs(getattr(zca64, name)),
            rtol=1e-4,
            atol=1e-5,
        )
    X_white32 = zca32.transform(X32)
    assert X_white32.dtype == np.float32
    np.testing.assert_allclose(X_white32, zca64.transform(correlated), atol=1e-4)
    # The output follows the dtype of the data, not of the fit.
    assert zca32.transform(correlated).dtype == np.float64
    assert zca64.transform(X32).dtype == np.float32
    assert zca64.inverse_transform(X_white32).dtype == np.float32


def test_integer_and_list_input_is_whitened_in_float64():
    X = np.random.RandomState(0).randint(0, 10, size=(50, 4))
    zca = ZCAWhitener().fit(X)
    assert zca.whitening_.dtype == np.float64
    X_white = zca.transform(X.tolist())
    assert X_white.dtype == np.float64
    np.testing.assert_allclose(X_white, (X - X.mean(axis=0)) @ zca.whitening_)


def test_zca_is_the_symmetric_whitening_closest_to_its_input(correlated):
    zca = ZCAWhitener(epsilon=0.0).fit(correlated)
    np.testing.assert_array_equal(zca.whitening_, zca.whitening_.T)
    np.testing.assert_array_equal(zca.dewhitening_, zca.dewhitening_.T)
    assert np.all(np.linalg.eigvalsh(zca.whitening_) > 0)

    Xc = correlated - zca.mean_
    zca_white = zca.transform(correlated)
    # PCA whitening and randomly rotated ZCA whitening whiten as well...
    s, U = zca.explained_variance_, zca.components_.T
    pca_white = Xc @ U / np.sqrt(s)
    rng = np.random.RandomState(0)
    rotations = [np.linalg.qr(rng.normal(size=(6, 6)))[0] for _ in range(5)]
    others = [pca_white] + [zca_white @ Q for Q in rotations]
    for other in others:
        np.testing.assert_allclose(_covariance(other), np.eye(6), atol=1e-10)
    # ...but ZCA's output is the one nearest to the centred input.
    distance = np.sum((zca_white - Xc) ** 2)
    for other in others:
        assert distance < np.sum((other - Xc) ** 2)


def test_whitened_patches_stay_spatially_aligned(patches):
    X = normalize_patches(patches)
    Xc = X - X.mean(axis=0)
    zca = ZCAWhitener(epsilon=0.01).fit(X)
    s, U = zca.explained_variance_, zca.components_.T

    def aligned(X_white):
        # Whitened pixel j correlates most with input pixel j.
        corr = (X_white / X_white.std(axis=0)).T @ (Xc / Xc.std(axis=0)) / len(X)
        return np.argmax(np.abs(corr), axis=1) == np.arange(64)

    assert np.all(aligned(zca.transform(X)))
    # PCA whitening loses the pixel layout.
    assert np.mean(aligned(Xc @ U / np.sqrt(s + 0.01))) < 0.2

    # Neighbouring pixels are correlated in the input, much less once
    # whitened, and not at all with epsilon=0.
    def neighbour_correlation(Z):
        corr = np.corrcoef(Z, rowvar=False)
        left = [8 * row + col for row in range(8) for col in range(7)]
        return np.mean(corr[left, np.add(left, 1)])

    assert neighbour_correlation(X) > 0.4
    assert neighbour_correlation(zca.transform(X)) < 0.25
    X_white = ZCAWhitener(epsilon=0.0).fit_transform(X)
    assert abs(neighbour_correlation(X_white)) < 1e-8


def test_copy_false_whitens_in_place(correlated):
    X = correlated.copy()
    zca = ZCAWhitener(copy=False).fit(X)
    np.testing.assert_array_equal(X, correlated)  # fit leaves X alone
    expected = ZCAWhitener().fit(correlated).transform(correlated)
    X_white = zca.transform(X)
    assert X_white is X
    np.testing.assert_allclose(X, expected, rtol=1e-12, atol=1e-12)
    X_back = zca.inverse_transform(X)
    assert X_back is X
    np.testing.assert_allclose(X, correlated, rtol=1e-12, atol=1e-12)

    # copy=True (the default) leaves the input untouched.
    X = correlated.copy()
    zca = ZCAWhitener().fit(X)
    zca.inverse_transform(zca.transform(X))
    np.testing.assert_array_equal(X, correlated)

    # A read-only array is whitened into a new one even with copy=False.
    X.setflags(write=False)
    np.testing.assert_allclose(ZCAWhitener(copy=False).fit(X).transform(X), expected)


def test_feature_names_pass_through():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.RandomState(0).normal(size=(20, 3)), columns=list("abc"))
    zca = ZCAWhitener().fit(X)
    np.testing.assert_array_equal(zca.feature_names_in_, ["a", "b", "c"])
    np.testing.assert_array_equal(zca.get_feature_names_out(), ["a", "b", "c"])
    out = zca.set_output(transform="pandas").transform(X)
    assert list(out.columns) == ["a", "b", "c"]


def test_results_do_not_depend_on_the_number_of_blas_threads(patches):
    # Some OpenBLAS builds (those of NumPy 1.x's wheels) round the products and
    # the eigendecomposition differently with 1, 2 or 4 threads; the fitted
    # whitener and what it computes must be the same bit for bit.
    results = []
    for n_threads in (1, 2, 4):
        with threadpool_limits(limits=n_threads, user_api="blas"):
            zca = ZCAWhitener().fit(patches)
            X_white = zca.transform(patches)
            X_back = zca.inverse_transform(X_white)
        results.append([zca.components_, zca.whitening_, X_white, X_back])
    for result in results[1:]:
        for a, b in zip(result, results[0], strict=True):
            assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    "X",
    [
        pytest.param(np.random.RandomState(0).normal(size=(4, 6)), id="fewer_samples"),
        pytest.param(
            np.random.RandomState(0).normal(size=(6, 6)), id="n_features_samples"
        ),
        pytest.param(
            np.repeat(np.random.RandomState(0).normal(size=(30, 2)), 2, axis=1),
            id="repeated_feature",
        ),
        pytest.param(
            np.column_stack(
                [np.random.RandomState(0).normal(size=(30, 2)), np.ones(30)]
            ),
            id="constant_feature",
        ),
    ],
)
def test_epsilon_zero_needs_full_rank_data(X):
    with pytest.raises(ValueError, match=r"epsilon=0\.0.*full rank"):
        ZCAWhitener(epsilon=0.0).fit(X)
    # Regularised, the same data whiten to finite values.
    zca = ZCAWhitener(epsilon=0.1).fit(X)
    assert np.all(np.isfinite(zca.whitening_))
    np.testing.assert_allclose(zca.inverse_transform(zca.transform(X)), X, atol=1e-12)


def test_constant_data_and_one_sample():
    X = np.full((5, 3), 2.0)
    zca = ZCAWhitener().fit(X)
    np.testing.assert_array_equal(zca.explained_variance_, 0.0)
    np.testing.assert_allclose(zca.whitening_, np.eye(3) / np.sqrt(0.1))
    np.testing.assert_allclose(zca.transform(X), 0.0)
    with pytest.raises(ValueError, match="epsilon"):
        ZCAWhitener(epsilon=0.0).fit(X[:1])


# normalize_patches ---------------------------------------------------------


def _normalize_reference(X, n_std=3.0):
    """sampleIMAGES.m's normalizeData, with patches in rows."""
    X = X - X.mean(axis=1, keepdims=True)
    pstd = n_std * np.std(X.ravel(), ddof=1)  # MATLAB's std(patches(:))
    X = np.maximum(np.minimum(X, pstd), -pstd) / pstd
    return (X + 1) * 0.4 + 0.1


@pytest.fixture(scope="module")
def heavy_tailed():
    """Patches with brightness offsets and heavy-tailed pixel values."""
    rng = np.random.RandomState(0)
    return rng.standard_t(df=3, size=(500, 16)) + rng.uniform(0, 100, size=(500, 1))


@pytest.mark.parametrize("n_std", [3.0, 1.0, 0.5])
def test_normalize_patches_matches_the_tutorial(heavy_tailed, n_std):
    Y = normalize_patches(heavy_tailed, n_std=n_std)
    np.testing.assert_allclose(Y, _normalize_reference(heavy_tailed, n_std), rtol=1e-12)
    assert Y.dtype == np.float64
    assert Y.min() >= 0.1
    assert Y.max() <= 0.9


def test_normalize_patches_removes_each_patch_mean(heavy_tailed):
    X = heavy_tailed
    Xc = X - X.mean(axis=1, keepdims=True)
    # Without truncation the map is affine, so each patch's mean becomes 0.5.
    Y = normalize_patches(X, n_std=1e6)
    np.testing.assert_allclose(Y.mean(axis=1), 0.5, rtol=1e-12)
    # Undoing the rescaling (X + pstd) / pstd * 0.4 + 0.1 gives back the
    # mean-free patches wherever they were not truncated.
    n_std = 3.0
    pstd = n_std * np.std(Xc, ddof=1)
    Y = normalize_patches(X, n_std=n_std)
    T = (Y - 0.1) / 0.4 * pstd - pstd
    inside = np.abs(Xc) < pstd
    np.testing.assert_allclose(T[inside], Xc[inside], rtol=1e-10, atol=1e-10)
    # The brightness of a patch does not matter.
    shifted = X + np.arange(len(X))[:, None]
    np.testing.assert_allclose(normalize_patches(shifted), Y, atol=1e-12)


def test_normalize_patches_truncates_at_n_std(heavy_tailed):
    Xc = heavy_tailed - heavy_tailed.mean(axis=1, keepdims=True)
    sigma = np.std(Xc, ddof=1)
    fractions = []
    for n_std in [3.0, 1.0]:
        Y = normalize_patches(heavy_tailed, n_std=n_std)
        above = Xc >= n_std * sigma
        below = Xc <= -n_std * sigma
        assert above.any()
        assert below.any()
        np.testing.assert_allclose(Y[above], 0.9)
        np.testing.assert_allclose(Y[below], 0.1)
        inner = Y[~(above | below)]
        assert inner.min() > 0.1
        assert inner.max() < 0.9
        fractions.append(np.mean(above | below))
    assert fractions[0] < 0.05 < fractions[1]


def test_normalize_patches_float32_and_copy(heavy_tailed):
    X32 = heavy_tailed.astype(np.float32)
    Y32 = normalize_patches(X32)
    assert Y32.dtype == np.float32
    assert Y32.min() >= np.float32(0.1)
    assert Y32.max() <= np.float32(0.9)
    np.testing.assert_allclose(Y32, normalize_patches(heavy_tailed), atol=1e-5)
    np.testing.assert_array_equal(X32, heavy_tailed.astype(np.float32))  # untouched

    Y = normalize_patches(X32, copy=False)
    assert Y is X32
    np.testing.assert_array_equal(Y, Y32)
    assert normalize_patches(np.arange(12).reshape(3, 4)).dtype == np.float64


def test_normalize_patches_constant_patches():
    X = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0], [5.0, 5.0, 5.0]])
    Y = normalize_patches(X)
    np.testing.assert_allclose(Y[[0, 2]], 0.5)
    np.testing.assert_allclose(Y[1].mean(), 0.5)
    # When every patch is flat there is no spread to scale by.
    np.testing.assert_array_equal(normalize_patches(X[[0, 2]]), 0.5)
    np.testing.assert_array_equal(normalize_patches([[7.0]]), 0.5)


def test_normalize_real_image_patches(patches):
    Y = normalize_patches(patches)
    assert Y.shape == (2000, 64)
    assert Y.min() >= 0.1
    assert Y.max() <= 0.9
    np.testing.assert_allclose(Y, _normalize_reference(patches), rtol=1e-12)
    # Natural images are heavy-tailed: a few percent of the pixels lie beyond
    # three standard deviations (a Gaussian would have 0.27%).
    truncated = np.mean((Y == 0.1) | (Y == 0.9))
    assert 0.005 < truncated < 0.05
    assert Y.mean() == pytest.approx(0.5, abs=0.01)
    # Untruncated, the spread is 0.4 / n_std around 0.5.
    assert np.std(normalize_patches(patches, n_std=1e3), ddof=1) == pytest.approx(
        0.4e-3, rel=1e-6
    )
