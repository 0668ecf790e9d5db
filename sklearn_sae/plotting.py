"""Display of learned filters, the UFLDL tutorial's ``display_network``.

matplotlib is imported only when a figure is drawn; install it with the
``plot`` extra (``pip install "sklearn-sae[plot]"``).
"""

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

__all__ = ["FilterDisplay", "tile_filters"]


def _image_shape(image_shape, n_features):
    shape = tuple(int(n) for n in np.atleast_1d(image_shape))
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(
            "image_shape must be (height, width) for grayscale filters or "
            f"(height, width, 3) for RGB filters, got {image_shape!r}."
        )
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape {shape} holds {int(np.prod(shape))} values, but the "
            f"filters have {n_features} features."
        )
    return shape


def tile_filters(filters, image_shape, *, n_cols=None, border=1):
    """Arrange filters as a mosaic of image tiles, with the tutorial's contrast.

    Each filter is reshaped to ``image_shape`` (in C order, the layout of an
    image flattened by ``reshape(n_samples, -1)``) and scaled on its own, as in
    the tutorial's ``display_network`` and ``displayColorNetwork``: after the
    mean of all filters is removed, a grayscale tile is divided by its largest
    absolute value, into [-1, 1], and an RGB tile is stretched to [0, 1]. The
    tiles are separated by ``border`` pixels of the darkest value.

    Parameters
    ----------
    filters : array-like of shape (n_filters, n_features)
        One filter per row.

    image_shape : tuple of int
        ``(height, width)`` for grayscale, ``(height, width, 3)`` for RGB.

    n_cols : int, default=None
        Tiles per row of the mosaic; by default ``ceil(sqrt(n_filters))``.

    border : int, default=1
        Pixels between tiles and around the mosaic.

    Returns
    -------
    mosaic : ndarray of shape (n_rows * (height + border) + border, \
            n_cols * (width + border) + border) or with a last axis of 3
        Values in [-1, 1] (grayscale) or [0, 1] (RGB).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sae.plotting import tile_filters
    >>> filters = np.random.RandomState(0).standard_normal((10, 64))
    >>> tile_filters(filters, (8, 8)).shape  # 4 columns, 3 rows of 8x8 tiles
    (28, 37)
    """
    filters = check_array(filters, dtype=np.float64, input_name="filters")
    n_filters, n_features = filters.shape
    shape = _image_shape(image_shape, n_features)
    if n_cols is None:
        n_cols = int(np.ceil(np.sqrt(n_filters)))
    if n_cols < 1 or border < 0:
        raise ValueError(
            f"n_cols must be at least 1 and border at least 0, got n_cols={n_cols} "
            f"and border={border}."
        )
    n_rows = -(-n_filters // n_cols)
    height, width = shape[:2]
    rgb = len(shape) == 3

    tiles = filters - filters.mean()
    if rgb:
        tiles -= tiles.min(axis=1, keepdims=True)
        span = tiles.max(axis=1, keepdims=True)
        background = 0.0
    else:
        span = np.abs(tiles).max(axis=1, keepdims=True)
        background = -1.0
    np.divide(tiles, span, out=tiles, where=span > 0)

    mosaic_height = n_rows * (height + border) + border
    mosaic_width = n_cols * (width + border) + border
    mosaic = np.full((mosaic_height, mosaic_width, *shape[2:]), background)
    for index, tile in enumerate(tiles):
        row, col = divmod(index, n_cols)
        top = border + row * (height + border)
        left = border + col * (width + border)
        mosaic[top : top + height, left : left + width] = tile.reshape(shape)
    return mosaic


class FilterDisplay:
    """Learned filters shown as a mosaic of image tiles.

    The scikit-learn style display of the tutorial's ``display_network``: each
    tile is the input of unit norm that activates a hidden unit most, the row
    ``W_i / ||W_i||`` of the encoder weights, with its contrast stretched on
    its own (see :func:`tile_filters`). Use :meth:`from_estimator` to build
    one from a fitted autoencoder; the constructor takes the filters directly.

    Parameters
    ----------
    filters : ndarray of shape (n_filters, n_features)
        The filters, one per row, in input space.

    image_shape : tuple of int
        ``(height, width)`` for grayscale, ``(height, width, 3)`` for RGB
        images, flattened in C order.

    Attributes
    ----------
    mosaic_ : ndarray
        The image drawn, from :func:`tile_filters`.

    image_ : matplotlib.image.AxesImage
        The image artist.

    ax_ : matplotlib.axes.Axes
        Axes with the mosaic.

    figure_ : matplotlib.figure.Figure
        Figure containing the mosaic.

    See Also
    --------
    tile_filters : The mosaic without matplotlib.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_sae import SparseAutoencoder
    >>> from sklearn_sae.plotting import FilterDisplay
    >>> X = load_digits().data / 16.0
    >>> sae = SparseAutoencoder(n_components=16, max_iter=20, random_state=0)
    >>> sae = sae.fit(X)
    >>> display = FilterDisplay.from_estimator(sae, image_shape=(8, 8))
    >>> display.mosaic_.shape  # 4 x 4 tiles of 8 x 8 pixels, 1-pixel borders
    (37, 37)
    """

    def __init__(self, filters, *, image_shape):
        self.filters = filters
        self.image_shape = image_shape

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        image_shape,
        whitening=None,
        layer=None,
        n_cols=None,
        border=1,
        cmap=None,
        ax=None,
        **imshow_kwargs,
    ):
        """Plot the filters of a fitted autoencoder, stack or pipeline.

        Parameters
        ----------
        estimator : estimator instance
            One of:

            - a fitted model with ``components_`` of shape (n_components,
              n_features), such as :class:`~sklearn_sae.SparseAutoencoder`;
            - a fitted :class:`~sklearn_sae.StackedSparseAutoencoder` or
              :class:`~sklearn_sae.StackedSparseAutoencoderClassifier`, whose
              layer ``layer`` is shown (see below);
            - a fitted :class:`~sklearn.pipeline.Pipeline`: its last
              autoencoder step (one of the above from this package) is shown,
              with the input transformers before it folded in, so that the
              filters are in the space of the pipeline's input. Supported
              before the autoencoder: :class:`~sklearn_sae.preprocessing.ZCAWhitener`
              (filters ``W @ whitening_``, as the tutorial shows the features
              of whitened patches), :class:`~sklearn.preprocessing.StandardScaler`
              and :class:`~sklearn.preprocessing.MinMaxScaler` (``W`` times
              their per-feature scale) and ``"passthrough"``. Steps after the
              autoencoder are ignored.

        image_shape : tuple of int
            ``(height, width)`` or ``(height, width, 3)``.

        whitening : array-like of shape (n_features, n_features) or \
                fitted ZCAWhitener, default=None
            The whitening the model was trained behind. The filters are then
            shown in the space of the original images, ``W @ whitening``, as
            the tutorial shows the colour features of its linear decoder. Not
            with a pipeline, whose whitening step is folded in already.

        layer : int, default=None
            For a stack, the hidden layer shown, from 0 (the first, the
            default). A deeper layer is shown as its linear projection to
            input space, the product of the encoders' weight matrices from
            that layer down, ``W_layer @ ... @ W_0``, which ignores the
            sigmoids in between. For the classifier the weights are those of
            the fine-tuned network (``coefs_``). Only for stacks.

        n_cols : int, default=None
            Tiles per row; by default ``ceil(sqrt(n_components))``.

        border : int, default=1
            Pixels between tiles.

        cmap : str or matplotlib colormap, default=None
            Colormap of grayscale filters; ``"gray"`` by default.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created if None.

        **imshow_kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.imshow`, overriding its
            defaults here (``interpolation="nearest"``, and ``vmin=-1``,
            ``vmax=1`` for grayscale).

        Returns
        -------
        display : FilterDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import MinMaxScaler
        >>> from sklearn_sae import SparseAutoencoder, StackedSparseAutoencoder
        >>> from sklearn_sae.plotting import FilterDisplay
        >>> X = load_digits().data
        >>> pipe = make_pipeline(
        ...     MinMaxScaler(), SparseAutoencoder(16, max_iter=20, random_state=0)
        ... ).fit(X)
        >>> FilterDisplay.from_estimator(pipe, image_shape=(8, 8)).filters.shape
        (16, 64)
        >>> stack = StackedSparseAutoencoder((16, 9), max_iter=20, random_state=0)
        >>> stack = stack.fit(X / 16.0)
        >>> display = FilterDisplay.from_estimator(stack, image_shape=(8, 8), layer=1)
        >>> display.filters.shape
        (9, 64)
        """
        weights = _filters_of(estimator, layer, whitening)
        norms = np.linalg.norm(weights, axis=1, keepdims=True)
        filters = np.divide(weights, norms, out=np.zeros_like(weights), where=norms > 0)
        display = cls(filters, image_shape=image_shape)
        return display.plot(
            n_cols=n_cols, border=border, cmap=cmap, ax=ax, **imshow_kwargs
        )

    def plot(self, *, n_cols=None, border=1, cmap=None, ax=None, **imshow_kwargs):
        """Draw the mosaic.

        Parameters
        ----------
        n_cols : int, default=None
            Tiles per row; by default ``ceil(sqrt(n_filters))``.

        border : int, default=1
            Pixels between tiles.

        cmap : str or matplotlib colormap, default=None
            Colormap of grayscale filters; ``"gray"`` by default.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created if None.

        **imshow_kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.imshow`, overriding its
            defaults here (``interpolation="nearest"``, and ``vmin=-1``,
            ``vmax=1`` for grayscale).

        Returns
        -------
        display : FilterDisplay
            The object itself, with the attributes listed in the class
            docstring.
        """
        mosaic = tile_filters(
            self.filters, self.image_shape, n_cols=n_cols, border=border
        )
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        if mosaic.ndim == 3:
            options = {"interpolation": "nearest"}
        else:
            options = {
                "cmap": cmap or "gray",
                "vmin": -1.0,
                "vmax": 1.0,
                "interpolation": "nearest",
            }
        image = ax.imshow(mosaic, **{**options, **imshow_kwargs})
        ax.set_axis_off()
        self.mosaic_ = mosaic
        self.image_ = image
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def _stack_weights(estimator, layer):
    """The encoder weight matrices of a fitted stack, (n_out, n_in) each."""
    from ._stacked import StackedSparseAutoencoderClassifier

    if isinstance(estimator, StackedSparseAutoencoderClassifier):
        check_is_fitted(estimator)
        matrices = [np.asarray(W, dtype=np.float64).T for W in estimator.coefs_[:-1]]
    else:
        check_is_fitted(estimator)
        matrices = [
            np.asarray(sae.components_, dtype=np.float64)
            for sae in estimator.autoencoders_
        ]
    layer = 0 if layer is None else layer
    if not (isinstance(layer, (int, np.integer)) and 0 <= layer < len(matrices)):
        raise ValueError(
            f"layer must be an int from 0 to {len(matrices) - 1}, the hidden "
            f"layers of this {type(estimator).__name__}, got {layer!r}."
        )
    return matrices[: layer + 1]


