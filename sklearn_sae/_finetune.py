"""The classifier's objective: softmax cross-entropy on top of sigmoid layers.

One objective serves both supervised stages of the UFLDL stacked-autoencoder
exercise. For ``m`` samples ``x`` with labels ``y`` (class indices), ``L``
sigmoid layers and a softmax layer over ``K`` classes::

    a_0 = x
    a_l = sigmoid(a_{l-1} W_l^T + b_l)           l = 1, ..., L
    z   = a_L W_{L+1}^T + b_{L+1}                class scores, (m, K)
    log p = z - logsumexp(z)                     log-softmax, row by row

    J = -1/m sum_i log p_{i, y_i} + sum_l alpha_l / 2 ||W_l||^2

Its gradient is back-propagation through the sigmoid layers::

    delta_{L+1} = (p - onehot(y)) / m
    delta_l     = (delta_{l+1} W_{l+1}) * a_l * (1 - a_l)
    dJ/dW_l     = delta_l^T a_{l-1} + alpha_l W_l,   dJ/db_l = sum_i delta_l

With no sigmoid layer (``L = 0``) it is softmax regression on ``x``, the stage
that trains the top layer on fixed features; with the pre-trained encoders
below it, it is the fine-tuning objective over all weights.

The work is organised as in :mod:`sklearn_sae._objective`: the float64
parameter vector is converted once per call to the dtype of the data, the rows
are split into chunks that threads take in turn, and each chunk is walked
one block of rows at a time, forward and backward, in preallocated
arrays. Nothing of size ``(n_samples, width)`` is allocated per call.
"""

import itertools

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

from ._objective import _BlasSums, _block_rows, _RowThreads, encode, sigmoid


class NetworkLayout:
    """Packing of a network's weights and biases into one flat vector.

    The network has ``len(layer_sizes) - 1`` layers; layer ``l`` maps
    ``layer_sizes[l]`` inputs to ``layer_sizes[l + 1]`` outputs with weights
    ``W`` of shape ``(n_out, n_in)`` (the layout of
    ``SparseAutoencoder.components_``) and biases of shape ``(n_out,)``. The
    vector holds every weight matrix, in layer order, then every bias vector,
    so that the weights of layer ``l`` are the slice :meth:`weight_slice`.

    Parameters
    ----------
    layer_sizes : sequence of int
        Widths from the input to the output: ``(n_features, h_1, ..., h_L,
        n_classes)``.
    """

    def __init__(self, layer_sizes):
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        if len(self.layer_sizes) < 2:
            raise ValueError("A network needs at least an input and an output size.")
        self.shapes = [
            (n_out, n_in) for n_in, n_out in itertools.pairwise(self.layer_sizes)
        ]
        sizes = [n_out * n_in for n_out, n_in in self.shapes]
        self._weight_bounds = [0, *itertools.accumulate(sizes)]
        self.n_weights = self._weight_bounds[-1]
        self._bias_bounds = [
            self.n_weights + b
            for b in [0, *itertools.accumulate(n_out for n_out, _ in self.shapes)]
        ]
        self.size = self._bias_bounds[-1]

    @property
    def n_layers(self):
        """Number of weight matrices (sigmoid layers plus the softmax layer)."""
        return len(self.shapes)

    def weight_slice(self, layer):
        """The slice of the vector holding the weights of ``layer``."""
        return slice(self._weight_bounds[layer], self._weight_bounds[layer + 1])

    def unpack(self, vector):
        """Return views ``(weights, biases)``, two lists, into ``vector``."""
        weights = [
            vector[self.weight_slice(layer)].reshape(shape)
            for layer, shape in enumerate(self.shapes)
        ]
        biases = [
            vector[start:stop] for start, stop in itertools.pairwise(self._bias_bounds)
        ]
        return weights, biases

    def pack(self, weights, biases, dtype=np.float64):
        """Return a new flat vector holding the given weights and biases."""
        vector = np.empty(self.size, dtype=dtype)
        views_w, views_b = self.unpack(vector)
        for view, value in zip(
            views_w + views_b, list(weights) + list(biases), strict=True
        ):
            view[...] = value
        return vector


def log_softmax(Z, out=None):
    """Row-wise ``log softmax(Z)``, computed stably (max subtracted first)."""
    if out is None:
        out = np.empty_like(Z)
    np.subtract(Z, Z.max(axis=1, keepdims=True), out=out)
    lse = np.exp(out).sum(axis=1, keepdims=True)
    out -= np.log(lse, out=lse)
    return out


