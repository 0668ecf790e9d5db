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

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

# Rows per block in the backward pass: the (rows, n_features) work arrays stay
# near this many bytes, small enough to live in cache, large enough for BLAS to
# run at full speed.
_BLOCK_BYTES = 1 << 20


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


def encode(X, W1, b1, out=None):
    """Hidden activations ``sigmoid(X W1^T + b1)``, dense, in ``W1.dtype``.

    ``X`` may be dense (any memory layout) or a CSR matrix.
    """
    if sp.issparse(X):
        Z = safe_sparse_dot(X, W1.T, dense_output=True)
        if out is None:
            out = np.ascontiguousarray(Z)
        else:
            out[...] = Z
    else:
        if out is None:
            out = np.empty((X.shape[0], W1.shape[0]), dtype=W1.dtype)
        np.matmul(X, W1.T, out=out)
    out += b1
    return expit(out, out=out)


def decode(A, W2T, b2, out=None):
    """Reconstruction ``sigmoid(A W2T + b2)`` from hidden activations ``A``."""
    if out is None:
        out = np.empty((A.shape[0], W2T.shape[1]), dtype=W2T.dtype)
    np.matmul(A, W2T, out=out)
    out += b2
    return expit(out, out=out)


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


class SparseAutoencoderObjective:
    """Loss and gradient of the sparse autoencoder on fixed training data.

    Calling the object with a float64 parameter vector (see
    :class:`ParameterLayout`) returns ``(loss, gradient)``, the form
    ``scipy.optimize.minimize(..., jac=True)`` expects. The arithmetic runs in
    the dtype of ``X`` (float32 or float64); the loss is accumulated and the
    gradient returned in float64.

    Memory stays bounded: besides the hidden activations of all samples
    (n_samples, n_components), which the sparsity term needs before any
    back-propagation can start, the work arrays hold one block of rows.

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
    """

    def __init__(self, X, n_components, *, rho, beta, alpha):
        self.X = X
        self.rho = float(rho)
        self.beta = float(beta)
        self.alpha = float(alpha)
        n_samples, n_features = X.shape
        self.layout = ParameterLayout(n_features, n_components)
        dtype = X.dtype
        self.dtype = dtype
        self._params = np.empty(self.layout.size, dtype=dtype)
        self._grad = np.empty(self.layout.size, dtype=dtype)
        self._hidden = np.empty((n_samples, n_components), dtype=dtype)
        rows = _block_rows(n_samples, n_features, dtype.itemsize)
        self._block_rows = rows
        self._out = np.empty((rows, n_features), dtype=dtype)
        self._residual = np.empty((rows, n_features), dtype=dtype)
        self._x_dense = (
            np.empty((rows, n_features), dtype=dtype) if sp.issparse(X) else None
        )
        self._delta_hidden = np.empty((rows, n_components), dtype=dtype)
        self._slope_hidden = np.empty((rows, n_components), dtype=dtype)
        self._weight_block = np.empty((n_components, n_features), dtype=dtype)

    def _rows(self, start, stop):
        """Rows ``start:stop`` of X as a dense C-ordered array."""
        if self._x_dense is None:
            return self.X[start:stop]
        return self.X[start:stop].toarray(out=self._x_dense[: stop - start])

    def __call__(self, theta):
        """Return ``(loss, gradient)`` at the float64 parameter vector ``theta``."""
        X = self.X
        n_samples = X.shape[0]
        layout = self.layout
        params = self._params
        np.copyto(params, theta, casting="same_kind")
        W1, W2T, b1, b2 = layout.unpack(params)

        grad = self._grad
        grad.fill(0)
        gW1, gW2T, gb1, gb2 = layout.unpack(grad)

        # Forward pass through the encoder for every sample: the sparsity term
        # needs the mean activation before back-propagation can start.
        hidden = encode(X, W1, b1, out=self._hidden)
        rho_hat = hidden.mean(axis=0, dtype=np.float64)
        if self.beta > 0:
            kl, kl_derivative = kl_divergence(self.rho, rho_hat)
            sparsity_delta = (self.beta * kl_derivative).astype(self.dtype)
        else:
            kl, sparsity_delta = 0.0, None

        squared_error = 0.0
        rows = self._block_rows
        weight_block = self._weight_block
        for start in range(0, n_samples, rows):
            stop = min(start + rows, n_samples)
            n = stop - start
            a = hidden[start:stop]
            x = self._rows(start, stop)
            out = decode(a, W2T, b2, out=self._out[:n])

            # delta3 = (x_hat - x) * x_hat * (1 - x_hat), built in place.
            delta3 = np.subtract(out, x, out=self._residual[:n])
            squared_error += float(np.vdot(delta3, delta3))
            delta3 *= out
            np.subtract(1, out, out=out)
            delta3 *= out

            np.matmul(a.T, delta3, out=weight_block)
            gW2T += weight_block
            gb2 += delta3.sum(axis=0)

            # delta2 = (delta3 W2 + beta * KL') * a * (1 - a).
            delta2 = np.matmul(delta3, W2T.T, out=self._delta_hidden[:n])
            if sparsity_delta is not None:
                delta2 += sparsity_delta
            slope = np.subtract(1, a, out=self._slope_hidden[:n])
            slope *= a
            delta2 *= slope

            np.matmul(delta2.T, x, out=weight_block)
            gW1 += weight_block
            gb1 += delta2.sum(axis=0)

        grad /= n_samples
        gradient = grad.astype(np.float64)
        weights = theta[: layout.n_weights]
        gradient[: layout.n_weights] += self.alpha * weights
        loss = (
            squared_error / (2 * n_samples)
            + 0.5 * self.alpha * float(np.dot(weights, weights))
            + self.beta * kl
        )
        return loss, gradient
