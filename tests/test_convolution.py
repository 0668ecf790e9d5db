"""Tests of ConvolutionalFeatures: fast and generic paths, pooling, errors."""

import copy
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_sae import (
    ConvolutionalFeatures,
    KSparseAutoencoder,
    SparseAutoencoder,
    ZCAWhitener,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def images(n=12, shape=(9, 10), seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    return rng.uniform(size=(n, int(np.prod(shape)))).astype(dtype)


def generic(conv):
    """The same fitted transformer, forced onto the generic path."""
    slow = copy.deepcopy(conv)
    slow._encoder = None
    return slow


PATCH_MODELS = {
    "sae": lambda: SparseAutoencoder(n_components=5, max_iter=15, random_state=0),
    "zca-linear": lambda: make_pipeline(
        StandardScaler(),
        ZCAWhitener(epsilon=0.1),
        SparseAutoencoder(
            n_components=6, decoder="linear", max_iter=15, random_state=0
        ),
    ),
    "k-sparse": lambda: make_pipeline(
        StandardScaler(with_std=False),
        KSparseAutoencoder(n_components=7, k=2, max_iter=15, random_state=0),
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pooling", ["mean", "max"])
@pytest.mark.parametrize("model", PATCH_MODELS)
@pytest.mark.parametrize("channels", [1, 3])
def test_fast_path_equals_generic_path(model, pooling, dtype, channels):
    shape = (9, 10, channels)
    X = images(shape=shape, dtype=dtype)
    conv = ConvolutionalFeatures(
        PATCH_MODELS[model](),
        image_shape=shape,
        patch_size=(3, 4),
        stride=2,
        pooling=pooling,
        pooling_grid=[(1, 1), (2, 2), (3, 2)],
        n_patches=300,
        random_state=0,
    ).fit(X)
    assert conv._encoder is not None
    fast = conv.transform(X)
    slow = generic(conv).transform(X)
    assert fast.dtype == dtype
    assert slow.dtype == dtype
    assert fast.shape == (12, (1 + 4 + 6) * conv._n_patch_features)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(fast, slow, rtol=rtol, atol=rtol * 1e-2)
    # Both copy the patch rows alike; a loop over the windows checks that.
    reduce = np.mean if pooling == "mean" else np.max
    grids = [(1, 1), (2, 2), (3, 2)]
    expected = naive_pool(naive_maps(conv, X), grids, reduce)
    assert_allclose(slow, expected, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_saturated_sigmoid_is_exact_and_silent(pooling, dtype):
    # Pre-activations far past exp's overflow (88.7 in float32, 709.8 in
    # float64) on both sides: the sigmoid saturates to 0 and 1 with no
    # RuntimeWarning (an error in this suite) and no NaN.
    X = images(dtype=dtype)
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=5, max_iter=15, random_state=0),
        image_shape=(9, 10),
        patch_size=3,
        pooling=pooling,
        pooling_grid=(2, 2),
        n_patches=300,
        random_state=0,
    ).fit(X)
    X_far = (X - 0.5) * 1e6
    maps = naive_maps(conv, X_far)
    assert (maps == 0).mean() > 0.2
    assert (maps == 1).mean() > 0.2
    fast = conv.transform(X_far)
    assert np.isfinite(fast).all()
    reduce = np.mean if pooling == "mean" else np.max
    assert_allclose(fast, naive_pool(maps, [(2, 2)], reduce), rtol=1e-6, atol=1e-7)


def test_generic_path_for_other_patch_models():
    X = images()
    conv = ConvolutionalFeatures(
        PCA(n_components=4),
        patch_size=3,
        pooling_grid=(2, 2),
        image_shape=(9, 10),
        random_state=0,
    ).fit(X)
    assert conv._encoder is None
    maps = naive_maps(conv, X)
    expected = naive_pool(maps, [(2, 2)], np.mean)
    # PCA's features are signed and some pooled values fall near 0, where a
    # relative tolerance alone fails on rounding: compare on their scale.
    atol = 1e-12 * np.abs(expected).max()
    assert_allclose(conv.transform(X), expected, rtol=1e-12, atol=atol)


def naive_maps(conv, X):
    """Feature maps by a loop over every window position."""
    h, w, c = conv.image_shape_
    ph, pw = conv.patch_size_
    s = conv.stride
    oh, ow = conv.feature_map_shape_
    out = []
    for x in X:
        image = x.reshape(h, w, c)
        rows = [
            [image[i * s : i * s + ph, j * s : j * s + pw].ravel() for j in range(ow)]
            for i in range(oh)
        ]
        patches = np.array(rows).reshape(oh * ow, -1)
        out.append(conv.patch_model_.transform(patches).reshape(oh, ow, -1))
    return np.array(out)


def naive_pool(maps, grids, reduce):
    _, oh, ow, _ = maps.shape
    result = []
    for x in maps:
        row = []
        for gh, gw in grids:
            r = np.linspace(0, oh, gh + 1).astype(int)
            c = np.linspace(0, ow, gw + 1).astype(int)
            for i in range(gh):
                for j in range(gw):
                    region = x[r[i] : r[i + 1], c[j] : c[j + 1]]
                    row.append(reduce(region, axis=(0, 1)))
        result.append(np.concatenate(row))
    return np.array(result)


@pytest.mark.parametrize(("pooling", "reduce"), [("mean", np.mean), ("max", np.max)])
@pytest.mark.parametrize(
    "grids", [[(3, 3)], [(3, 3), (1, 2)], [(1, 1), (2, 2), (3, 3), (4, 4)]]
)
def test_pooling_matches_naive_loop(pooling, reduce, grids):
    # Map of 7 x 8 positions: a 3 x 3 grid has regions of 2 and 3 rows, and
    # the grids' edges cut the map into cells that no grid has alone (but
    # the 3 x 3 grid's own regions when it is alone).
    X = images(n=3)
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=4, max_iter=10, random_state=0),
        image_shape=(9, 10),
        patch_size=3,
        pooling=pooling,
        pooling_grid=grids,
        n_patches=100,
        random_state=0,
    ).fit(X)
    assert conv.feature_map_shape_ == (7, 8)
    expected = naive_pool(naive_maps(conv, X), grids, reduce)
    assert_allclose(conv.transform(X), expected, rtol=1e-12)
    assert_allclose(generic(conv).transform(X), expected, rtol=1e-12)


@pytest.mark.parametrize("n_jobs", [1, None, 2])
def test_batches_give_the_same_result_as_one_batch(n_jobs):
    X = images(n=11)
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=5, max_iter=10, random_state=0),
        image_shape=(9, 10),
        patch_size=3,
        n_patches=200,
        batch_size=100,
        random_state=0,
    ).fit(X)
    whole = conv.transform(X)
    batched = conv.set_params(batch_size=3, n_jobs=n_jobs).transform(X)
    assert_allclose(batched, whole, rtol=1e-13)
    # The automatic size bounds the batch's working memory: a band of 4 of
    # the 7 rows of positions (the 2 x 2 grid cuts them at 3), its patch
    # rows of 9 values and 5 features, and a pooled row per band.
    conv.set_params(batch_size=None)
    n_images, n_rows = conv._batch_shape(8)
    assert n_rows == 4
    assert n_images * (n_rows * 8 * (9 + 5) + 2 * 8 * 5) * 8 <= 4 * 2**20


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_bands_taller_than_the_batch_memory_are_made_in_pieces(pooling, monkeypatch):
    # Room for 2 rows of positions of one image: the bands of 3 and 4 rows
    # are made in pieces, each pooled onto the rows before it.
    X = images(n=3)
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=5, max_iter=10, random_state=0),
        image_shape=(9, 10),
        patch_size=3,
        pooling=pooling,
        n_patches=200,
        random_state=0,
    ).fit(X)
    whole = conv.transform(X)
    row, pooled = 8 * (9 + 5) * 8, 2 * 8 * 5 * 8
    monkeypatch.setattr("sklearn_sae._convolution._BATCH_BYTES", 2 * row + pooled)
    assert conv._batch_shape(8) == (1, 2)
    assert_allclose(conv.transform(X), whole, rtol=1e-13)
    assert_allclose(generic(conv).transform(X), whole, rtol=1e-12)


