"""FilterDisplay and tile_filters, drawn with matplotlib's Agg backend."""

import numpy as np
import pytest
from _models import fit_quietly
from sklearn.exceptions import NotFittedError

from sklearn_sae import KSparseAutoencoder, SparseAutoencoder, ZCAWhitener
from sklearn_sae.plotting import FilterDisplay, tile_filters

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def images(digits):
    """The digits' pixels, without the labels."""
    return digits[0]


@pytest.fixture(scope="module")
def fitted(images):
    sae = SparseAutoencoder(n_components=10, max_iter=20, random_state=0)
    return fit_quietly(sae, images)


def _tile(mosaic, index, n_cols, height, width, border=1):
    row, col = divmod(index, n_cols)
    top = border + row * (height + border)
    left = border + col * (width + border)
    return mosaic[top : top + height, left : left + width]


def test_grayscale_mosaic_layout_and_contrast():
    filters = np.random.RandomState(0).standard_normal((10, 12))
    mosaic = tile_filters(filters, (3, 4))
    # ceil(sqrt(10)) = 4 columns, 3 rows of 3x4 tiles with 1-pixel borders.
    assert mosaic.shape == (3 * 4 + 1, 4 * 5 + 1)
    centred = filters - filters.mean()
    for index in range(10):
        tile = _tile(mosaic, index, 4, 3, 4)
        expected = centred[index] / np.abs(centred[index]).max()
        np.testing.assert_allclose(tile, expected.reshape(3, 4))
        assert np.abs(tile).max() == pytest.approx(1.0)
    # Borders and the two unused tiles are the darkest value.
    np.testing.assert_array_equal(mosaic[0], -1.0)
    np.testing.assert_array_equal(_tile(mosaic, 11, 4, 3, 4), -1.0)


def test_rgb_tiles_are_stretched_to_the_unit_interval():
    filters = np.random.RandomState(1).standard_normal((5, 2 * 2 * 3))
    mosaic = tile_filters(filters, (2, 2, 3), n_cols=5, border=2)
    assert mosaic.shape == (2 + 2 + 2, 5 * 4 + 2, 3)
    for index in range(5):
        tile = _tile(mosaic, index, 5, 2, 2, border=2)
        assert tile.min() == pytest.approx(0.0)
        assert tile.max() == pytest.approx(1.0)
        # The channels follow a C-ordered (height, width, 3) image.
        centred = filters[index] - filters.mean()
        order = np.argsort(centred)
        np.testing.assert_array_equal(np.argsort(tile.ravel()), order)


def test_constant_filter_gives_a_flat_tile_not_nan():
    filters = np.zeros((2, 4))
    filters[1] = np.arange(4.0)
    mosaic = tile_filters(filters, (2, 2))
    assert np.all(np.isfinite(mosaic))


@pytest.mark.parametrize(
    ("image_shape", "match"),
    [((8, 9), "holds 72 values"), ((4, 4, 4), "RGB"), ((64,), "height, width")],
)
def test_image_shape_must_match_the_filters(image_shape, match):
    with pytest.raises(ValueError, match=match):
        tile_filters(np.ones((3, 64)), image_shape)


def test_from_estimator_draws_unit_norm_filters(fitted):
    display = FilterDisplay.from_estimator(fitted, image_shape=(8, 8))
    W = fitted.components_
    expected = W / np.linalg.norm(W, axis=1, keepdims=True)
    np.testing.assert_allclose(display.filters, expected)
    np.testing.assert_allclose(np.linalg.norm(display.filters, axis=1), 1.0)
    assert display.mosaic_.shape == (3 * 9 + 1, 4 * 9 + 1)  # 10 tiles: 4 x 3
    assert display.figure_ is display.ax_.figure
    np.testing.assert_array_equal(display.image_.get_array(), display.mosaic_)
    assert display.image_.get_cmap().name == "gray"
    assert len(display.ax_.images) == 1


def test_from_estimator_draws_on_given_axes(fitted):
    fig, (left, right) = plt.subplots(1, 2)
    display = FilterDisplay.from_estimator(
        fitted, image_shape=(8, 8), n_cols=5, ax=right, cmap="viridis"
    )
    assert display.ax_ is right
    assert display.figure_ is fig
    assert not left.images
    assert display.mosaic_.shape == (2 * 9 + 1, 5 * 9 + 1)
    assert display.image_.get_cmap().name == "viridis"


def test_whitening_maps_the_filters_back_to_image_space(images):
    zca = ZCAWhitener(epsilon=0.1).fit(images)
    sae = SparseAutoencoder(
        n_components=6, decoder="linear", max_iter=10, random_state=0
    )
    fit_quietly(sae, zca.transform(images))
    for whitening in (zca, zca.whitening_):
        display = FilterDisplay.from_estimator(
            sae, image_shape=(8, 8), whitening=whitening
        )
        expected = sae.components_ @ zca.whitening_
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)
        np.testing.assert_allclose(display.filters, expected, rtol=1e-6)


def test_whitening_of_the_wrong_shape_is_named(fitted):
    with pytest.raises(ValueError, match="whitening must be of shape"):
        FilterDisplay.from_estimator(fitted, image_shape=(8, 8), whitening=np.eye(3))


def test_unfitted_estimator_is_refused():
    with pytest.raises(NotFittedError):
        FilterDisplay.from_estimator(SparseAutoencoder(), image_shape=(8, 8))


def test_any_autoencoder_with_components(images):
    ksae = KSparseAutoencoder(n_components=9, k=3, max_iter=5, random_state=0)
    fit_quietly(ksae, images)
    display = FilterDisplay.from_estimator(ksae, image_shape=(8, 8))
    assert display.mosaic_.shape == (3 * 9 + 1, 3 * 9 + 1)


def test_plot_from_the_constructor():
    filters = np.random.RandomState(2).standard_normal((4, 27))
    display = FilterDisplay(filters, image_shape=(3, 3, 3)).plot()
    assert display.mosaic_.shape == (2 * 4 + 1, 2 * 4 + 1, 3)
    assert display.image_.get_array().shape == display.mosaic_.shape
