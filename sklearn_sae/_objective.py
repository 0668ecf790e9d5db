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
"""

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot
from threadpoolctl import threadpool_info

# Rows per block in the backward pass: the (rows, n_features) work arrays stay
# near this many bytes, small enough to live in cache, large enough for BLAS to
# run at full speed.
_BLOCK_BYTES = 1 << 20

# A thread is worth its hand-over cost (about half a millisecond per
# evaluation on two cores) only with at least this much work, counted in
# multiply-adds of the matrix products plus a few per element of the
# elementwise work, and at least this many rows.
_MIN_WORK_PER_THREAD = 3_000_000
_MIN_ROWS_PER_THREAD = 64


class ParameterLayout:
    """Packing of the four parameter arrays into one flat vector.

    The vector holds, in order, ``W1`` (n_components, n_features), ``W2T``
    (n_components, n_features), ``b1`` (n_components,) and ``b2``
    (n_features,). The two weight matrices come first so that the weight decay
    acts on one contiguous slice, ``vector[:n_weights]``.

    Parameters
    ----------
    n_features : int
        Number of visible units.

    n_components : int
        Number of hidden units.
    """

    def __init__(self, n_features, n_components):
        self.n_features = n_features
        self.n_components = n_components
        self.n_weights = 2 * n_components * n_features
        self.size = self.n_weights + n_components + n_features

    def unpack(self, vector):
        """Return views ``(W1, W2T, b1, b2)`` into ``vector``."""
        h, d = self.n_components, self.n_features
        hd = h * d
        W1 = vector[:hd].reshape(h, d)
        W2T = vector[hd : 2 * hd].reshape(h, d)
        b1 = vector[2 * hd : 2 * hd + h]
        b2 = vector[2 * hd + h :]
        return W1, W2T, b1, b2

    def pack(self, W1, W2T, b1, b2, dtype=np.float64):
        """Return a new flat vector holding the four arrays."""
        vector = np.empty(self.size, dtype=dtype)
        for view, value in zip(self.unpack(vector), (W1, W2T, b1, b2), strict=True):
            view[...] = value
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

    float32 goes through NumPy's vectorised ``exp``, about twice as fast as
    :func:`scipy.special.expit`, which is kept for float64 where it is the
    faster. Both are accurate to a few ulps and saturate to exactly 0 or 1.
    """
    if out is None:
        out = np.empty_like(Z)
    if Z.dtype != np.float32:
        return expit(Z, out=out)
    np.negative(Z, out=out)
    # exp overflows to inf past 88.7 (the result is 1 / inf = 0) and underflows
    # to 0 below -103 (the result is 1): both are exact saturation.
    with np.errstate(over="ignore", under="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def encode(X, W1, b1, out=None):
    """Hidden activations ``sigmoid(X W1^T + b1)``, dense, in ``W1.dtype``.

    ``X`` may be dense (any memory layout) or a CSR matrix.
    """
    if out is None:
        out = np.empty((X.shape[0], W1.shape[0]), dtype=W1.dtype)
    if sp.issparse(X):
        out[...] = safe_sparse_dot(X, W1.T, dense_output=True)
    else:
        np.matmul(X, W1.T, out=out)
    out += b1
    return sigmoid(out, out=out)


def decode(A, W2T, b2, out=None):
    """Reconstruction ``sigmoid(A W2T + b2)`` from hidden activations ``A``."""
    if out is None:
        out = np.empty((A.shape[0], W2T.shape[1]), dtype=W2T.dtype)
    np.matmul(A, W2T, out=out)
    out += b2
    return sigmoid(out, out=out)


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


class _Worker:
    """One thread's work arrays and gradient accumulators.

    Each worker owns a contiguous range of rows and walks through it one block
    at a time, so that the (rows, n_features) temporaries stay in cache.
    """

    def __init__(self, X, start, stop, layout, block_rows):
        self.X = X
        self.start, self.stop = start, stop
        self.block_rows = block_rows
        dtype = X.dtype
        h, d = layout.n_components, layout.n_features
        rows = min(block_rows, max(stop - start, 1))
        self.out = np.empty((rows, d), dtype=dtype)
        self.residual = np.empty((rows, d), dtype=dtype)
        self.x_dense = np.empty((rows, d), dtype=dtype) if sp.issparse(X) else None
        self.delta_hidden = np.empty((rows, h), dtype=dtype)
        self.slope_hidden = np.empty((rows, h), dtype=dtype)
        self.weight_block = np.empty((h, d), dtype=dtype)
        self.grad = np.empty(layout.size, dtype=dtype)
        self.layout = layout
        self.hidden_sum = np.empty(h, dtype=np.float64)
        self.squared_error = 0.0

    def blocks(self):
        for start in range(self.start, self.stop, self.block_rows):
            yield start, min(start + self.block_rows, self.stop)

    def rows(self, start, stop):
        """Rows ``start:stop`` of X as a dense C-ordered array."""
        if self.x_dense is None:
            return self.X[start:stop]
        return self.X[start:stop].toarray(out=self.x_dense[: stop - start])

    def encode(self, W1, b1, hidden):
        """Fill this worker's rows of ``hidden``; sum them per unit."""
        self.hidden_sum.fill(0)
        for start, stop in self.blocks():
            a = encode(self.X[start:stop], W1, b1, out=hidden[start:stop])
            self.hidden_sum += a.sum(axis=0, dtype=np.float64)

    def backward(self, W2T, b2, hidden, sparsity_delta):
        """Accumulate the reconstruction error and the unscaled gradient."""
        self.grad.fill(0)
        gW1, gW2T, gb1, gb2 = self.layout.unpack(self.grad)
        weight_block = self.weight_block
        squared_error = 0.0
        for start, stop in self.blocks():
            n = stop - start
            a = hidden[start:stop]
            x = self.rows(start, stop)
            out = decode(a, W2T, b2, out=self.out[:n])

            # delta3 = (x_hat - x) * x_hat * (1 - x_hat), built in place.
            delta3 = np.subtract(out, x, out=self.residual[:n])
            squared_error += float(np.vdot(delta3, delta3))
            delta3 *= out
            np.subtract(1, out, out=out)
            delta3 *= out

            np.matmul(a.T, delta3, out=weight_block)
            gW2T += weight_block
            gb2 += delta3.sum(axis=0)

            # delta2 = (delta3 W2 + beta * KL') * a * (1 - a).
            delta2 = np.matmul(delta3, W2T.T, out=self.delta_hidden[:n])
            if sparsity_delta is not None:
                delta2 += sparsity_delta
            slope = np.subtract(1, a, out=self.slope_hidden[:n])
            slope *= a
            delta2 *= slope

            np.matmul(delta2.T, x, out=weight_block)
            gW1 += weight_block
            gb1 += delta2.sum(axis=0)
        self.squared_error = squared_error


class SparseAutoencoderObjective:
    """Loss and gradient of the sparse autoencoder on fixed training data.

    Calling the object with a float64 parameter vector (see
    :class:`ParameterLayout`) returns ``(loss, gradient)``, the form
    ``scipy.optimize.minimize(..., jac=True)`` expects. The arithmetic runs in
    the dtype of ``X`` (float32 or float64); the loss is accumulated and the
    gradient returned in float64.

    The rows are split into one contiguous range per thread; each thread walks
    its range in blocks, so the elementwise work runs on every core, not only
    the matrix products. The results differ from a single thread's only by
    float rounding, and are the same from call to call for a given
    ``n_threads``. The matrix products are best run with single-threaded BLAS
    then, as :func:`sklearn_sae._optimize.minimize_lbfgs` does.

    Memory stays bounded: besides the hidden activations of all samples
    (n_samples, n_components), which the sparsity term needs before any
    back-propagation can start, each thread's work arrays hold one block of
    rows.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        Training data, float32 or float64. Dense input should be C-ordered.

    n_components : int
        Number of hidden units.

    rho : float
        Target mean activation of each hidden unit, in (0, 1).

    beta : float
        Weight of the sparsity penalty.

    alpha : float
        Weight decay (the tutorial's lambda).

    n_threads : int, default=None
        Threads to split the rows over. None means as many as BLAS may use
        (:func:`default_n_threads`), fewer for problems too small to gain
        from them.
    """

    def __init__(self, X, n_components, *, rho, beta, alpha, n_threads=None):
        self.X = X
        self.rho = float(rho)
        self.beta = float(beta)
        self.alpha = float(alpha)
        n_samples, n_features = X.shape
        self.layout = ParameterLayout(n_features, n_components)
        self.dtype = X.dtype
        self._params = np.empty(self.layout.size, dtype=self.dtype)
        self._hidden = np.empty((n_samples, n_components), dtype=self.dtype)
        self._block_rows = _block_rows(n_samples, n_features, self.dtype.itemsize)
        if n_threads is None:
            work = n_samples * (
                n_components * n_features + 20 * (n_components + n_features)
            )
            n_threads = min(
                default_n_threads(),
                work // _MIN_WORK_PER_THREAD,
                n_samples // _MIN_ROWS_PER_THREAD,
            )
        n_threads = max(1, min(n_threads, n_samples))
        bounds = [n_samples * k // n_threads for k in range(n_threads + 1)]
        self._workers = [
            _Worker(X, start, stop, self.layout, self._block_rows)
            for start, stop in itertools.pairwise(bounds)
        ]
        self._executor = ThreadPoolExecutor(n_threads) if n_threads > 1 else None

    @property
    def n_threads(self):
        return len(self._workers)

    def _each_worker(self, task):
        """Run ``task(worker)`` for every worker, in parallel when there are several."""
        if self._executor is None:
            task(self._workers[0])
        else:
            # list() waits for every task and re-raises the first exception.
            list(self._executor.map(task, self._workers))

    def close(self):
        """Stop the worker threads."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __call__(self, theta):
        """Return ``(loss, gradient)`` at the float64 parameter vector ``theta``."""
        n_samples = self.X.shape[0]
        layout = self.layout
        params = self._params
        np.copyto(params, theta, casting="same_kind")
        W1, W2T, b1, b2 = layout.unpack(params)
        hidden = self._hidden
        workers = self._workers

        # Forward pass through the encoder for every sample: the sparsity term
        # needs the mean activation before back-propagation can start.
        self._each_worker(lambda worker: worker.encode(W1, b1, hidden))
        rho_hat = sum(worker.hidden_sum for worker in workers) / n_samples
        if self.beta > 0:
            kl, kl_derivative = kl_divergence(self.rho, rho_hat)
            sparsity_delta = (self.beta * kl_derivative).astype(self.dtype)
        else:
            kl, sparsity_delta = 0.0, None

        self._each_worker(
            lambda worker: worker.backward(W2T, b2, hidden, sparsity_delta)
        )
        gradient = workers[0].grad.astype(np.float64)
        for worker in workers[1:]:
            gradient += worker.grad
        gradient /= n_samples
        squared_error = sum(worker.squared_error for worker in workers)

        weights = theta[: layout.n_weights]
        gradient[: layout.n_weights] += self.alpha * weights
        loss = (
            squared_error / (2 * n_samples)
            + 0.5 * self.alpha * float(np.dot(weights, weights))
            + self.beta * kl
        )
        return loss, gradient
