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

import itertools
import os
import queue
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot
from threadpoolctl import threadpool_info

# Rows per block in the backward pass: the (rows, n_features) work arrays stay
# near this many bytes, small enough to live in cache, large enough for BLAS to
# run at full speed.
_BLOCK_BYTES = 1 << 20

# The rows are split into chunks whose number depends on the size of the
# problem alone, never on the number of threads. Each chunk sums its own share
# of the loss and gradient, and the shares are added in chunk order, so the
# result is bitwise the same on one thread or on many: in GridSearchCV's worker
# processes (which get fewer BLAS threads than their parent) as in the parent.
# Threads take the chunks in turn. The number of chunks is also the most
# threads an objective uses.
_MAX_CHUNKS = 8

# A chunk, and the thread that may run it, is worth its hand-over cost only
# with at least this much work, counted in multiply-adds of the matrix
# products plus a few per element of the elementwise work, and at least this
# many rows. (On two cores, 10,000 x 64 samples with 25 hidden units, about
# 34 million, ran fastest in four chunks.)
_MIN_WORK_PER_CHUNK = 8_000_000
_MIN_ROWS_PER_CHUNK = 64


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

    Through NumPy's ``exp``, in four passes: faster than
    :func:`scipy.special.expit` by about 3x in float32 (NumPy's vectorised
    ``exp``) and 15% in float64, measured per element on blocks of the
    objective's size. Accurate to a few ulps; saturates to exactly 0 or 1.
    """
    if out is None:
        out = np.empty_like(Z)
    np.negative(Z, out=out)
    # exp overflows to inf past 88.7 in float32, 709.8 in float64 (the result
    # is 1 / inf = 0) and underflows to 0 far below (the result is 1): both
    # are exact saturation.
    with np.errstate(over="ignore", under="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def encode(X, W1, b1, out=None, *, k=None):
    """Hidden activations of X, dense, in ``W1.dtype``.

    ``sigmoid(X W1^T + b1)``; with ``k``, the linear units ``X W1^T + b1``
    of which only the ``k`` largest of each row are kept (see
    :func:`keep_top_k`). ``X`` may be dense (any memory layout) or a CSR
    matrix.
    """
    if out is None:
        out = np.empty((X.shape[0], W1.shape[0]), dtype=W1.dtype)
    if sp.issparse(X):
        out[...] = safe_sparse_dot(X, W1.T, dense_output=True)
    else:
        np.matmul(X, W1.T, out=out)
    out += b1
    if k is None:
        return sigmoid(out, out=out)
    return keep_top_k(out, k)


def keep_top_k(Z, k):
    """Set all but the ``k`` largest entries of each row of ``Z`` to zero, in place.

    Exactly ``n_columns - k`` entries per row are zeroed; among equal values
    the choice is NumPy's :func:`~numpy.argpartition`'s. The work goes
    through blocks of rows, so the index temporaries stay small.
    """
    n_rows, n_columns = Z.shape
    n_drop = n_columns - k
    if n_drop <= 0:
        return Z
    step = max(1, _BLOCK_BYTES // (8 * n_columns))
    for start in range(0, n_rows, step):
        block = Z[start : start + step]
        smallest = np.argpartition(block, n_drop - 1, axis=1)[:, :n_drop]
        np.put_along_axis(block, smallest, 0, axis=1)
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
    step = max(1, _BLOCK_BYTES // (8 * n_features))
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


def _csr_rows(X, start, stop):
    """Rows ``start:stop`` of the CSR matrix X, sharing X's data and indices."""
    begin, end = X.indptr[start], X.indptr[stop]
    data, indices = X.data[begin:end], X.indices[begin:end]
    rows = sp.csr_matrix(
        (data, indices, X.indptr[start : stop + 1] - begin),
        shape=(stop - start, X.shape[1]),
    )
    # The constructor copies views of much larger arrays: put the views back.
    rows.data, rows.indices = data, indices
    return rows