def _is_stack(estimator):
    from ._stacked import _BaseStack

    return isinstance(estimator, _BaseStack)


def _is_autoencoder(estimator):
    from ._sparse_autoencoder import _BaseAutoencoder

    return isinstance(estimator, _BaseAutoencoder) or _is_stack(estimator)


def _input_map(step, name):
    """The matrix M with which ``W`` seen after ``step`` is ``W @ M`` before it."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from .preprocessing import ZCAWhitener

    if isinstance(step, ZCAWhitener):
        return np.asarray(step.whitening_, dtype=np.float64)
    if isinstance(step, MinMaxScaler):
        return np.diag(np.asarray(step.scale_, dtype=np.float64))
    if isinstance(step, StandardScaler):
        if step.scale_ is None:
            return None
        return np.diag(1.0 / np.asarray(step.scale_, dtype=np.float64))
    raise ValueError(
        f"FilterDisplay.from_estimator cannot show filters in the input space "
        f"of a pipeline with step {name!r} ({type(step).__name__}) before its "
        "autoencoder: only ZCAWhitener, StandardScaler, MinMaxScaler and "
        '"passthrough" can be folded into the filters. Pass the autoencoder '
        "step itself to see the filters in the space of its own input."
    )


def _filters_of(estimator, layer, whitening):
    """The filters of ``estimator`` in its input space, one per row, float64."""
    from sklearn.pipeline import Pipeline

    maps = []
    if isinstance(estimator, Pipeline):
        if whitening is not None:
            raise ValueError(
                "whitening is for an autoencoder trained outside a pipeline; a "
                "pipeline's ZCAWhitener step is folded into the filters already."
            )
        check_is_fitted(estimator)
        steps = [
            (name, step)
            for name, step in estimator.steps
            if step is not None and step != "passthrough"
        ]
        last = max(
            (i for i, (_, step) in enumerate(steps) if _is_autoencoder(step)),
            default=None,
        )
        if last is None:
            raise ValueError(
                "FilterDisplay.from_estimator needs a pipeline with an autoencoder "
                "step of sklearn_sae (SparseAutoencoder, KSparseAutoencoder or a "
                "stack), but the steps are "
                f"{[type(step).__name__ for _, step in steps]}."
            )
        for name, step in steps[:last]:
            matrix = _input_map(step, name)
            if matrix is not None:
                maps.append(matrix)
        estimator = steps[last][1]
    elif whitening is not None:
        if hasattr(whitening, "whitening_"):
            whitening = whitening.whitening_
        maps.append(check_array(whitening, dtype=np.float64, input_name="whitening"))

    if _is_stack(estimator):
        matrices = _stack_weights(estimator, layer)
        weights = matrices[-1]
        for matrix in reversed(matrices[:-1]):
            weights = weights @ matrix
    else:
        if layer not in (None, 0):
            raise ValueError(
                f"layer is for the stacks; {type(estimator).__name__} has one "
                f"hidden layer, got layer={layer!r}."
            )
        check_is_fitted(estimator, "components_")
        weights = np.asarray(estimator.components_, dtype=np.float64)

    # The maps of the steps before, the nearest the autoencoder first.
    for matrix in reversed(maps):
        if matrix.shape != (weights.shape[1],) * 2:
            raise ValueError(
                f"whitening must be of shape {(weights.shape[1],) * 2}, the "
                f"estimator's number of features squared, got {matrix.shape}."
            )
        weights = weights @ matrix
    return weights
