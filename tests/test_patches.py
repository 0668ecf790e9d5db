"""Natural-image patches and the whitening of images."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.datasets import load_sample_images
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_sae.datasets import load_natural_image_patches, whiten_image


@pytest.fixture(scope="module")
def images():
    return [image / 255.0 for image in load_sample_images().images]


def test_default_patches_are_the_tutorials():
    X = load_natural_image_patches(2000, random_state=0)
    assert X.shape == (2000, 64)
    assert X.dtype == np.float64
    assert X.min() >= 0.1
    assert X.max() <= 0.9
    # Mean removal puts every patch's mean near the middle of the range.
    assert abs(float(np.median(X.mean(axis=1))) - 0.5) < 0.02
    np.testing.assert_array_equal(X, load_natural_image_patches(2000, random_state=0))
    assert not np.array_equal(X, load_natural_image_patches(2000, random_state=1))


def test_raw_colour_patches_are_pieces_of_the_images(images):
    X = load_natural_image_patches(
        3, patch_size=5, color=True, whiten=False, normalize=False, random_state=0
    )
    assert X.shape == (3, 75)
    assert X.min() >= 0.0
    assert X.max() <= 1.0
    for patch in X:
        found = False
        for image in images:
            windows = sliding_window_view(image, (5, 5, 3))[:, :, 0]
            found |= bool(
                np.any(np.all(windows == patch.reshape(5, 5, 3), axis=(2, 3, 4)))
            )
        assert found


def test_raw_grayscale_patches_average_the_channels(images):
    X = load_natural_image_patches(
        2, patch_size=4, whiten=False, normalize=False, random_state=3
    )
    gray = [image.mean(axis=2) for image in images]
    for patch in X:
        assert any(
            np.any(
                np.all(
                    sliding_window_view(g, (4, 4)) == patch.reshape(4, 4),
                    axis=(2, 3),
                )
            )
            for g in gray
        )


def test_whitening_makes_the_patches_less_correlated():
    raw = load_natural_image_patches(
        3000, normalize=False, whiten=False, random_state=0
    )
    white = load_natural_image_patches(3000, normalize=False, random_state=0)

    def correlation(X, distance):
        pixels = X.reshape(-1, 8, 8)
        return np.corrcoef(pixels[:, :, 2].ravel(), pixels[:, :, 2 + distance].ravel())[
            0, 1
        ]

    # Photographs: pixels three apart are almost as alike as neighbours.
    assert correlation(raw, 1) > 0.9
    assert correlation(raw, 3) > 0.9
    # Whitened: what is left is mostly the cut-off's smoothing of neighbours.
    assert correlation(white, 1) < 0.6
    assert abs(correlation(white, 3)) < 0.2


def test_patch_larger_than_the_images_is_refused():
    with pytest.raises(ValueError, match="larger than the smallest image side"):
        load_natural_image_patches(1, patch_size=500)


@pytest.mark.parametrize(
    ("name", "value"),
    [("n_patches", 0), ("patch_size", 0), ("color", "yes"), ("random_state", "a")],
)
def test_invalid_parameters_are_named(name, value):
    with pytest.raises(InvalidParameterError, match=name):
        load_natural_image_patches(**{name: value})


def test_whiten_image_flattens_a_pink_spectrum():
    rng = np.random.RandomState(0)
    size = 128
    f = np.hypot(np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :])
    f[0, 0] = 1.0
    # Noise with amplitude falling as 1/f, like natural images.
    pink = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size))) / f))
    white = whiten_image(pink)
    assert white.shape == pink.shape
    assert white.std() == pytest.approx(1.0)
    assert abs(white.mean()) < 1e-12

    def band_power(image, low, high):
        power = np.abs(np.fft.fft2(image)) ** 2
        return power[(f >= low) & (f < high)].mean()

    # Before: a decade of frequency is two decades of power; after: flat to a
    # factor of two up to where the cut-off starts to bite.
    assert band_power(pink, 0.02, 0.04) / band_power(pink, 0.2, 0.25) > 20
    ratio = band_power(white, 0.02, 0.04) / band_power(white, 0.2, 0.25)
    assert 0.5 < ratio < 2


def test_whiten_image_filters_each_channel_on_its_own():
    rng = np.random.RandomState(1)
    image = rng.uniform(size=(20, 30, 3))
    together = whiten_image(image)
    alone = whiten_image(image[:, :, 1])
    scale = together[:, :, 1].std() / alone.std()
    np.testing.assert_allclose(together[:, :, 1], alone * scale, atol=1e-12)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.ones(5), "shape"),
        (np.ones((1, 5)), "at least 2 rows"),
        (np.full((4, 4), np.nan), "NaN"),
    ],
)
def test_whiten_image_rejects_bad_images(image, match):
    with pytest.raises(ValueError, match=match):
        whiten_image(image)


def test_whiten_image_rejects_a_bad_cutoff():
    with pytest.raises(ValueError, match="cutoff"):
        whiten_image(np.ones((4, 4)), cutoff=0)
