"""Convolution and pooling of patch features over whole images (UFLDL)."""

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from ._k_sparse_autoencoder import KSparseAutoencoder
from ._objective import _logistic_of_negated, encode, sigmoid
from ._rows import default_n_threads
from ._sparse_autoencoder import SparseAutoencoder
from .preprocessing import ZCAWhitener
from .utils._param_validation import StrictInterval
from .utils._validation import check_not_none

# Working memory of one batch of images (a band's patch rows and feature
# maps, and the pooled rows), per thread, when ``batch_size`` is None.
_BATCH_BYTES = 4 * 2**20


# Subclasses of Options, one of the constraint types scikit-learn's parameter
# validation accepts, with their own test and description.
class _IntTuple(Options):
    """A tuple or list of ``lengths`` positive ints (bools refused)."""

    def __init__(self, lengths, description):
        super().__init__(tuple, set())
        self.lengths = lengths
        self.description = description

    def is_satisfied_by(self, val):
        return (
            isinstance(val, tuple | list)
            and len(val) in self.lengths
            and all(
                isinstance(n, Integral)
                and not isinstance(n, bool | np.bool_)
                and n >= 1
                for n in val
            )
        )

    def __str__(self):
        return self.description


class _Grids(Options):
    """A pooling grid (a pair of positive ints) or a non-empty list of them."""

    def __init__(self):
        super().__init__(tuple, set())

    def is_satisfied_by(self, val):
        pair = _IntTuple((2,), "")
        if pair.is_satisfied_by(val):
            return True
        return (
            isinstance(val, tuple | list)
            and len(val) > 0
            and all(pair.is_satisfied_by(grid) for grid in val)
        )

    def __str__(self):
        return "a pair of positive ints (rows, columns) or a list of such pairs"


def _pair(value, name):
    """``value`` as a pair of positive ints (an int ``n`` gives ``(n, n)``)."""
    if isinstance(value, Integral) and not isinstance(value, bool | np.bool_):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = None
        if (
            pair is None
            or len(pair) != 2
            or not all(
                isinstance(n, Integral) and not isinstance(n, bool | np.bool_)
                for n in pair
            )
        ):
            raise ValueError(
                f"{name} must be an int or a pair of ints (height, width), "
                f"got {value!r}."
            )
        pair = (int(pair[0]), int(pair[1]))
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}.")
    return pair


def _grids(pooling_grid):
    """The pooling grids as a list of ``(rows, columns)`` pairs."""
    message = (
        "pooling_grid must be a pair of positive ints (rows, columns) or a "
        f"list of such pairs (a spatial pyramid), got {pooling_grid!r}."
    )
    try:
        items = list(pooling_grid)
    except TypeError:
        raise ValueError(message) from None
    if len(items) == 0:
        raise ValueError(message)
    if all(isinstance(n, Integral) for n in items):
        items = [pooling_grid]
    grids = []
    for grid in items:
        if isinstance(grid, Integral):
            raise ValueError(message)
        try:
            grids.append(_pair(grid, "pooling_grid"))
        except ValueError:
            raise ValueError(message) from None
    return grids


def _image_shape(image_shape, n_features):
    """The images' ``(height, width, channels)`` for rows of ``n_features``."""
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side == n_features:
            return (side, side, 1)
        return (1, n_features, 1)
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) not in (2, 3)
        or not all(
            isinstance(n, Integral) and not isinstance(n, bool | np.bool_) and n >= 1
            for n in shape
        )
    ):
        raise ValueError(
            "image_shape must be (height, width) or (height, width, channels) "
            f"of positive ints, got {image_shape!r}."
        )
    shape = tuple(int(n) for n in shape) + (1,) * (3 - len(shape))
    if math.prod(shape) != n_features:
        raise ValueError(
            f"X has {n_features} features per row, but image_shape "
            f"{tuple(image_shape)} holds {math.prod(shape)} values: each row of X "
            "must be one image, flattened in C order (channels last)."
        )
    return shape


