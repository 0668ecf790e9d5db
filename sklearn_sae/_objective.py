"""The sparse autoencoder objective: its loss and gradient.

This module is the one home of the model's mathematics. Estimators build a
:class:`SparseAutoencoderObjective` for their training data and hand it to the
optimizer driver in :mod:`sklearn_sae._optimize`; the forward pass used by
``transform`` and ``inverse_transform`` is :func:`encode` and :func:`decode`.

Notation follows the UFLDL tutorial (Ng, CS294A lecture notes). For ``m``
samples ``x`` with ``d`` features and ``h`` hidden units::

    a       = sigmoid(x W1^T + b1)               hidden activations, (m, h)
    x_hat   = sigmoid(a W2^T + b2)               reconstruction,     (m, d)
    rho_hat = mean of a over the samples         (h,)

    J = 1/(2m) sum ||x_hat - x||^2
        + alpha/2 (||W1||^2 + ||W2||^2)
        + beta sum_j KL(rho || rho_hat_j)

The decoder weights are stored transposed, ``W2T = W2^T`` of shape ``(h, d)``,
so that both weight matrices share one shape and one memory layout.

The tutorial's variants are switches of the same objective, not copies of it:

- ``decoder="linear"``: ``x_hat = a W2^T + b2`` (the linear decoder);
- ``sparsity="l1"``: ``beta sum_j rho_hat_j``, the mean L1 norm of the codes
  (the activations are positive), in place of the KL term;
- ``tied_weights=True``: ``W2T = W1``, one matrix, decayed once;
- ``input_mask``: a fixed masking noise, the denoising autoencoder: the
  encoder reads the masked input, the reconstruction targets the clean one;
- ``k``: linear hidden units of which only the ``k`` largest per sample are
  kept, the k-sparse autoencoder (Makhzani and Frey).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

from . import _rows
from ._rows import RowChunks

# Blocks of rows whose weight gradients are summed by one pair of products:
# a chunk's blocks, up to this many. Fewer, larger products add fewer
# partial products into the chunk's gradient.
_PANEL_BLOCKS = 8


class ParameterLayout:
    """Packing of the parameter arrays into one flat vector.

    The vector holds, in order, ``W1`` (n_components, n_features), ``W2T``
    (n_components, n_features), ``b1`` (n_components,) and ``b2``
    (n_features,). The weight matrices come first so that the weight decay
    acts on one contiguous slice, ``vector[:n_weights]``. With tied weights
    ``W2T`` is ``W1`` and the vector holds it once.

    Parameters
    ----------
    n_features : int
        Number of visible units.

    n_components : int
        Number of hidden units.

    tied_weights : bool, default=False
        Whether the decoder weights are the encoder's.
    """

    def __init__(self, n_features, n_components, tied_weights=False):
        self.n_features = n_features
        self.n_components = n_components
        self.tied_weights = tied_weights
        self.n_weights = (1 if tied_weights else 2) * n_components * n_features
        self.size = self.n_weights + n_components + n_features

    def unpack(self, vector):
        """Return views ``(W1, W2T, b1, b2)`` into ``vector``.

        With tied weights ``W2T`` is the same view as ``W1``.
        """
        h, d = self.n_components, self.n_features
        n_weights = self.n_weights
        W1 = vector[: h * d].reshape(h, d)
        W2T = W1 if self.tied_weights else vector[h * d : n_weights].reshape(h, d)
        b1 = vector[n_weights : n_weights + h]
        b2 = vector[n_weights + h :]
        return W1, W2T, b1, b2

    def pack(self, W1, W2T, b1, b2, dtype=np.float64):
        """Return a new flat vector holding the arrays.

        With tied weights ``W2T`` is not stored and may be None.
        """
        vector = np.empty(self.size, dtype=dtype)
        W1_view, W2T_view, b1_view, b2_view = self.unpack(vector)
        W1_view[...] = W1
        if not self.tied_weights:
            W2T_view[...] = W2T
        b1_view[...] = b1
        b2_view[...] = b2
        return vector

    def initialize(self, random_state):
        """Draw the tutorial's starting point as a float64 vector.

        Weights are uniform in ``+-sqrt(6 / (n_features + n_components + 1))``,
        biases are zero.
        """
        r = np.sqrt(6.0 / (self.n_features + self.n_components + 1))
        vector = np.zeros(self.size, dtype=np.float64)
        vector[: self.n_weights] = random_state.uniform(-r, r, self.n_weights)
        return vector


def sigmoid(Z, out=None):
    """Logistic function ``1 / (1 + exp(-Z))``, elementwise, in ``Z.dtype``.

    Through NumPy's vectorised ``exp`` in four in-place passes, which is
    faster than :func:`scipy.special.expit`. Accurate to a few ulps;
    saturates to exactly 0 or 1.
    """
    if out is None:
        out = np.empty_like(Z)
    np.negative(Z, out=out)
    return _logistic_of_negated(out)


def _logistic_of_negated(Z):
    """``1 / (1 + exp(Z))``, the logistic function of ``-Z``, in place.

    Three passes: the objective and the convolution compute ``-Z`` in their
    matrix products, with negated weights, and save :func:`sigmoid`'s
    negation. Negation is exact, so the result is bitwise :func:`sigmoid`'s
    of ``-Z``.
    """
    # exp overflows to inf past 88.7 in float32, 709.8 in float64 (the result
    # is 1 / inf = 0) and underflows to 0 far below (the result is 1): both
    # are exact saturation.
    with np.errstate(over="ignore", under="ignore"):
        np.exp(Z, out=Z)
    Z += 1
    return np.reciprocal(Z, out=Z)


def _affine(X, W, b, out):
    """``X W^T + b`` into ``out``; X dense (any memory layout) or CSR."""
    if sp.issparse(X):
        out[...] = safe_sparse_dot(X, W.T, dense_output=True)
    else:
        np.matmul(X, W.T, out=out)
    out += b
    return out


def encode(X, W1, b1, out=None, *, k=None):
    """Hidden activations of X, dense, in ``W1.dtype``.

    ``sigmoid(X W1^T + b1)``; with ``k``, the linear units ``X W1^T + b1``
    of which only the ``k`` largest of each row are kept (see
    :func:`keep_top_k`). ``X`` may be dense (any memory layout) or a CSR
    matrix.
    """
    if out is None:
        out = np.empty((X.shape[0], W1.shape[0]), dtype=W1.dtype)
    _affine(X, W1, b1, out)
    if k is None:
        return sigmoid(out, out=out)
    return keep_top_k(out, k)


def keep_top_k(Z, k):
    """Set all but the ``k`` largest entries of each row of ``Z`` to zero, in place.

    Exactly ``n_columns - k`` entries per row are zeroed; among equal values
    the choice is NumPy's :func:`~numpy.argpartition`'s. Each row's k-th
    largest value comes from a partition of the values alone, several times
    cheaper than partitioning their indices, and the row is multiplied by
    whether each entry reaches it; only rows where that value is tied go
    through :func:`~numpy.argpartition`. The work goes through blocks of
    rows, so the temporaries stay small.
    """
    n_rows, n_columns = Z.shape
    n_drop = n_columns - k
    if n_drop <= 0:
        return Z
    step = max(1, _rows._BLOCK_BYTES // (8 * n_columns))
    for start in range(0, n_rows, step):
        block = Z[start : start + step]
        kth = np.partition(block, n_drop, axis=1)[:, n_drop, None]
        keep = np.greater_equal(block, kth)
        tied = np.flatnonzero(np.count_nonzero(keep, axis=1) != k)
        if tied.size:
            rows = block[tied]
            smallest = np.argpartition(rows, n_drop - 1, axis=1)[:, :n_drop]
            np.put_along_axis(rows, smallest, 0, axis=1)
        np.multiply(block, keep, out=block)
        # A dropped negative entry is now -0.0; adding +0.0 makes it +0.0.
        block += 0
        if tied.size:
            block[tied] = rows
    return Z


def decode(A, W2T, b2, out=None, *, linear=False):
    """Reconstruction ``sigmoid(A W2T + b2)`` (or ``A W2T + b2`` if linear)."""
    if out is None:
        out = np.empty((A.shape[0], W2T.shape[1]), dtype=W2T.dtype)
    np.matmul(A, W2T, out=out)
    out += b2
    if linear:
        return out
    return sigmoid(out, out=out)


def masking_noise(n_samples, n_features, fraction, random_state):
    """Draw the denoising autoencoder's masking noise, packed into bits.

    In each row, ``round(fraction * n_features)`` entries chosen uniformly at
    random are masked (set to zero when the mask is applied), the others are
    kept. The mask is stored as bits, one per entry (see
    :func:`numpy.packbits`), an eighth of a byte where the data take four or
    eight.

    Returns
    -------
    mask : ndarray of shape (n_samples, ceil(n_features / 8)), dtype uint8
        Bit ``1`` keeps an entry, ``0`` masks it.
    """
    n_masked = round(fraction * n_features)
    mask = np.empty((n_samples, -(-n_features // 8)), dtype=np.uint8)
    step = max(1, _rows._BLOCK_BYTES // (8 * n_features))
    for start in range(0, n_samples, step):
        stop = min(start + step, n_samples)
        keep = np.ones((stop - start, n_features), dtype=bool)
        if n_masked > 0:
            scores = random_state.random_sample((stop - start, n_features))
            masked = np.argpartition(scores, n_masked - 1, axis=1)[:, :n_masked]
            np.put_along_axis(keep, masked, False, axis=1)
        mask[start:stop] = np.packbits(keep, axis=1)
    return mask


def apply_mask(X, mask, out=None):
    """``X`` with the entries whose bit is 0 in the packed ``mask`` set to zero."""
    keep = np.unpackbits(mask, axis=1, count=X.shape[1])
    return np.multiply(X, keep, out=out, dtype=X.dtype)


def kl_divergence(rho, rho_hat):
    """Sparsity penalty ``sum_j KL(rho || rho_hat_j)`` and its derivative.

    ``rho_hat`` is clipped one machine epsilon away from 0 and 1, so that the
    penalty and its derivative stay finite when hidden units saturate (a unit
    that is always on or always off). Away from those edges the values are
    exact.

    Returns
    -------
    penalty : float
        The summed divergence.

    derivative : ndarray of shape (n_components,)
        ``d penalty / d rho_hat_j = -rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j)``.
    """
    eps = np.finfo(np.float64).eps
    rho_hat = np.clip(rho_hat, eps, 1.0 - eps)
    penalty = np.sum(
        rho * np.log(rho / rho_hat)
        + (1.0 - rho) * np.log((1.0 - rho) / (1.0 - rho_hat))
    )
    derivative = (1.0 - rho) / (1.0 - rho_hat) - rho / rho_hat
    return float(penalty), derivative


class SparseAutoencoderObjective:
    """Loss and gradient of the sparse autoencoder on fixed training data.

    Calling the object with a float64 parameter vector (see
    :class:`ParameterLayout`) returns ``(loss, gradient)``, the form
    ``scipy.optimize.minimize(..., jac=True)`` expects. The arithmetic runs in
    the dtype of ``X`` (float32 or float64); the loss is accumulated and the
    gradient returned in float64.

    The rows are split into chunks that threads take in turn, and each chunk
    is walked in blocks of rows (:mod:`sklearn_sae._rows`): the result is
    bitwise the same for any number of threads. Memory beyond the data is the
    hidden activations of all samples, which the sparsity term needs before
    back-propagation can start, one block of rows of work arrays per thread
    (two of them, delta3 and delta2, span a panel of up to eight blocks, a
    chunk at most) and a few partial gradients per thread. The matrix
    products are best run with single-threaded BLAS, as
    :func:`sklearn_sae._optimize.minimize_lbfgs` does.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        Training data, float32 or float64. Dense input should be C-ordered.

    n_components : int
        Number of hidden units.

    rho : float, default=0.1
        Target mean activation of each hidden unit, in (0, 1), for the KL
        penalty.

    beta : float, default=0.0
        Weight of the sparsity penalty.

    alpha : float, default=0.0
        Weight decay (the tutorial's lambda).

    decoder : {"sigmoid", "linear"}, default="sigmoid"
        Output units of the reconstruction.

    sparsity : {"kl", "l1"}, default="kl"
        Sparsity penalty: ``beta sum_j KL(rho || rho_hat_j)``, or
        ``beta sum_j rho_hat_j``, the mean L1 norm of the (positive) codes.

    tied_weights : bool, default=False
        Decoder weights equal to the encoder's; the parameter vector holds
        them once (see :class:`ParameterLayout`).

    input_mask : ndarray of dtype uint8, default=None
        Packed masking noise from :func:`masking_noise`: the encoder reads X
        with the masked entries set to zero, the reconstruction is compared
        to the clean X.

    k : int, default=None
        If set, the hidden units are linear and only the ``k`` largest
        activations of each sample are kept, in the forward pass and in
        back-propagation; there is no sparsity penalty then (``beta`` must be
        0).

    n_chunks, n_threads : int, default=None
        Passed to :class:`sklearn_sae._rows.RowChunks`.

    Attributes
    ----------
    rows : RowChunks
        The chunks of rows and the threads that run them.
    """

    def __init__(
        self,
        X,
        n_components,
        *,
        rho=0.1,
        beta=0.0,
        alpha=0.0,
        decoder="sigmoid",
        sparsity="kl",
        tied_weights=False,
        input_mask=None,
        k=None,
        n_chunks=None,
        n_threads=None,
    ):
        if decoder not in ("sigmoid", "linear"):
            raise ValueError(f"decoder must be 'sigmoid' or 'linear', got {decoder!r}.")
        if sparsity not in ("kl", "l1"):
            raise ValueError(f"sparsity must be 'kl' or 'l1', got {sparsity!r}.")
        if k is not None and beta != 0:
            raise ValueError("The k-sparse objective has no sparsity penalty: beta=0.")
        self.X = X
        self.rho = float(rho)
        self.beta = float(beta)
        self.alpha = float(alpha)
        self.decoder = decoder
        self.sparsity = sparsity
        self.input_mask = input_mask
        self.k = k
        n_samples, n_features = X.shape
        h, d = n_components, n_features
        self.layout = ParameterLayout(n_features, n_components, tied_weights)
        self.dtype = X.dtype
        self._params = np.empty(self.layout.size, dtype=self.dtype)
        # The hidden activations of all samples, and a column of ones that
        # carries the decoder's bias through its products (see _backward).
        self._hidden = np.empty((n_samples, h + 1), dtype=self.dtype)
        # The weights as the products use them (see _forward and _backward):
        # the encoder's (W1, b1), and the decoder's W2T with b2 as one more
        # row, both negated in front of a logistic function.
        self._encoder_sign = 1 if k is not None else -1
        self._decoder_sign = 1 if decoder == "linear" else -1
        self._encoder = np.empty((h, d), dtype=self.dtype)
        self._encoder_bias = np.zeros(h + 1, dtype=self.dtype)
        self._decoder = np.empty((h + 1, d), dtype=self.dtype)

        def make_arrays(rows):
            # delta3 and delta2 span a panel of blocks (see _backward_chunk),
            # made at the first evaluation, when the chunks are known.
            arrays = {
                "out": np.empty((rows, d), dtype=self.dtype),
                "residual": None,
                "delta_hidden": None,
                "slope_hidden": np.empty((rows, h), dtype=self.dtype),
            }
            if input_mask is not None:
                arrays["x_masked"] = np.empty((rows, d), dtype=self.dtype)
            if k is not None:
                arrays["dropped"] = np.empty((rows, h), dtype=bool)
            return arrays

        self.rows = RowChunks(
            X,
            work_per_row=h * d + 20 * (h + d),
            width=d,
            grad_size=self.layout.size,
            product_shapes=[(h + 1, d), (h, d)],
            make_arrays=make_arrays,
            n_chunks=n_chunks,
            n_threads=n_threads,
        )
        longest = max(chunk.stop - chunk.start for chunk in self.rows.chunks)
        self._panel_blocks = max(
            1, min(_PANEL_BLOCKS, -(-longest // self.rows.block_rows))
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.rows.close()

    def _sparsity(self, rho_hat):
        """The sparsity penalty and its derivative in ``rho_hat`` (None if off)."""
        if self.beta == 0:
            return 0.0, None
        if self.sparsity == "l1":
            # |a| = a for sigmoid units: the penalty is linear in rho_hat.
            penalty = float(np.sum(rho_hat))
            derivative = np.ones_like(rho_hat)
        else:
            penalty, derivative = kl_divergence(self.rho, rho_hat)
        return self.beta * penalty, (self.beta * derivative).astype(self.dtype)

    def _input_rows(self, chunk, index, work, x=None):
        """Block ``index`` of ``chunk`` as the encoder reads it: masked if denoising.

        ``x`` is the clean dense block when the caller has it already. Without
        a mask, sparse rows stay sparse.
        """
        if self.input_mask is None:
            return chunk.stored_rows(index) if x is None else x
        if x is None:
            x = chunk.dense_rows(index, work)
        start, stop = chunk.blocks[index]
        out = work.x_masked[: stop - start]
        return apply_mask(x, self.input_mask[start:stop], out=out)

    def _encode_chunk(self, chunk, work):
        """Fill the chunk's rows of the hidden activations; return their unit sums."""
        h = self.layout.n_components
        hidden_sum = np.zeros(h, dtype=np.float64)
        for index, (start, stop) in enumerate(chunk.blocks):
            x = self._input_rows(chunk, index, work)
            rows = self._hidden[start:stop]
            a = rows[:, :h]
            if sp.issparse(x):
                a[...] = safe_sparse_dot(x, self._encoder.T, dense_output=True)
            else:
                np.matmul(x, self._encoder.T, out=a)
            if self.k is None:
                # The elementwise passes run over whole contiguous rows: the
                # column of ones holds -inf until the logistic function of
                # its negation, 1 / (1 + exp(-inf)), makes it exactly 1.
                rows[:, h] = -np.inf
                rows += self._encoder_bias  # negated; its last entry is 0
                _logistic_of_negated(rows)
                # Per block in the data's dtype, across blocks in float64.
                hidden_sum += work.sums.column_sums(rows)[:h]
            else:
                a += self._encoder_bias[:h]
                keep_top_k(a, self.k)
                rows[:, h] = 1
                hidden_sum += work.sums.column_sums(a)
        return hidden_sum

    def _gradient_views(self, grad):
        """Views of a chunk's gradient as the products fill it.

        ``grad`` holds ``W1``'s gradient, then the decoder's ``(W2T, b2)`` as
        one ``(h + 1, d)`` matrix, then ``b1``'s: the layout's order with
        ``b1`` and ``b2`` swapped. With tied weights the encoder's matrix is
        the decoder's first ``h`` rows, which therefore receive the sum of
        both weight gradients.
        """
        h, d = self.layout.n_components, self.layout.n_features
        n_weights = self.layout.n_weights
        encoder = grad[: h * d].reshape(h, d)
        decoder = grad[n_weights - h * d : n_weights + d].reshape(h + 1, d)
        return encoder, decoder, grad[n_weights + d :]

    def _backward_chunk(self, chunk, work, grad, sparsity_delta):
        """Fill ``grad`` with the chunk's unscaled gradient; return its squared error.

        ``grad`` is in the order of :meth:`_gradient_views`. The elementwise
        work runs block by block; delta3 and delta2 are kept for a panel of
        consecutive blocks, whose weight gradients are then two products, the
        hidden activations and dense input rows being views of whole panels.
        The first panel's products are written into ``grad``, the others'
        added to it.
        """
        h = self.layout.n_components
        linear_decoder = self.decoder == "linear"
        linear_hidden = self.k is not None
        negated = self._decoder_sign < 0
        decoder = self._decoder
        sums = work.sums
        if work.residual is None:
            rows = self._panel_blocks * self.rows.block_rows
            work.residual = np.empty((rows, self.layout.n_features), self.dtype)
            work.delta_hidden = np.empty((rows, h), self.dtype)
        # The input rows of a panel are a view of X if dense and unmasked;
        # otherwise each block's go into the encoder's gradient.
        panel_input = self.input_mask is None and not sp.issparse(self.X)
        # With tied weights the two weight gradients share their memory.
        write = panel_input and not self.layout.tied_weights
        g_encoder, g_decoder, gb1 = self._gradient_views(grad)
        if write:
            gb1.fill(0)
        else:
            grad.fill(0)
        squared_error = 0.0
        n_blocks = len(chunk.blocks)
        for first in range(0, n_blocks, self._panel_blocks):
            indices = range(first, min(first + self._panel_blocks, n_blocks))
            panel_start = chunk.blocks[first][0]
            for index in indices:
                start, stop = chunk.blocks[index]
                n = stop - start
                rows = slice(start - panel_start, stop - panel_start)
                # The hidden activations and a column of ones: their product
                # with the decoder adds its bias, the product of their
                # transpose with delta3 sums the bias's gradient.
                hidden = self._hidden[start:stop]
                a = hidden[:, :h]
                x = chunk.dense_rows(index, work)
                out = np.matmul(hidden, decoder, out=work.out[:n])
                if not linear_decoder:
                    _logistic_of_negated(out)  # the decoder is negated

                # delta3 = (x_hat - x) * x_hat * (1 - x_hat), built in place;
                # the linear decoder's is the residual alone.
                delta3 = np.subtract(out, x, out=work.residual[rows])
                squared_error += float(np.vdot(delta3, delta3))
                if not linear_decoder:
                    delta3 *= out
                    np.subtract(1, out, out=out)
                    delta3 *= out

                # delta2 = (delta3 W2 + beta * sparsity') * a * (1 - a) for
                # sigmoid units; the k-sparse autoencoder's linear units pass
                # delta3 W2 through where they were kept and stop it where
                # they were zeroed. The product with the negated decoder
                # gives -delta3 W2, whose sign goes into the other factors:
                # all exact.
                delta2 = np.matmul(delta3, decoder[:h].T, out=work.delta_hidden[rows])
                if linear_hidden:
                    if negated:
                        np.negative(delta2, out=delta2)
                    dropped = np.equal(a, 0, out=work.dropped[:n])
                    np.copyto(delta2, 0, where=dropped)
                else:
                    slope = work.slope_hidden[:n]
                    if negated:
                        if sparsity_delta is not None:
                            delta2 -= sparsity_delta
                        np.subtract(a, 1, out=slope)
                    else:
                        if sparsity_delta is not None:
                            delta2 += sparsity_delta
                        np.subtract(1, a, out=slope)
                    slope *= a
                    delta2 *= slope
                sums.add_column_sums(delta2, gb1)
                if not panel_input:
                    x_in = self._input_rows(chunk, index, work, x)
                    sums.add_product(delta2, x_in, g_encoder)

            panel_stop = chunk.blocks[indices[-1]][1]
            n = panel_stop - panel_start
            hidden = self._hidden[panel_start:panel_stop]
            delta3, delta2 = work.residual[:n], work.delta_hidden[:n]
            if write and first == 0:
                np.matmul(hidden.T, delta3, out=g_decoder)
                np.matmul(delta2.T, self.X[panel_start:panel_stop], out=g_encoder)
                continue
            sums.add_product(hidden, delta3, g_decoder)
            if panel_input:
                sums.add_product(delta2, self.X[panel_start:panel_stop], g_encoder)
        return squared_error

    def _forward(self, params):
        """Round one: fill the hidden activations; the unit sums of each chunk.

        ``params`` is the parameter vector in the dtype of X.
        """
        h = self.layout.n_components
        W1, _, b1, _ = self.layout.unpack(params)
        np.multiply(W1, self._encoder_sign, out=self._encoder)
        np.multiply(b1, self._encoder_sign, out=self._encoder_bias[:h])
        return self.rows.map(lambda chunk, work: self._encode_chunk(chunk, work))

    def _backward(self, params, sparsity_delta):
        """Round two: each chunk's squared error, and their gradients summed.

        The gradient is in the order of the parameter vector, in float64.
        """
        h = self.layout.n_components
        _, W2T, _, b2 = self.layout.unpack(params)
        np.multiply(W2T, self._decoder_sign, out=self._decoder[:h])
        np.multiply(b2, self._decoder_sign, out=self._decoder[h])
        squared_errors, gradient = self.rows.map_gradient(
            lambda chunk, work, grad: self._backward_chunk(
                chunk, work, grad, sparsity_delta
            )
        )
        # From the order of _gradient_views to the parameter vector's.
        n_weights, d = self.layout.n_weights, self.layout.n_features
        b2_grad = gradient[n_weights : n_weights + d].copy()
        gradient[n_weights : n_weights + h] = gradient[n_weights + d :]
        gradient[n_weights + h :] = b2_grad
        return squared_errors, gradient

    def __call__(self, theta):
        """Return ``(loss, gradient)`` at the float64 parameter vector ``theta``."""
        n_samples = self.X.shape[0]
        layout = self.layout
        params = self._params
        np.copyto(params, theta, casting="same_kind")

        # Forward pass through the encoder for every sample: the sparsity term
        # needs the mean activation before back-propagation can start.
        hidden_sums = self._forward(params)
        rho_hat = sum(hidden_sums) / n_samples
        penalty, sparsity_delta = self._sparsity(rho_hat)

        squared_errors, gradient = self._backward(params, sparsity_delta)
        gradient /= n_samples
        squared_error = sum(squared_errors)

        weights = theta[: layout.n_weights]
        gradient[: layout.n_weights] += self.alpha * weights
        loss = (
            squared_error / (2 * n_samples)
            + 0.5 * self.alpha * float(np.dot(weights, weights))
            + penalty
        )
        return loss, gradient
