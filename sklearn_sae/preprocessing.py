"""Preprocessing of the UFLDL tutorial: ZCA whitening and patch normalisation.

The tutorial prepares its inputs in one of two ways before a sparse
autoencoder sees them:

- :func:`normalize_patches` is the normalisation of ``sampleIMAGES.m`` for the
  sigmoid decoder: each patch loses its mean, is truncated to three standard
  deviations and is rescaled into [0.1, 0.9].
- :class:`ZCAWhitener` is the ZCA whitening of the "PCA and Whitening" and
  "Linear Decoders" exercises, for the linear decoder: the features are
  decorrelated and given (nearly) unit variance while staying as close as
  possible to the original pixels.
"""

from numbers import Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array
from sklearn.utils._param_validation import validate_params
from sklearn.utils.validation import check_is_fitted, validate_data

from ._optimize import single_threaded_blas
from .utils._param_validation import StrictInterval
from .utils._validation import check_inverse_transform_input, check_not_none

__all__ = ["ZCAWhitener", "normalize_patches"]

# Rows per block when accumulating the covariance and when whitening: the
# (rows, n_features) temporaries stay near this many bytes.
_BLOCK_BYTES = 1 << 22


def _row_blocks(n_samples, n_features, itemsize=8):
    """Slices of consecutive rows, each block near ``_BLOCK_BYTES`` bytes."""
    step = max(1, _BLOCK_BYTES // (itemsize * max(n_features, 1)))
    for start in range(0, n_samples, step):
        yield slice(start, min(start + step, n_samples))


def _symmetric(U, scale):
    """``U diag(scale) U^T``, made exactly symmetric."""
    M = (U * scale) @ U.T
    M += M.T
    M *= 0.5
    return M


class ZCAWhitener(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""ZCA whitening of the UFLDL tutorial.

    The data are centred with the mean of each feature and multiplied by the
    ZCA whitening matrix, which turns the covariance of the training data
    into (nearly) the identity. For ``m`` training samples :math:`x_i` with
    mean :math:`\mu`,

    .. math::

        \Sigma = \frac{1}{m} \sum_{i=1}^m (x_i - \mu)(x_i - \mu)^\top
               = U \operatorname{diag}(s) U^\top,
        \qquad
        W = U \operatorname{diag}\!\left(\frac{1}{\sqrt{s + \epsilon}}\right)
            U^\top,

    and each sample is transformed into :math:`x_{\mathrm{ZCAwhite}} =
    W (x - \mu)`. The covariance is divided by ``m``, as in the tutorial, not
    by ``m - 1``. The whitened data have covariance
    :math:`U \operatorname{diag}(s / (s + \epsilon)) U^\top`, the identity
    when :math:`\epsilon = 0`.

    PCA whitening, :math:`\operatorname{diag}(1 / \sqrt{s + \epsilon})
    U^\top (x - \mu)`, also decorrelates the features, but expresses them in
    the basis of the principal components. ZCA rotates the result back with
    :math:`U`; of all the whitening transforms it is the one whose output is
    closest to its input, so whitened pixel ``j`` still sits at pixel ``j``
    and whitened image patches still look like (edge-enhanced) patches. The
    whitening matrix is symmetric.

    ``epsilon`` regularises the small eigenvalues: directions of variance
    much smaller than ``epsilon`` are not blown up (they mostly carry noise),
    which acts as a low-pass filter on image patches. The tutorial uses
    ``epsilon=0.1`` for patches with values in [0, 1] or of unit scale; it is
    in the units of the variance of the data, so adapt it to their scale.

    Parameters
    ----------
    epsilon : float, default=0.1
        Regularisation added to every eigenvalue of the covariance before
        its inverse square root is taken; ``epsilon >= 0``. With
        ``epsilon=0`` the transform is the exact whitening, which exists only
        for full-rank data: at least ``n_features + 1`` samples whose centred
        features are linearly independent. ``fit`` raises a ``ValueError``
        when an eigenvalue plus ``epsilon`` is zero up to rounding (at most
        ``n_features`` times the float64 machine epsilon times the largest
        eigenvalue, or so small that its inverse square root overflows
        float32), rather than returning infinite or meaningless values.

    copy : bool, default=True
        If False, ``transform`` and ``inverse_transform`` overwrite their
        input with the result when it is already a writeable NumPy array of
        dtype float32 or float64, and return it; otherwise they work on a
        copy. ``fit`` never modifies its input.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Per-feature mean of the training data, :math:`\mu`.

    components_ : ndarray of shape (n_features, n_features)
        Eigenvectors of the covariance (the principal axes), one per row, in
        order of decreasing eigenvalue: the rows of :math:`U^\top`. Each row's
        sign is chosen so that its entry of largest magnitude is positive.

    explained_variance_ : ndarray of shape (n_features,)
        Eigenvalues :math:`s` of the covariance, in decreasing order, with
        rounding errors below zero clipped to zero.

    whitening_ : ndarray of shape (n_features, n_features)
        The symmetric whitening matrix :math:`W`;
        ``transform(X) == (X - mean_) @ whitening_``.

    dewhitening_ : ndarray of shape (n_features, n_features)
        Its inverse, the symmetric matrix :math:`U \operatorname{diag}(\sqrt{s
        + \epsilon}) U^\top`; ``inverse_transform(X_white) == X_white @
        dewhitening_ + mean_``.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X` has
        feature names that are all strings.

    See Also
    --------
    normalize_patches : The tutorial's normalisation of natural-image patches
        for the sigmoid decoder.
    sklearn_sae.SparseAutoencoder : Its linear decoder, ``decoder="linear"``,
        takes ZCA-whitened input.
    sklearn.decomposition.PCA : With ``whiten=True``, PCA whitening (and
        dimensionality reduction).

    Notes
    -----
    Input of dtype float32 is transformed in float32 and the fitted arrays
    are stored in float32; the mean, the covariance and its eigendecomposition
    are computed in float64 in any case. Any other input is converted to
    float64. Sparse input is not accepted: centring makes the data dense, and
    the whitened output is dense anyway.

    ``fit`` accumulates the covariance over blocks of rows, so it needs no
    centred copy of the data; ``transform`` and ``inverse_transform`` also
    work block by block, in place in the output array.

    ``fit``, ``transform`` and ``inverse_transform`` run BLAS and LAPACK on
    one thread, as the autoencoders' fits do, so that their results do not
    depend on the number of BLAS threads.

    References
    ----------
    .. [1] Stanford UFLDL Tutorial, "Whitening", "Implementing PCA/Whitening",
       "Exercise: PCA and Whitening" and "Linear Decoders",
       http://ufldl.stanford.edu/wiki/
    .. [2] A. J. Bell and T. J. Sejnowski, "The 'independent components' of
       natural scenes are edge filters", Vision Research 37(23), 1997.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sae.preprocessing import ZCAWhitener
    >>> rng = np.random.RandomState(0)
    >>> mixing = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.5]])
    >>> X = rng.normal(size=(500, 3)) @ mixing + 5.0
    >>> zca = ZCAWhitener(epsilon=0.0).fit(X)
    >>> X_white = zca.transform(X)
    >>> np.allclose(X_white.T @ X_white / len(X), np.eye(3))
    True
    >>> np.array_equal(zca.whitening_, zca.whitening_.T)
    True
    >>> np.allclose(zca.inverse_transform(X_white), X)
    True
    """

    _parameter_constraints: dict = {
        "epsilon": [StrictInterval(Real, 0, None, closed="left")],
        "copy": ["boolean"],
    }

    def __init__(self, epsilon=0.1, *, copy=True):
        self.epsilon = epsilon
        self.copy = copy

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the mean, the covariance's eigenvectors and the whitening matrix.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted whitener.
        """
        check_not_none(X, self)
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        # Single-threaded BLAS and LAPACK, as the autoencoders train: some
        # OpenBLAS builds (those of NumPy 1.x's wheels) round the products and
        # the eigendecomposition differently for different thread counts, and
        # the fitted whitener must not depend on them (GridSearchCV's worker
        # processes get fewer threads than their parent).
        with single_threaded_blas():
            self._fit(X)
        return self

    def _fit(self, X):
        """Set the fitted attributes from the validated training data X."""
        n_samples, n_features = X.shape
        mean = X.mean(axis=0, dtype=np.float64)
        cov = np.zeros((n_features, n_features))
        for rows in _row_blocks(n_samples, n_features):
            block = np.subtract(X[rows], mean, dtype=np.float64)
            cov += block.T @ block
        cov /= n_samples

        s, U = np.linalg.eigh(cov)
        s = np.maximum(s[::-1], 0.0)
        U = U[:, ::-1]
        # Deterministic signs: the largest entry of each eigenvector positive.
        largest = np.argmax(np.abs(U), axis=0)
        U *= np.sign(U[largest, np.arange(n_features)])

        tolerance = n_features * np.finfo(np.float64).eps * s[0]
        # 1 / sqrt(s + epsilon) must also stay finite in float32, in which
        # float32 data are whitened (a tiny epsilon on constant data would
        # give an infinite whitening_).
        float32_max = float(np.finfo(np.float32).max)
        tolerance = max(tolerance, (2 * n_features / float32_max) ** 2)
        n_null = int(np.count_nonzero(s + self.epsilon <= tolerance))
        if n_null:
            raise ValueError(
                f"ZCAWhitener(epsilon={self.epsilon!r}) cannot whiten X: "
                f"{n_null} eigenvalue(s) of its covariance plus epsilon are zero "
                "(up to rounding), so 1 / sqrt(eigenvalue + epsilon) is "
                "infinite. With epsilon=0, X must have full rank: at least "
                "n_features + 1 samples (here "
                f"{n_samples} samples and {n_features} features) and linearly "
                "independent features. Set epsilon > 0 to regularise."
            )
        scale = np.sqrt(s + self.epsilon)

        dtype = X.dtype
        self.mean_ = mean.astype(dtype)
        self.components_ = np.ascontiguousarray(U.T, dtype=dtype)
        self.explained_variance_ = s.astype(dtype)
        self.whitening_ = _symmetric(U, 1.0 / scale).astype(dtype, copy=False)
        self.dewhitening_ = _symmetric(U, scale).astype(dtype, copy=False)

    def _apply(self, X, matrix, before, after):
        """Overwrite X, block by block, with ``(X - before) @ matrix + after``."""
        if not X.flags.writeable:
            X = X.copy()
        matrix = matrix.astype(X.dtype, copy=False)
        # Single-threaded BLAS, as in fit: the output, which may be the next
        # estimator's training data, must not depend on the thread count.
        with single_threaded_blas():
            for rows in _row_blocks(X.shape[0], X.shape[1], X.dtype.itemsize):
                block = X[rows]
                if before is not None:
                    block = block - before
                block = block @ matrix
                if after is not None:
                    block += after
                X[rows] = block
        return X

    def transform(self, X):
        """Centre X with the training mean and whiten it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to whiten.

        Returns
        -------
        X_white : ndarray of shape (n_samples, n_features)
            ``(X - mean_) @ whitening_``, of the dtype of X (float32 or
            float64).
        """
        check_is_fitted(self)
        check_not_none(X, self)
        X = validate_data(
            self, X, dtype=(np.float64, np.float32), copy=self.copy, reset=False
        )
        return self._apply(
            X, self.whitening_, self.mean_.astype(X.dtype, copy=False), None
        )

    def inverse_transform(self, X):
        """Map whitened data back to the original space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Whitened data, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``X @ dewhitening_ + mean_``, of the dtype of X (float32 or
            float64); it recovers the data that :meth:`transform` whitened.
        """
        check_is_fitted(self)
        X = check_inverse_transform_input(
            self, X, self.whitening_.shape[0], "n_features_in_", copy=self.copy
        )
        return self._apply(
            X, self.dewhitening_, None, self.mean_.astype(X.dtype, copy=False)
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


@validate_params(
    {
        "X": ["array-like"],
        "n_std": [StrictInterval(Real, 0, None, closed="neither")],
        "copy": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def normalize_patches(X, *, n_std=3.0, copy=True):
    r"""Normalise natural-image patches into [0.1, 0.9], as the UFLDL tutorial does.

    The normalisation of ``sampleIMAGES.m`` in the tutorial's sparse
    autoencoder exercise, for inputs of an autoencoder with a sigmoid decoder,
    whose reconstructions lie in [0, 1]. Each row of ``X`` is one patch of
    ``d`` pixels. Each patch loses its own mean (its brightness),

    .. math::

        \tilde x_{ij} = x_{ij} - \frac{1}{d} \sum_{k=1}^d x_{ik};

    the result is truncated to plus or minus ``n_std`` standard deviations,
    where the standard deviation :math:`\sigma` is that of all the entries of
    :math:`\tilde X` together (``std(patches(:))``, MATLAB's sample standard
    deviation, normalised by the number of entries minus one),

    .. math::

        p = n_{\mathrm{std}} \, \sigma, \qquad
        t_{ij} = \min(\max(\tilde x_{ij}, -p), p);

    and [-p, p] is mapped linearly onto [0.1, 0.9],

    .. math::

        y_{ij} = \frac{t_{ij} + p}{p} \, 0.4 + 0.1.

    A patch of constant pixels becomes 0.5 everywhere; so does every patch
    when all of them are constant (:math:`p = 0`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Patches, one per row (for instance 8 x 8 grey-level patches
        flattened to 64 features).

    n_std : float, default=3.0
        Truncation point, in standard deviations; ``n_std > 0``.

    copy : bool, default=True
        If False and X is already a writeable NumPy array of dtype float32 or
        float64, X is normalised in place and returned.

    Returns
    -------
    X_normalized : ndarray of shape (n_samples, n_features)
        The normalised patches, with values in [0.1, 0.9], of dtype float32
        for float32 input and float64 otherwise.

    See Also
    --------
    ZCAWhitener : The tutorial's preprocessing for the linear decoder.
    sklearn.feature_extraction.image.extract_patches_2d : Sample patches from
        an image.

    References
    ----------
    .. [1] Stanford UFLDL Tutorial, "Exercise: Sparse Autoencoder" (the
       function ``normalizeData`` of ``sampleIMAGES.m``),
       http://ufldl.stanford.edu/wiki/

    Examples
    --------
    >>> from sklearn.datasets import load_sample_image
    >>> from sklearn.feature_extraction.image import extract_patches_2d
    >>> from sklearn_sae.preprocessing import normalize_patches
    >>> image = load_sample_image("china.jpg").mean(axis=2)  # grey levels
    >>> patches = extract_patches_2d(image, (8, 8), max_patches=1000, random_state=0)
    >>> X = normalize_patches(patches.reshape(len(patches), -1))
    >>> X.shape
    (1000, 64)
    >>> bool(X.min() >= 0.1 and X.max() <= 0.9)
    True
    """
    X = check_array(X, dtype=(np.float64, np.float32), copy=copy, input_name="X")
    if not X.flags.writeable:
        X = X.copy()
    X -= X.mean(axis=1, keepdims=True, dtype=np.float64)
    # MATLAB's std(patches(:)), accumulated in float64 over blocks of rows.
    std = 0.0
    if X.size > 1:
        grand_mean = X.mean(dtype=np.float64)
        sum_of_squares = 0.0
        for rows in _row_blocks(*X.shape):
            block = np.subtract(X[rows], grand_mean, dtype=np.float64)
            sum_of_squares += float(np.vdot(block, block))
        std = np.sqrt(sum_of_squares / (X.size - 1))
    p = n_std * float(std)
    if p == 0.0:
        X.fill(0.5)
        return X
    X += p
    X *= 0.4 / p
    X += 0.1
    # The map is increasing, so truncating to [-p, p] before it is clipping to
    # [0.1, 0.9] after it; this way rounding cannot leave the range either.
    np.clip(X, 0.1, 0.9, out=X)
    return X