def forward(X, weights, biases):
    """Class scores ``z`` of the network for ``X`` (dense or CSR), in its dtype.

    ``weights`` and ``biases`` are as :meth:`NetworkLayout.unpack` returns
    them, already of the dtype of the computation.
    """
    A = X
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        A = encode(A, W, b)
    Z = safe_sparse_dot(A, weights[-1].T, dense_output=True)
    Z += biases[-1]
    return Z


class _Scratch(_BlasSums):
    """One thread's work arrays: one block of rows of every layer's temporaries."""

    def __init__(self, X, layout, block_rows):
        dtype = X.dtype
        rows = min(block_rows, max(X.shape[0], 1))
        super().__init__(dtype, rows, layout.shapes)
        outputs = layout.layer_sizes[1:]
        # activations[l] is the output of layer l (the sigmoid layers, then
        # the scores, turned into log-probabilities in place); deltas[l] is the
        # error at that output; slopes[l] holds a_l (1 - a_l).
        self.activations = [np.empty((rows, n), dtype=dtype) for n in outputs]
        self.deltas = [np.empty((rows, n), dtype=dtype) for n in outputs]
        self.slopes = [np.empty((rows, n), dtype=dtype) for n in outputs[:-1]]
        self.row_max = np.empty(rows, dtype=dtype)
        self.row_sum = np.empty(rows, dtype=dtype)
        self.rows_index = np.arange(rows)
        self.x_dense = (
            np.empty((rows, layout.layer_sizes[0]), dtype=dtype)
            if sp.issparse(X)
            else None
        )


class _Chunk:
    """A contiguous range of rows and its share of the loss and gradient.

    The chunk walks rows ``start:stop`` block by block, in the work arrays of
    the thread that runs it: the forward pass of a block keeps every layer's
    activations, the backward pass turns them into that block's share of the
    gradient.
    """

    def __init__(self, X, y, start, stop, layout, block_rows):
        self.X, self.y = X, y
        self.start, self.stop = start, stop
        self.block_rows = block_rows
        self.layout = layout
        self.grad = np.empty(layout.size, dtype=X.dtype)
        self.cross_entropy = 0.0

    def blocks(self):
        for start in range(self.start, self.stop, self.block_rows):
            yield start, min(start + self.block_rows, self.stop)

    def rows(self, start, stop, scratch):
        """Rows ``start:stop`` of X as a dense C-ordered array."""
        if scratch.x_dense is None:
            return self.X[start:stop]
        return self.X[start:stop].toarray(out=scratch.x_dense[: stop - start])

    def run(self, weights, biases, scratch):
        """Accumulate the summed cross-entropy and the unscaled gradient."""
        self.grad.fill(0)
        grad_w, grad_b = self.layout.unpack(self.grad)
        n_layers = self.layout.n_layers
        cross_entropy = 0.0
        for start, stop in self.blocks():
            n = stop - start
            x = self.rows(start, stop, scratch)
            y = self.y[start:stop]
            index = scratch.rows_index[:n]

            # Forward pass through the sigmoid layers, then the scores.
            inputs = [x]
            for layer in range(n_layers):
                a = np.matmul(
                    inputs[-1], weights[layer].T, out=scratch.activations[layer][:n]
                )
                a += biases[layer]
                if layer < n_layers - 1:
                    sigmoid(a, out=a)
                inputs.append(a)

            # Log-softmax of the scores, in place; the loss is accumulated in
            # float64, the output delta p - onehot(y) built in place.
            z = inputs[-1]
            row_max = np.max(z, axis=1, out=scratch.row_max[:n])
            z -= row_max[:, None]
            p = np.exp(z, out=scratch.deltas[-1][:n])
            row_sum = np.sum(p, axis=1, out=scratch.row_sum[:n])
            p /= row_sum[:, None]
            np.log(row_sum, out=row_sum)
            cross_entropy += float(row_sum.sum(dtype=np.float64)) - float(
                z[index, y].sum(dtype=np.float64)
            )
            p[index, y] -= 1

            # Backward pass: the weight gradient of each layer, then the delta
            # of the layer below through its sigmoid.
            for layer in range(n_layers - 1, -1, -1):
                delta = scratch.deltas[layer][:n]
                below = inputs[layer]
                scratch.add_product(delta, below, grad_w[layer])
                scratch.add_column_sums(delta, grad_b[layer])
                if layer == 0:
                    break
                delta_below = np.matmul(
                    delta, weights[layer], out=scratch.deltas[layer - 1][:n]
                )
                slope = np.subtract(1, below, out=scratch.slopes[layer - 1][:n])
                slope *= below
                delta_below *= slope
        self.cross_entropy = cross_entropy


