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

The rows are split into chunks that threads take in turn, and each chunk is
walked one block of rows at a time, forward and backward, in preallocated
arrays (:mod:`sklearn_sae._rows`). Nothing of size ``(n_samples, width)`` is
allocated per call.
"""

import itertools

import numpy as np
from sklearn.utils.extmath import safe_sparse_dot

from ._objective import encode, sigmoid
from ._rows import RowChunks


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


class ClassifierObjective:
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
    blocks (:mod:`sklearn_sae._rows`): results are bitwise the same for any
    number of threads, and from call to call. Memory beyond the data is a few
    blocks of rows per thread and one gradient per chunk.

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

    n_chunks, n_threads : int, default=None
        Passed to :class:`sklearn_sae._rows.RowChunks`.

    Attributes
    ----------
    rows : RowChunks
        The chunks of rows and the threads that run them.
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
        sizes = self.layout.layer_sizes

        def make_arrays(rows):
            def block(width, dtype=self.dtype):
                return np.empty((rows, width), dtype=dtype)

            # activations[l] is the output of layer l (the sigmoid layers,
            # then the scores, turned into log-probabilities in place);
            # deltas[l] is the error at that output; slopes[l] holds
            # a_l (1 - a_l).
            return {
                "activations": [block(n) for n in sizes[1:]],
                "deltas": [block(n) for n in sizes[1:]],
                "slopes": [block(n) for n in sizes[1:-1]],
                "row_max": np.empty(rows, dtype=self.dtype),
                "row_sum": np.empty(rows, dtype=self.dtype),
                "rows_index": np.arange(rows),
            }

        products = sum(n_out * n_in for n_out, n_in in self.layout.shapes)
        self.rows = RowChunks(
            X,
            work_per_row=2 * products + 20 * sum(sizes),
            width=max(sizes),
            grad_size=self.layout.size,
            product_shapes=self.layout.shapes,
            make_arrays=make_arrays,
            n_chunks=n_chunks,
            n_threads=n_threads,
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.rows.close()

    def _chunk_share(self, chunk, work, grad, weights, biases):
        """Fill ``grad`` with the chunk's unscaled gradient; return its loss."""
        grad.fill(0)
        grad_w, grad_b = self.layout.unpack(grad)
        n_layers = self.layout.n_layers
        cross_entropy = 0.0
        for index, (start, stop) in enumerate(chunk.blocks):
            n = stop - start
            x = chunk.dense_rows(index, work)
            y = self.y[start:stop]
            rows = work.rows_index[:n]

            # Forward pass through the sigmoid layers, then the scores.
            inputs = [x]
            for layer in range(n_layers):
                a = np.matmul(
                    inputs[-1], weights[layer].T, out=work.activations[layer][:n]
                )
                a += biases[layer]
                if layer < n_layers - 1:
                    sigmoid(a, out=a)
                inputs.append(a)

            # Log-softmax of the scores, in place; the loss is accumulated in
            # float64, the output delta p - onehot(y) built in place.
            z = inputs[-1]
            row_max = np.max(z, axis=1, out=work.row_max[:n])
            z -= row_max[:, None]
            p = np.exp(z, out=work.deltas[-1][:n])
            row_sum = np.sum(p, axis=1, out=work.row_sum[:n])
            p /= row_sum[:, None]
            np.log(row_sum, out=row_sum)
            cross_entropy += float(row_sum.sum(dtype=np.float64)) - float(
                z[rows, y].sum(dtype=np.float64)
            )
            p[rows, y] -= 1

            # Backward pass: the weight gradient of each layer, then the delta
            # of the layer below through its sigmoid.
            for layer in range(n_layers - 1, -1, -1):
                delta = work.deltas[layer][:n]
                below = inputs[layer]
                work.sums.add_product(delta, below, grad_w[layer])
                work.sums.add_column_sums(delta, grad_b[layer])
                if layer == 0:
                    break
                delta_below = np.matmul(
                    delta, weights[layer], out=work.deltas[layer - 1][:n]
                )
                slope = np.subtract(1, below, out=work.slopes[layer - 1][:n])
                slope *= below
                delta_below *= slope
        return cross_entropy

    def _shares(self, params):
        """Each chunk's cross-entropy, and their gradients summed.

        ``params`` is the parameter vector in the dtype of X.
        """
        weights, biases = self.layout.unpack(params)
        return self.rows.map_gradient(
            lambda chunk, work, grad: self._chunk_share(
                chunk, work, grad, weights, biases
            )
        )

    def __call__(self, theta):
        """Return ``(loss, gradient)`` at the float64 parameter vector ``theta``."""
        n_samples = self.X.shape[0]
        layout = self.layout
        params = self._params
        np.copyto(params, theta, casting="same_kind")
        cross_entropies, gradient = self._shares(params)
        gradient /= n_samples
        loss = sum(cross_entropies) / n_samples
        for layer, alpha in enumerate(self.alpha):
            if alpha == 0:
                continue
            part = layout.weight_slice(layer)
            w = theta[part]
            gradient[part] += alpha * w
            loss += 0.5 * alpha * float(np.dot(w, w))
        return loss, gradient
