"""FilterDisplay and tile_filters, drawn with matplotlib's Agg backend."""

import numpy as np
import pytest
from _models import fit_quietly
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sklearn_sae import (
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
    ZCAWhitener,
)
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


def _unit_rows(W):
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def test_pipeline_folds_the_whitening_into_the_filters(images):
    pipe = fit_quietly(
        make_pipeline(
            ZCAWhitener(epsilon=0.1),
            SparseAutoencoder(6, decoder="linear", max_iter=10, random_state=0),
            LogisticRegression(),
        ),
        images,
        (images[:, 20] > 0.5).astype(int),
    )
    zca, sae = pipe[0], pipe[1]
    display = FilterDisplay.from_estimator(pipe, image_shape=(8, 8))
    np.testing.assert_allclose(
        display.filters, _unit_rows(sae.components_ @ zca.whitening_), rtol=1e-10
    )


@pytest.mark.parametrize("scaler", [MinMaxScaler(), StandardScaler(), "passthrough"])
def test_pipeline_folds_the_scalers_into_the_filters(images, scaler):
    X = images * 16.0
    pipe = fit_quietly(
        make_pipeline(
            scaler, SparseAutoencoder(6, decoder="linear", max_iter=5, random_state=0)
        ),
        X,
    )
    W = pipe[-1].components_
    if scaler != "passthrough":
        transformed = pipe[0].transform(X)
        # The filters in input space give the same pre-activations, up to a
        # constant per unit.
        shown = FilterDisplay.from_estimator(pipe, image_shape=(8, 8)).filters
        scale = np.linalg.norm(W @ np.diag(_scale(pipe[0])), axis=1)
        np.testing.assert_allclose(
            np.diff(X @ shown.T * scale, axis=0),
            np.diff(transformed @ W.T, axis=0),
            rtol=1e-7,
            atol=1e-9,
        )
    else:
        shown = FilterDisplay.from_estimator(pipe, image_shape=(8, 8)).filters
        np.testing.assert_allclose(shown, _unit_rows(W), rtol=1e-12)


def _scale(scaler):
    if isinstance(scaler, MinMaxScaler):
        return scaler.scale_
    return 1.0 / scaler.scale_


def test_stack_layers_are_projected_to_input_space(images):
    stack = fit_quietly(
        StackedSparseAutoencoder((12, 9, 4), max_iter=5, random_state=0), images
    )
    W0, W1, W2 = (sae.components_ for sae in stack.autoencoders_)
    for layer, expected in [(None, W0), (0, W0), (1, W1 @ W0), (2, W2 @ W1 @ W0)]:
        display = FilterDisplay.from_estimator(stack, image_shape=(8, 8), layer=layer)
        np.testing.assert_allclose(display.filters, _unit_rows(expected), rtol=1e-10)


def test_classifier_shows_the_fine_tuned_weights(images):
    y = load_digits().target
    clf = fit_quietly(
        StackedSparseAutoencoderClassifier((12, 9), max_iter=5, random_state=0),
        images,
        y,
    )
    display = FilterDisplay.from_estimator(clf, image_shape=(8, 8), layer=1)
    expected = clf.coefs_[1].T @ clf.coefs_[0].T
    np.testing.assert_allclose(display.filters, _unit_rows(expected), rtol=1e-10)
    pipe = make_pipeline(MinMaxScaler(), clf)
    fit_quietly(pipe, images, y)
    assert FilterDisplay.from_estimator(pipe, image_shape=(8, 8)).filters.shape == (
        12,
        64,
    )


def test_imshow_keywords_pass_through(fitted):
    display = FilterDisplay.from_estimator(
        fitted, image_shape=(8, 8), cmap="viridis", vmin=-0.5, alpha=0.5
    )
    assert display.image_.get_alpha() == 0.5
    assert display.image_.get_clim() == (-0.5, 1.0)
    assert display.image_.get_cmap().name == "viridis"


@pytest.mark.parametrize("layer", [-1, 2, 1.0, "0"])
def test_bad_layer(images, layer):
    stack = fit_quietly(
        StackedSparseAutoencoder((6, 4), max_iter=3, random_state=0), images
    )
    with pytest.raises(ValueError, match="layer must be an int from 0 to 1"):
        FilterDisplay.from_estimator(stack, image_shape=(8, 8), layer=layer)


def test_layer_is_for_stacks(fitted):
    with pytest.raises(ValueError, match="layer is for the stacks"):
        FilterDisplay.from_estimator(fitted, image_shape=(8, 8), layer=1)


def test_pipeline_errors(images):
    unfitted = make_pipeline(MinMaxScaler(), SparseAutoencoder(4))
    with pytest.raises(NotFittedError):
        FilterDisplay.from_estimator(unfitted, image_shape=(8, 8))
    no_autoencoder = make_pipeline(MinMaxScaler(), PCA(4)).fit(images)
    with pytest.raises(ValueError, match="needs a pipeline with an autoencoder"):
        FilterDisplay.from_estimator(no_autoencoder, image_shape=(8, 8))
    unsupported = fit_quietly(
        make_pipeline(PCA(10), SparseAutoencoder(4, decoder="linear", max_iter=3)),
        images,
    )
    with pytest.raises(ValueError, match=r"step 'pca' \(PCA\) before"):
        FilterDisplay.from_estimator(unsupported, image_shape=(8, 8))
    zca = fit_quietly(
        make_pipeline(
            ZCAWhitener(), SparseAutoencoder(4, decoder="linear", max_iter=3)
        ),
        images,
    )
    with pytest.raises(ValueError, match="folded into the filters already"):
        FilterDisplay.from_estimator(zca, image_shape=(8, 8), whitening=zca[0])
    unfitted_stack = StackedSparseAutoencoder((4,))
    with pytest.raises(NotFittedError):
        FilterDisplay.from_estimator(unfitted_stack, image_shape=(8, 8))