def _edges(n, parts):
    """Boundaries of ``parts`` nearly equal consecutive ranges of ``range(n)``."""
    return [(i * n) // parts for i in range(parts + 1)]


def _patch_runs(X, image_shape, patch_size, stride):
    """The patches of the images ``X`` as runs of bytes, (n, oh, ow, ph).

    ``X`` is C-contiguous, one image of ``image_shape`` (H, W, C) per row. A
    patch is ``ph`` runs of ``pw * C`` values, one per image row it covers;
    each run here is one element of a void dtype of that many bytes, so
    that copying patch rows moves whole runs rather than single values. A
    patch row of the patch model's input, viewed with this dtype, is ``ph``
    such runs.
    """
    height, width, channels = image_shape
    ph, pw = patch_size
    item = X.dtype.itemsize
    row = width * channels * item
    return np.ndarray(
        shape=(X.shape[0], (height - ph) // stride + 1, (width - pw) // stride + 1, ph),
        dtype=np.dtype((np.void, pw * channels * item)),
        buffer=X,
        strides=(height * row, stride * row, stride * channels * item, row),
    )


def _affine_encoder(model):
    """The patch model as ``f(x W^T + b)`` with ``f`` elementwise or top-k.

    Returns ``(W, b, k)`` in float64, with ``k`` None for the sigmoid, or None
    when the model is not of that form. Recognised: a fitted
    :class:`SparseAutoencoder` or :class:`KSparseAutoencoder`, alone or at the
    end of a :class:`~sklearn.pipeline.Pipeline` whose other steps are
    :class:`~sklearn.preprocessing.StandardScaler`, :class:`ZCAWhitener` or
    ``"passthrough"``; their affine maps are folded into the weights.
    """
    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps]
    else:
        steps = [model]
    *preprocessing, last = steps
    if type(last) not in (SparseAutoencoder, KSparseAutoencoder):
        return None
    W1 = np.asarray(last.components_, dtype=np.float64)
    b = np.asarray(last.intercept_hidden_, dtype=np.float64)
    # x -> (x - mean) @ M, composed right to left onto the encoder.
    W = W1
    for step in reversed(preprocessing):
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        if type(step) is ZCAWhitener:
            mean = np.asarray(step.mean_, dtype=np.float64)
            M = np.asarray(step.whitening_, dtype=np.float64)
            W_new = W @ M.T
        elif type(step) is StandardScaler:
            d = W.shape[1]
            mean = (
                np.asarray(step.mean_, dtype=np.float64)
                if step.with_mean
                else np.zeros(d)
            )
            scale = (
                np.asarray(step.scale_, dtype=np.float64)
                if step.with_std
                else np.ones(d)
            )
            W_new = W / scale
        else:
            return None
        b = b - W_new @ mean
        W = W_new
    return np.ascontiguousarray(W), b, getattr(last, "_k", None)


def _pool_cells(cells, out, plan, reduce, mean):
    """Pool the cells (n, cut rows, cut columns, F) into ``out`` (n, R, F).

    ``cells`` holds the feature maps pooled between the cuts of all grids,
    with ``reduce`` (:data:`numpy.add` or :data:`numpy.maximum`); each region
    of each grid in ``plan`` (see ``_cell_plan``) pools the cells it covers,
    divided by its area for the ``mean``.
    """
    n, _, _, n_features = cells.shape
    region = 0
    for (grid_rows, grid_cols), covers, areas in plan:
        block = out[:, region : region + grid_rows * grid_cols]
        block = block.reshape(n, grid_rows, grid_cols, n_features)
        if covers is None:
            np.copyto(block, cells)
        else:
            for i, j, rows, cols in covers:
                reduce.reduce(cells[:, rows, cols], axis=(1, 2), out=block[:, i, j])
        if mean:
            block /= areas
        region += grid_rows * grid_cols


class ConvolutionalFeatures(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Features of whole images: patch features convolved, then pooled.

    The UFLDL tutorial's "Working with large images": a model of small patches
    (a :class:`SparseAutoencoder`, say) is applied at every position of a
    sliding window over each image (the convolution), which gives one feature
    map per feature; each map is then summarised over a few large regions of
    the image by their mean or maximum (the pooling). The result describes
    the whole image with ``n_regions * n_features`` values and is invariant
    to small translations inside a region.

    Read more in the :ref:`User Guide <convolution>`.

    Parameters
    ----------
    patch_model : estimator object
        A transformer that maps flattened patches (rows of
        ``patch_height * patch_width * channels`` values, in C order:
        rows, columns, channels) to features: a :class:`SparseAutoencoder`,
        a :class:`KSparseAutoencoder`, a :class:`~sklearn.pipeline.Pipeline`
        such as ``make_pipeline(ZCAWhitener(), SparseAutoencoder(
        decoder="linear"))``, or any other. Unless ``prefit`` is True, a
        clone of it is fitted on ``n_patches`` random patches of the training
        images.

    image_shape : tuple of int, default=None
        The shape of one image, ``(height, width)`` or ``(height, width,
        channels)`` with the channels last; each row of ``X`` is one image
        flattened in C order. None means square grayscale images when the
        number of features is a square (784 gives 28x28), else images of one
        row (one-dimensional signals).

    patch_size : int or tuple of int, default=8
        The patch (window) size, ``n`` for ``n x n`` or ``(height, width)``.

    stride : int, default=1
        Step between neighbouring window positions, in pixels, in both
        directions. It must tile the image exactly: ``(height -
        patch_height)`` and ``(width - patch_width)`` must be multiples of it.

    pooling : {"mean", "max"}, default="mean"
        How each region of a feature map is summarised. With an
        autoencoder's encoder as the patch model, ``"max"`` is the faster
        (about twice, for 200 filters of 8x8 on MNIST): the sigmoid,
        increasing, is applied to the pooled maxima only, where the
        tutorial's ``"mean"`` needs it at every window position.

    pooling_grid : tuple of int, or list of tuples, default=(2, 2)
        The pooling regions: ``(rows, columns)`` splits each feature map into
        that grid of nearly equal, disjoint regions; ``(1, 1)`` pools over
        the whole image. A list of grids, such as ``[(1, 1), (2, 2), (4,
        4)]``, pools over each (a spatial pyramid) and concatenates the
        results. The tutorial's pooling over square regions of ``p`` feature
        map positions is the grid ``(map_height // p, map_width // p)`` when
        ``p`` divides the map's size.

    n_patches : int, default=10_000
        Number of patches sampled (uniformly over images and positions, with
        replacement) from the training images to fit the patch model.

    prefit : bool, default=False
        Whether ``patch_model`` is already fitted. If True, :meth:`fit` does
        not train it: it validates ``X`` and the patch size and stores a copy
        of ``patch_model`` as ``patch_model_``; ``patch_model`` itself is
        never modified. If False, a clone is fitted.

    batch_size : int, default=None
        Number of images processed together by :meth:`transform`. Their
        feature maps are made and pooled a band of rows at a time (the rows
        of window positions between two region edges). None chooses the
        number so that the working memory of a batch (a band's patch rows
        and feature maps, and the maps pooled over rows) stays near 4 MiB
        per thread, and makes a band that is larger than that on its own in
        pieces. The memory of :meth:`transform` beyond its input and output
        is bounded by this, whatever the number of images.

    n_jobs : int, default=None
        Number of threads that process batches in parallel, each with
        single-threaded BLAS, so that the elementwise work and the pooling
        run in parallel too. None means as many as BLAS may use (as the
        package's training does; limit both with ``threadpoolctl`` or
        ``OMP_NUM_THREADS``), -1 all processors. With 1, batches are
        processed one after the other and the matrix products use BLAS's
        own threads.

    random_state : int, RandomState instance or None, default=None
        Draws the training patches, and seeds the fitted clone's
        ``random_state`` parameters that are None (those of ``patch_model``
        and, in a pipeline, of its steps; the others are kept). Pass an int
        for reproducible output across multiple function calls.

    Attributes
    ----------
    patch_model_ : estimator object
        The fitted patch model.

    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images.

    patch_size_ : tuple of int
        ``(height, width)`` of the patches.

    feature_map_shape_ : tuple of int
        ``(rows, columns)`` of window positions per image.

    n_regions_ : int
        Number of pooling regions (over all grids).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X` has
        feature names that are all strings.

    See Also
    --------
    SparseAutoencoder : A patch model with sigmoid features.
    ZCAWhitener : Whitening of the patches, before an autoencoder with a
        linear decoder.

    Notes
    -----
    When the patch model is an affine map followed by an elementwise
    function or a per-patch top-k (a :class:`SparseAutoencoder` or
    :class:`KSparseAutoencoder`, optionally after
    :class:`~sklearn.preprocessing.StandardScaler` and :class:`ZCAWhitener`
    steps in a :class:`~sklearn.pipeline.Pipeline`), the preprocessing is
    folded into the weights, ``W Z (x - mean) + b``, and the convolution of a
    band of rows of a batch (see ``batch_size``) is one matrix product of
    its patch rows by the filters, followed by the sigmoid (or the top-k)
    and the pooling. With max pooling the sigmoid, being increasing, is
    applied after the pooling, to the pooled values only. Any other patch
    model has its own ``transform`` called on the patch rows of each batch;
    both give the same features to floating-point rounding.

    References
    ----------
    .. [1] A. Coates, H. Lee and A. Y. Ng, "An Analysis of Single-Layer
       Networks in Unsupervised Feature Learning", AISTATS 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_sae import ConvolutionalFeatures, SparseAutoencoder
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> conv = ConvolutionalFeatures(
    ...     SparseAutoencoder(n_components=16, max_iter=50, random_state=0),
    ...     image_shape=(8, 8), patch_size=4, pooling_grid=(2, 2),
    ...     n_patches=2000, random_state=0,
    ... )
    >>> features = conv.fit_transform(X)
    >>> features.shape
    (1797, 64)
    >>> conv.feature_map_shape_
    (5, 5)
    """

    _parameter_constraints: dict = {
        "patch_model": [HasMethods(["fit", "transform"])],
        "image_shape": [
            None,
            _IntTuple((2, 3), "a tuple of 2 or 3 positive ints"),
        ],
        "patch_size": [
            StrictInterval(Integral, 1, None, closed="left"),
            _IntTuple((2,), "a pair of positive ints"),
        ],
        "stride": [StrictInterval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"mean", "max"})],
        "pooling_grid": [_Grids()],
        "n_patches": [StrictInterval(Integral, 1, None, closed="left")],
        "prefit": ["boolean"],
        "batch_size": [None, StrictInterval(Integral, 1, None, closed="left")],
        "n_jobs": [None, StrictInterval(Integral, None, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        patch_model,
        *,
        image_shape=None,
        patch_size=8,
        stride=1,
        pooling="mean",
        pooling_grid=(2, 2),
        n_patches=10_000,
        prefit=False,
        batch_size=None,
        n_jobs=None,
        random_state=None,
    ):
        self.patch_model = patch_model
        self.image_shape = image_shape
        self.patch_size = patch_size
        self.stride = stride
        self.pooling = pooling
        self.pooling_grid = pooling_grid
        self.n_patches = n_patches
        self.prefit = prefit
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _geometry(self, n_features):
        """Check the shapes; return image, patch, map shapes and the grids."""
        image = _image_shape(self.image_shape, n_features)
        patch = _pair(self.patch_size, "patch_size")
        height, width, _ = image
        if patch[0] > height or patch[1] > width:
            raise ValueError(
                f"patch_size {patch} is larger than the images {(height, width)} "
                f"(image_shape={self.image_shape!r})."
            )
        s = self.stride
        if (height - patch[0]) % s or (width - patch[1]) % s:
            raise ValueError(
                f"stride={s} does not fit: patches of {patch} on images of "
                f"{(height, width)} need (height - patch height, width - patch "
                f"width) = {(height - patch[0], width - patch[1])} to be "
                "multiples of the stride, so that the windows cover the image "
                "exactly."
            )
        fmap = ((height - patch[0]) // s + 1, (width - patch[1]) // s + 1)
        grids = _grids(self.pooling_grid)
        for grid in grids:
            if grid[0] > fmap[0] or grid[1] > fmap[1]:
                raise ValueError(
                    f"pooling_grid {grid} has more regions than the feature "
                    f"maps have positions {fmap} (images {(height, width)}, "
                    f"patch_size {patch}, stride {s}): every region must hold "
                    "at least one position."
                )
        return image, patch, fmap, grids

    @_fit_context(
        # patch_model is validated by its own fit.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None):
        """Fit the patch model on random patches of the images X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training images, one per row, flattened in C order.

        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        check_not_none(X, self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), order="C")
        image, patch, fmap, grids = self._geometry(X.shape[1])
        n_values = patch[0] * patch[1] * image[2]
        if self.prefit:
            check_is_fitted(self.patch_model)
            n_in = getattr(self.patch_model, "n_features_in_", n_values)
            if n_in != n_values:
                raise ValueError(
                    f"The prefit patch_model expects {n_in} features, but "
                    f"patches of {patch} with {image[2]} channel(s) have "
                    f"{n_values} values."
                )
            patch_model = copy.deepcopy(self.patch_model)
        else:
            rng = check_random_state(self.random_state)
            runs = _patch_runs(X, image, patch, 1)
            index = rng.randint(X.shape[0], size=self.n_patches)
            top = rng.randint(runs.shape[1], size=self.n_patches)
            left = rng.randint(runs.shape[2], size=self.n_patches)
            # A C-contiguous copy of ph runs per patch: the patch's values.
            patches = runs[index, top, left].view(X.dtype)
            patch_model = clone(self.patch_model)
            # Seed the random_state parameters left at None (at any depth),
            # so that random_state makes the whole fit reproducible.
            seeds = {
                name: rng.randint(np.iinfo(np.int32).max)
                for name, value in sorted(patch_model.get_params(deep=True).items())
                if (name == "random_state" or name.endswith("__random_state"))
                and value is None
            }
            patch_model.set_params(**seeds)
            patch_model.fit(patches)
        self.patch_model_ = patch_model
        self.image_shape_ = image
        self.patch_size_ = patch
        self.feature_map_shape_ = fmap
        self.n_regions_ = sum(g[0] * g[1] for g in grids)
        self._grids = grids
        encoder = _affine_encoder(patch_model)
        self._encoder = encoder
        if encoder is not None:
            self._n_patch_features = encoder[0].shape[0]
        else:
            probe = patch_model.transform(np.zeros((1, n_values), dtype=X.dtype))
            self._n_patch_features = probe.shape[1]
        return self

    @property
    def _n_features_out(self):
        return self.n_regions_ * self._n_patch_features

    def _cuts(self):
        """The rows and columns where some grid's regions begin or end."""
        oh, ow = self.feature_map_shape_
        rows = sorted(
            {e for grid_rows, _ in self._grids for e in _edges(oh, grid_rows)}
        )
        cols = sorted(
            {e for _, grid_cols in self._grids for e in _edges(ow, grid_cols)}
        )
        return rows, cols

    def _batch_shape(self, itemsize):
        """Images per batch, and rows of window positions per product.

        A batch's feature maps are made one band of rows at a time (the rows
        between two cuts), each band pooled over its rows while it is in the
        caches; a band taller than the working memory allows is made in
        pieces.
        """
        ow = self.feature_map_shape_[1]
        cut_rows, _ = self._cuts()
        band = max(r1 - r0 for r0, r1 in pairwise(cut_rows))
        if self.batch_size is not None:
            return self.batch_size, band
        n_values = self.patch_size_[0] * self.patch_size_[1] * self.image_shape_[2]
        n_features = self._n_patch_features
        row = ow * (n_values + n_features) * itemsize
        pooled = (len(cut_rows) - 1) * ow * n_features * itemsize
        if band * row + pooled <= _BATCH_BYTES:
            return _BATCH_BYTES // (band * row + pooled), band
        return 1, max(1, (_BATCH_BYTES - pooled) // row)

    def transform(self, X):
        """Convolve the patch features over the images X and pool them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images, one per row, flattened in C order (channels last).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            The pooled features, ``n_regions_`` times the patch model's
            number of features per image, of the dtype of X (float32 or
            float64): for each grid, each region (row by row), all patch
            features.
        """
        check_is_fitted(self)
        check_not_none(X, self)
        X = validate_data(
            self, X, dtype=(np.float64, np.float32), order="C", reset=False
        )
        n_samples = X.shape[0]
        out = np.empty((n_samples, self._n_features_out), dtype=X.dtype)
        step, piece = self._batch_shape(X.dtype.itemsize)
        batches = [
            (start, min(start + step, n_samples)) for start in range(0, n_samples, step)
        ]
        if self.n_jobs is None:
            n_threads = default_n_threads()
        else:
            n_threads = effective_n_jobs(self.n_jobs)
        n_threads = min(n_threads, max(1, len(batches)))
        if n_threads <= 1:
            self._run(X, out, batches, piece)
            return out
        with (
            threadpool_limits(limits=1, user_api="blas"),
            ThreadPoolExecutor(n_threads) as executor,
        ):
            futures = [
                executor.submit(self._run, X, out, batches[i::n_threads], piece)
                for i in range(n_threads)
            ]
            for future in futures:
                future.result()
        return out

    def _run(self, X, out, batches, piece):
        """Fill ``out``'s rows of each (start, stop) batch, reusing buffers.

        The feature maps of a batch are made ``piece`` rows of window
        positions at a time, never across a cut between pooling regions,
        and pooled while they are in the caches: over their rows, into one
        strip per band of rows between two cuts, then over the columns
        between two cuts, into cells; each region then pools its cells. A
        pyramid of grids therefore reads the feature maps once, not once per
        grid.

        On the fast path with mean pooling, the patch rows get a last column
        of ones and the weights the bias, both negated, so that the product
        gives ``-z`` and the sigmoid takes three passes (``exp``, ``+ 1``,
        reciprocal) where ``sigmoid`` takes four. With max pooling the
        product is the patch rows by the weights alone: the bias and the
        sigmoid, increasing, are applied to the pooled maxima.
        """
        dtype = X.dtype
        ow = self.feature_map_shape_[1]
        ph, pw = self.patch_size_
        n_values = ph * pw * self.image_shape_[2]
        n_features = self._n_patch_features
        mean = self.pooling == "mean"
        reduce = np.add if mean else np.maximum
        cut_rows, cut_cols = self._cuts()
        # (band, first row, stop row) of each product.
        pieces = [
            (band, r, min(r + piece, r1))
            for band, (r0, r1) in enumerate(pairwise(cut_rows))
            for r in range(r0, r1, piece)
        ]
        plan = self._cell_plan()
        largest = max(stop - start for start, stop in batches)
        n_rows = largest * max(r1 - r0 for _, r0, r1 in pieces) * ow
        fast = self._encoder is not None
        if fast:
            W, b, k = self._encoder
            # The bias enters the product only before the sigmoid (mean
            # pooling), where the product gives -z.
            bias_column = k is None and mean
            WT = -np.hstack([W, b[:, None]]).T if bias_column else W.T
            WT, b = np.ascontiguousarray(WT, dtype=dtype), b.astype(dtype)
            if k is not None:
                W = W.astype(dtype)
            maps = np.empty((n_rows, n_features), dtype=dtype)
        else:
            bias_column = False
        cols = np.empty((n_rows, n_values + bias_column), dtype=dtype)
        if bias_column:
            cols[:, n_values] = 1
        strips = np.empty((largest, len(cut_rows) - 1, ow, n_features), dtype=dtype)
        cells = np.empty(
            (largest, len(cut_rows) - 1, len(cut_cols) - 1, n_features), dtype=dtype
        )
        runs = _patch_runs(X, self.image_shape_, self.patch_size_, self.stride)
        # cols[:, :n_values] as ph runs per row, without .view(), which
        # NumPy < 1.23 refuses when a bias column follows.
        cols_runs = np.ndarray(
            (n_rows, ph),
            dtype=runs.dtype,
            buffer=cols,
            strides=(cols.shape[1] * cols.itemsize, runs.itemsize),
        )
        for start, stop in batches:
            n = stop - start
            for band, r0, r1 in pieces:
                c = cols[: n * (r1 - r0) * ow]
                np.copyto(
                    cols_runs[: len(c)].reshape(n, r1 - r0, ow, ph),
                    runs[start:stop, r0:r1],
                )
                if fast:
                    z = maps[: len(c)]
                    if k is not None:
                        encode(c[:, :n_values], W, b, out=z, k=k)
                    else:
                        np.matmul(c, WT, out=z)
                        if mean:
                            _logistic_of_negated(z)
                else:
                    z = self.patch_model_.transform(c)
                    if sp.issparse(z):
                        z = z.toarray()
                    z = np.asarray(z)
                z = z.reshape(n, r1 - r0, ow, n_features)
                strip = strips[:n, band]
                if r0 == cut_rows[band]:
                    reduce.reduce(z, axis=1, out=strip)
                else:
                    reduce(strip, reduce.reduce(z, axis=1), out=strip)
            for j, (c0, c1) in enumerate(pairwise(cut_cols)):
                reduce.reduce(strips[:n, :, c0:c1], axis=2, out=cells[:n, :, j])
            pooled = out[start:stop].reshape(n, self.n_regions_, n_features)
            _pool_cells(cells[:n], pooled, plan, reduce, mean)
            if fast and k is None and not mean:
                pooled += b
                sigmoid(pooled, out=pooled)

    def _cell_plan(self):
        """How each grid's regions cover the cells between the cuts.

        A list with, for each grid, its ``(rows, columns)``, None when its
        regions are the cells, else the ``(row, column, cell rows, cell
        columns)`` of each region, and the regions' areas in positions.
        """
        oh, ow = self.feature_map_shape_
        cut_rows, cut_cols = self._cuts()
        plan = []
        for grid in self._grids:
            row_edges, col_edges = _edges(oh, grid[0]), _edges(ow, grid[1])
            covers = None
            if row_edges != cut_rows or col_edges != cut_cols:
                covers = [
                    (
                        i,
                        j,
                        slice(cut_rows.index(r0), cut_rows.index(r1)),
                        slice(cut_cols.index(c0), cut_cols.index(c1)),
                    )
                    for i, (r0, r1) in enumerate(pairwise(row_edges))
                    for j, (c0, c1) in enumerate(pairwise(col_edges))
                ]
            areas = np.multiply.outer(np.diff(row_edges), np.diff(col_edges))
            plan.append((grid, covers, areas[:, :, None]))
        return plan

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