def _block_rows(n_samples, n_features, itemsize):
    return int(max(1, min(n_samples, _BLOCK_BYTES // (itemsize * n_features))))


def default_n_threads():
    """Threads for the objective: as many as BLAS may use now, at least one.

    Users limit them as they limit BLAS, with ``threadpoolctl`` or the
    ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` variables.
    """
    counts = [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]
    return max(1, min(counts) if counts else os.cpu_count() or 1)


class _RowThreads:
    """Rows split into chunks, and the threads that run them.

    The scaffolding the objectives share. :meth:`_start_chunks` splits the
    rows into contiguous chunks, whose number depends on the size of the
    problem alone (see ``_MAX_CHUNKS``), and makes one set of work arrays per
    thread; :meth:`_each_chunk` runs a task on every chunk, each thread taking
    chunks in turn with its own work arrays. Each chunk accumulates its own
    share of the results, which the objective adds in chunk order: the result
    does not depend on the number of threads. The object is a context manager
    that stops its threads on exit.
    """

    def _start_chunks(
        self, n_samples, work_per_row, n_chunks, n_threads, make_chunk, make_scratch
    ):
        """Create ``make_chunk(start, stop)`` per chunk, ``make_scratch()`` per thread.

        ``work_per_row`` is the work one row costs an evaluation, in
        multiply-adds; with ``n_chunks=None`` it decides how many chunks are
        worth their hand-over cost, at most ``_MAX_CHUNKS``. ``n_threads=None``
        means as many as BLAS may use; there are never more threads than
        chunks.
        """
        if n_chunks is None:
            n_chunks = min(
                _MAX_CHUNKS,
                n_samples * work_per_row // _MIN_WORK_PER_CHUNK,
                n_samples // _MIN_ROWS_PER_CHUNK,
            )
        n_chunks = max(1, min(n_chunks, n_samples))
        if n_threads is None:
            n_threads = default_n_threads()
        n_threads = max(1, min(n_threads, n_chunks))
        bounds = [n_samples * i // n_chunks for i in range(n_chunks + 1)]
        self._chunks = [
            make_chunk(start, stop) for start, stop in itertools.pairwise(bounds)
        ]
        self._scratch = queue.SimpleQueue()
        for _ in range(n_threads):
            self._scratch.put(make_scratch())
        self.n_threads = n_threads
        self._executor = ThreadPoolExecutor(n_threads) if n_threads > 1 else None

    @property
    def n_chunks(self):
        """Number of chunks the rows are split into."""
        return len(self._chunks)

    def _each_chunk(self, task):
        """Run ``task(chunk, scratch)`` for every chunk, in parallel if threaded."""

        def run(chunk):
            scratch = self._scratch.get()
            try:
                task(chunk, scratch)
            finally:
                self._scratch.put(scratch)

        if self._executor is None:
            for chunk in self._chunks:
                run(chunk)
        else:
            # list() waits for every task and re-raises the first exception.
            list(self._executor.map(run, self._chunks))

    def _summed_gradient(self):
        """The chunks' gradients added in chunk order, in float64."""
        chunks = self._chunks
        gradient = chunks[0].grad.astype(np.float64)
        for chunk in chunks[1:]:
            gradient += chunk.grad
        return gradient

    def close(self):
        """Stop the worker threads."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class _BlasSums:
    """Sums over blocks of rows, by NumPy's BLAS, with nothing allocated per block.

    Each block's weight-gradient product and per-unit (column) sums are
    written by ``np.matmul`` into a work array made once, then added to the
    chunk's total. NumPy lets go of the GIL inside BLAS, so the threads of an
    objective run these calls side by side. SciPy's BLAS wrappers
    (``get_blas_funcs``) could add into the total in place (``beta=1``), but
    they hold the GIL for the whole call, and two threads then take turns:
    ``benchmarks/bench_threads.py --parts blas`` times both.

    Parameters
    ----------
    dtype : dtype
        float32 or float64.

    rows : int
        The most rows of a block.

    product_shapes : list of tuple
        Shapes of the totals that :meth:`add_product` adds to. Either side of
        a shape may be the width of a block that :meth:`column_sums` takes.
    """

    def __init__(self, dtype, rows, product_shapes):
        self.ones = np.ones(rows, dtype=dtype)
        self.product_blocks = {
            shape: np.empty(shape, dtype=dtype) for shape in product_shapes
        }
        lengths = {n for shape in product_shapes for n in shape}
        self.sum_blocks = {n: np.empty(n, dtype=dtype) for n in lengths}

    def column_sums(self, block):
        """``block.sum(axis=0)`` as one matrix-vector product, into a work array.

        The result is overwritten by the next call for the same width.
        """
        ones = self.ones[: block.shape[0]]
        return np.matmul(ones, block, out=self.sum_blocks[block.shape[1]])

    def add_column_sums(self, block, total):
        """``total += block.sum(axis=0)``."""
        total += self.column_sums(block)

    def add_product(self, left, right, total):
        """``total += left.T @ right``."""
        block = self.product_blocks[total.shape]
        np.matmul(left.T, right, out=block)
        total += block


class _Scratch(_BlasSums):
    """One thread's work arrays: one block of rows of every temporary."""

    def __init__(self, objective):
        X = objective.X
        dtype = X.dtype
        h, d = objective.layout.n_components, objective.layout.n_features
        rows = min(objective._block_rows, max(X.shape[0], 1))
        super().__init__(dtype, rows, [(h, d)])
        self.out = np.empty((rows, d), dtype=dtype)
        self.residual = np.empty((rows, d), dtype=dtype)
        self.x_dense = np.empty((rows, d), dtype=dtype) if sp.issparse(X) else None
        masked = objective.input_mask is not None
        self.x_masked = np.empty((rows, d), dtype=dtype) if masked else None
        self.delta_hidden = np.empty((rows, h), dtype=dtype)
        self.slope_hidden = np.empty((rows, h), dtype=dtype)
        self.dropped = np.empty((rows, h), dtype=bool) if objective.k else None


class _Chunk:
    """A contiguous range of rows and its share of the loss and gradient.

    The chunk walks its rows one block at a time, in the work arrays of the
    thread that runs it (a :class:`_Scratch`), so that the (rows, n_features)
    temporaries stay in cache.
    """

    def __init__(self, objective, start, stop):
        self.objective = objective
        self.X = X = objective.X
        self.start, self.stop = start, stop
        self.block_rows = objective._block_rows
        self.layout = layout = objective.layout
        if sp.issparse(X):
            # Views of the CSR arrays, made once: slicing X would copy them.
            self.sparse_blocks = [
                _csr_rows(X, block_start, block_stop)
                for _, block_start, block_stop in self.blocks()
            ]
        else:
            self.sparse_blocks = None
        self.grad = np.empty(layout.size, dtype=X.dtype)
        self.hidden_sum = np.empty(layout.n_components, dtype=np.float64)
        self.squared_error = 0.0

    def blocks(self):
        """``(block_index, start, stop)`` of each block of this chunk's rows."""
        for index, start in enumerate(range(self.start, self.stop, self.block_rows)):
            yield index, start, min(start + self.block_rows, self.stop)

    def rows(self, index, start, stop, scratch):
        """Rows ``start:stop`` (block ``index``) of X as a dense C-ordered array."""
        if self.sparse_blocks is None:
            return self.X[start:stop]
        x = scratch.x_dense[: stop - start]
        return self.sparse_blocks[index].toarray(out=x)

    def input_rows(self, index, start, stop, scratch, x=None):
        """Rows ``start:stop`` as the encoder reads them: masked, if denoising.

        ``x`` is the clean dense block when the caller has it already. Without
        a mask, sparse rows stay sparse.
        """
        mask = self.objective.input_mask
        if mask is None:
            if x is not None:
                return x
            if self.sparse_blocks is not None:
                return self.sparse_blocks[index]
            return self.X[start:stop]
        if x is None:
            x = self.rows(index, start, stop, scratch)
        out = scratch.x_masked[: stop - start]
        return apply_mask(x, mask[start:stop], out=out)

    def encode(self, W1, b1, hidden, scratch):
        """Fill this chunk's rows of ``hidden``; sum them per unit."""
        k = self.objective.k
        self.hidden_sum.fill(0)
        for index, start, stop in self.blocks():
            x = self.input_rows(index, start, stop, scratch)
            a = encode(x, W1, b1, out=hidden[start:stop], k=k)
            # Per block in the data's dtype, across blocks in float64.
            self.hidden_sum += scratch.column_sums(a)

    def backward(self, W2T, b2, hidden, sparsity_delta, scratch):
        """Accumulate the reconstruction error and the unscaled gradient.

        With tied weights ``gW1`` and ``gW2T`` are one view, which therefore
        receives the sum of both weight gradients.
        """
        objective = self.objective
        linear_decoder = objective.decoder == "linear"
        linear_hidden = objective.k is not None
        self.grad.fill(0)
        gW1, gW2T, gb1, gb2 = self.layout.unpack(self.grad)
        squared_error = 0.0
        for index, start, stop in self.blocks():
            n = stop - start
            a = hidden[start:stop]
            x = self.rows(index, start, stop, scratch)
            out = decode(a, W2T, b2, out=scratch.out[:n], linear=linear_decoder)

            # delta3 = (x_hat - x) * x_hat * (1 - x_hat), built in place; the
            # linear decoder's is the residual alone.
            delta3 = np.subtract(out, x, out=scratch.residual[:n])
            squared_error += float(np.vdot(delta3, delta3))
            if not linear_decoder:
                delta3 *= out
                np.subtract(1, out, out=out)
                delta3 *= out

            scratch.add_product(a, delta3, gW2T)
            scratch.add_column_sums(delta3, gb2)

            # delta2 = (delta3 W2 + beta * sparsity') * a * (1 - a) for sigmoid
            # units; the k-sparse autoencoder's linear units pass delta3 W2
            # through where they were kept and stop it where they were zeroed.
            delta2 = np.matmul(delta3, W2T.T, out=scratch.delta_hidden[:n])
            if linear_hidden:
                dropped = np.equal(a, 0, out=scratch.dropped[:n])
                np.copyto(delta2, 0, where=dropped)
            else:
                if sparsity_delta is not None:
                    delta2 += sparsity_delta
                slope = np.subtract(1, a, out=scratch.slope_hidden[:n])
                slope *= a
                delta2 *= slope

            x_in = self.input_rows(index, start, stop, scratch, x)
            scratch.add_product(delta2, x_in, gW1)
            scratch.add_column_sums(delta2, gb1)
        self.squared_error = squared_error


class SparseAutoencoderObjective(_RowThreads):
    """Loss and gradient of the sparse autoencoder on fixed training data.

    Calling the object with a float64 parameter vector (see
    :class:`ParameterLayout`) returns ``(loss, gradient)``, the form
    ``scipy.optimize.minimize(..., jac=True)`` expects. The arithmetic runs in
    the dtype of ``X`` (float32 or float64); the loss is accumulated and the
    gradient returned in float64.

    The rows are split into contiguous chunks, which threads take in turn;
    each chunk is walked in blocks, so the elementwise work runs on every
    core, not only the matrix products. Each chunk sums its share of the loss
    and gradient and the shares are added in chunk order, so the result is
    bitwise the same for any number of threads, and from call to call. The
    number of chunks depends on the size of the problem (different numbers
    of chunks differ by float rounding). The matrix products are best run
    with single-threaded BLAS, as :func:`sklearn_sae._optimize.minimize_lbfgs`
    does.

    Memory stays bounded: besides the hidden activations of all samples
    (n_samples, n_components), which the sparsity term needs before any
    back-propagation can start, each thread's work arrays hold one block of
    rows, and each chunk one gradient.

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

    n_chunks : int, default=None
        Number of chunks of rows. None picks it from the size of the problem:
        one for small problems, at most ``_MAX_CHUNKS``.

    n_threads : int, default=None
        Threads running the chunks. None means as many as BLAS may use
        (:func:`default_n_threads`); never more than there are chunks.
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
        self.layout = ParameterLayout(n_features, n_components, tied_weights)
        self.dtype = X.dtype
        self._params = np.empty(self.layout.size, dtype=self.dtype)
        self._hidden = np.empty((n_samples, n_components), dtype=self.dtype)
        self._block_rows = _block_rows(n_samples, n_features, self.dtype.itemsize)
        self._start_chunks(
            n_samples,
            n_components * n_features + 20 * (n_components + n_features),
            n_chunks,
            n_threads,
            lambda start, stop: _Chunk(self, start, stop),
            lambda: _Scratch(self),
        )

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

    def __call__(self, theta):
        """Return ``(loss, gradient)`` at the float64 parameter vector ``theta``."""
        n_samples = self.X.shape[0]
        layout = self.layout
        params = self._params
        np.copyto(params, theta, casting="same_kind")
        W1, W2T, b1, b2 = layout.unpack(params)
        hidden = self._hidden
        chunks = self._chunks

        # Forward pass through the encoder for every sample: the sparsity term
        # needs the mean activation before back-propagation can start.
        self._each_chunk(lambda chunk, scratch: chunk.encode(W1, b1, hidden, scratch))
        rho_hat = sum(chunk.hidden_sum for chunk in chunks) / n_samples
        penalty, sparsity_delta = self._sparsity(rho_hat)

        self._each_chunk(
            lambda chunk, scratch: chunk.backward(
                W2T, b2, hidden, sparsity_delta, scratch
            )
        )
        gradient = self._summed_gradient()
        gradient /= n_samples
        squared_error = sum(chunk.squared_error for chunk in chunks)

        weights = theta[: layout.n_weights]
        gradient[: layout.n_weights] += self.alpha * weights
        loss = (
            squared_error / (2 * n_samples)
            + 0.5 * self.alpha * float(np.dot(weights, weights))
            + penalty
        )
        return loss, gradient