def test_float32_in_float32_out():
    X = images(dtype=np.float32)
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=4, max_iter=10, random_state=0),
        image_shape=(9, 10),
        patch_size=3,
        n_patches=100,
        random_state=0,
    )
    assert conv.fit_transform(X).dtype == np.float32
    assert conv.patch_model_.components_.dtype == np.float32
    assert conv.transform(X.astype(np.float64)).dtype == np.float64


def test_random_state_makes_the_fit_reproducible():
    X = images()
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=4, max_iter=10),
        image_shape=(9, 10),
        patch_size=3,
        n_patches=100,
        random_state=3,
    )
    assert_array_equal(clone(conv).fit_transform(X), clone(conv).fit_transform(X))


def test_prefit_patch_model_is_used_as_is_and_not_modified():
    X = images()
    sae = SparseAutoencoder(n_components=4, max_iter=10, random_state=0)
    sae.fit(images(n=50, shape=(9,), seed=1))
    before = copy.deepcopy(sae)
    conv = ConvolutionalFeatures(
        sae, image_shape=(9, 10), patch_size=3, prefit=True
    ).fit(X)
    assert conv.patch_model_ is not sae
    assert_array_equal(conv.patch_model_.components_, before.components_)
    conv.transform(X)
    assert_array_equal(sae.components_, before.components_)
    with pytest.raises(ValueError, match=r"expects 9 features.*16 values"):
        ConvolutionalFeatures(sae, image_shape=(9, 10), prefit=True, patch_size=4).fit(
            X
        )