class ClassifierObjective(_RowThreads):
    """Softmax cross-entropy and weight decay of a sigmoid network, with gradient.

    Calling the object with a float64 parameter vector (see
    :class:`NetworkLayout`) returns ``(loss, gradient)``, the form
    ``scipy.optimize.minimize(..., jac=True)`` expects. The arithmetic runs in
    the dtype of ``X`` (float32 or float64); the loss is accumulated and the
    gradient returned in float64.

    With ``layer_sizes=(n_features, n_classes)`` this is softmax regression
    (the softmax stage of the stacked exercise); with sigmoid layers between,
    the fine-tuning objective over all weights.

    Rows are split into chunks that threads take in turn, each walked in
    blocks, as in :class:`sklearn_sae._objective.SparseAutoencoderObjective`:
    results are bitwise the same for any number of threads, and from call to
    call. Memory beyond the data is a few blocks of rows per thread and one
    gradient per chunk.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        Input of the network, float32 or float64. Dense input should be
        C-ordered.

    y : ndarray of shape (n_samples,)
        Class indices in ``range(n_classes)``.

    layer_sizes : sequence of int
        ``(n_features, h_1, ..., h_L, n_classes)``.

    alpha : float or sequence of float
        Weight decay of each weight matrix, the softmax weights last; a single
        value applies to all. Biases are not decayed.

    n_chunks : int, default=None
        Number of chunks of rows. None picks it from the size of the problem.

    n_threads : int, default=None
        Threads running the chunks. None means as many as BLAS may use; never
        more than there are chunks.
    """

    def __init__(self, X, y, layer_sizes, *, alpha, n_chunks=None, n_threads=None):
        n_samples, n_features = X.shape
        self.layout = NetworkLayout(layer_sizes)
        if self.layout.layer_sizes[0] != n_features:
            raise ValueError(
                f"X has {n_features} features, but layer_sizes starts with "
                f"{self.layout.layer_sizes[0]}."
            )
        self.alpha = np.broadcast_to(
            np.asarray(alpha, dtype=np.float64), (self.layout.n_layers,)
        ).copy()
        self.X = X
        self.y = np.ascontiguousarray(y, dtype=np.intp)
        n_classes = self.layout.layer_sizes[-1]
        if self.y.shape != (n_samples,) or (
            n_samples and (self.y.min() < 0 or self.y.max() >= n_classes)
        ):
            raise ValueError(
                f"y must hold {n_samples} class indices in range({n_classes})."
            )
        self.dtype = X.dtype
        self._params = np.empty(self.layout.size, dtype=self.dtype)
        self._block_rows = _block_rows(
            n_samples, max(self.layout.layer_sizes), self.dtype.itemsize
        )
        products = sum(n_out * n_in for n_out, n_in in self.layout.shapes)
        self._start_chunks(
            n_samples,
            2 * products + 20 * sum(self.layout.layer_sizes),
            n_chunks,
            n_threads,
            lambda start, stop: _Chunk(
                X, self.y, start, stop, self.layout, self._block_rows
            ),
            lambda: _Scratch(X, self.layout, self._block_rows),
        )

    def __call__(self, theta):
        """Return ``(loss, gradient)`` at the float64 parameter vector ``theta``."""
        n_samples = self.X.shape[0]
        layout = self.layout
        params = self._params
        np.copyto(params, theta, casting="same_kind")
        weights, biases = layout.unpack(params)
        self._each_chunk(lambda chunk, scratch: chunk.run(weights, biases, scratch))
        gradient = self._summed_gradient()
        gradient /= n_samples
        loss = sum(chunk.cross_entropy for chunk in self._chunks) / n_samples
        for layer, alpha in enumerate(self.alpha):
            if alpha == 0:
                continue
            part = layout.weight_slice(layer)
            w = theta[part]
            gradient[part] += alpha * w
            loss += 0.5 * alpha * float(np.dot(w, w))
        return loss, gradient