def test_inputs_are_not_modified():
    X = images()
    X_before = X.copy()
    model = SparseAutoencoder(n_components=4, max_iter=10, random_state=0)
    conv = ConvolutionalFeatures(
        model,
        image_shape=[9, 10],
        patch_size=[3, 3],
        pooling_grid=[(1, 1), (2, 2)],
        n_patches=100,
        random_state=0,
    )
    params = copy.deepcopy(conv.get_params(deep=True))
    conv.fit_transform(X)
    assert_array_equal(X, X_before)
    assert not hasattr(model, "components_")
    assert repr(conv.get_params(deep=True)) == repr(params)


def test_image_shape_default_and_feature_names():
    X = images(shape=(64,))
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=3, max_iter=5, random_state=0),
        patch_size=4,
        pooling_grid=(2, 2),
        n_patches=50,
    ).fit(X)
    assert conv.image_shape_ == (8, 8, 1)
    names = conv.get_feature_names_out()
    assert len(names) == conv.transform(X).shape[1] == 12
    assert names[0] == "convolutionalfeatures0"
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=3, max_iter=5, random_state=0),
        patch_size=(1, 4),
        pooling_grid=(1, 2),
        n_patches=50,
    ).fit(images(shape=(10,)))
    assert conv.image_shape_ == (1, 10, 1)


SAE = SparseAutoencoder(n_components=3, max_iter=5)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"image_shape": (9, 9)}, r"90 features per row, but image_shape \(9, 9\)"),
        ({"image_shape": (9, 10, 2)}, "holds 180 values"),
        ({"image_shape": (9, "10")}, "image_shape' parameter .* must be"),
        ({"patch_size": 11}, r"patch_size \(11, 11\) is larger than the images"),
        ({"patch_size": (3, 0)}, "patch_size' parameter .* must be"),
        ({"patch_size": (1, 2, 3)}, "patch_size' parameter .* must be"),
        ({"patch_size": 4, "stride": 2}, "stride=2 does not fit"),
        ({"pooling_grid": (8, 1)}, r"pooling_grid \(8, 1\) has more regions"),
        ({"pooling_grid": (0, 1)}, "pooling_grid' parameter .* must be"),
        ({"pooling_grid": [(1, 1), 3]}, "pooling_grid' parameter .* must be"),
        ({"pooling_grid": ()}, "pooling_grid' parameter .* must be"),
    ],
)
def test_bad_geometry_is_named(params, match):
    conv = ConvolutionalFeatures(
        SAE, **{"image_shape": (9, 10), "patch_size": 3, "n_patches": 20, **params}
    )
    with pytest.raises(ValueError, match=match):
        conv.fit(images())


def test_images_that_do_not_match_at_transform():
    conv = ConvolutionalFeatures(
        SAE, image_shape=(9, 10), patch_size=3, n_patches=20
    ).fit(images())
    with pytest.raises(ValueError, match="90 features"):
        conv.transform(images(shape=(9, 9)))


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="pooling"):
        ConvolutionalFeatures(SAE, pooling="median").fit(images())
    with pytest.raises(ValueError, match="patch_model"):
        ConvolutionalFeatures("sae").fit(images())
    with pytest.raises(ValueError, match="stride"):
        ConvolutionalFeatures(SAE, stride=0).fit(images())


def test_pipeline_and_grid_search():
    rng = np.random.RandomState(0)
    X = images(n=40, shape=(8, 8))
    y = rng.randint(2, size=40)
    X[y == 1] *= 0.2  # class 1 is dark
    pipe = Pipeline(
        [
            (
                "conv",
                ConvolutionalFeatures(
                    SparseAutoencoder(n_components=3, max_iter=10, random_state=0),
                    patch_size=4,
                    n_patches=200,
                    random_state=0,
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    search = GridSearchCV(
        pipe,
        {
            "conv__patch_model__n_components": [2, 4],
            "conv__pooling": ["mean", "max"],
            "conv__pooling_grid": [(1, 1), (2, 2)],
        },
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    best = search.best_estimator_.named_steps["conv"]
    assert (
        best.patch_model_.n_components
        == search.best_params_["conv__patch_model__n_components"]
    )
    assert search.score(X, y) > 0.9


@pytest.mark.parametrize(("pooling", "reduce"), [("mean", np.mean), ("max", np.max)])
def test_pooling_over_regions_of_one_position(pooling, reduce):
    # A grid as fine as the map: every position is a region, every row a band.
    X = images(n=3)
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=4, max_iter=10, random_state=0),
        image_shape=(9, 10),
        patch_size=3,
        pooling=pooling,
        pooling_grid=[(7, 8), (2, 3)],
        n_patches=100,
        random_state=0,
    ).fit(X)
    expected = naive_pool(naive_maps(conv, X), [(7, 8), (2, 3)], reduce)
    assert_allclose(conv.transform(X), expected, rtol=1e-12)
