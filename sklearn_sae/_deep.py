"""The deep autoencoder's objective: a stack's encoders and decoders unrolled.

For ``m`` samples ``x``, ``L`` encoder layers of widths ``h_1, ..., h_L``
(``h_0 = d``, the input width) and their decoders, the network computes::

    a_0 = x
    a_l = f_l(a_{l-1} W_l^T + b_l)               l = 1, ..., L   (encoders)
    r_L = a_L                                                    (the code)
    r_{l-1} = g_l(r_l W2T_l + c_l)               l = L, ..., 1   (decoders)

    J = 1/(2m) sum ||r_0 - x||^2
        + sum_l alpha_l / 2 (||W_l||^2 + ||W2T_l||^2)

``f_l`` is the logistic sigmoid, except that the code layer ``f_L`` may be
linear (``linear_code``); ``g_l`` is the sigmoid or, per layer, the identity
(``decoders``). ``W_l`` (h_l, h_{l-1}) is layer ``l``'s encoder weights and
``W2T_l`` (h_l, h_{l-1}) its decoder weights, transposed, as
``SparseAutoencoder.components_`` and ``decoder_components_`` store them;
with tied weights ``W2T_l = W_l``, one matrix, decayed once. Biases are not
decayed. There is no sparsity term: the objective is the reconstruction of
the input through the whole network.

Back-propagation runs down the decoders and then down the encoders::

    e_0     = (r_0 - x) * g_1'                    error at the output
    dJ/dW2T_l = r_l^T e_{l-1},   e_l = (e_{l-1} W2T_l^T) * g_{l+1}'  (l < L)
    d_L     = (e_{L-1} W2T_L^T) * f_L'            error at the code
    dJ/dW_l = d_l^T a_{l-1},     d_{l-1} = (d_l W_l) * f_{l-1}'

The rows are split into chunks that threads take in turn, each walked one
block of rows at a time, forward and backward, in preallocated arrays
(:mod:`sklearn_sae._rows`): results are bitwise the same for any number of
threads, and nothing of size ``(n_samples, width)`` is allocated per call.
"""

import itertools

import numpy as np
from sklearn.utils.extmath import safe_sparse_dot

from ._objective import sigmoid
from ._rows import RowChunks


class DeepLayout:
    """Packing of a deep autoencoder's parameters into one flat vector.

    The vector holds the encoder weights ``W_1, ..., W_L``, then the decoder
    weights ``W2T_l`` of each layer whose weights are not tied, in layer
    order, then the encoder biases ``b_1, ..., b_L`` and the decoder biases
    ``c_1, ..., c_L`` (``c_l`` of width ``h_{l-1}``). All weights come first,
    so that the biases are one slice after ``n_weights``.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_features, h_1, ..., h_L)``, the encoder's widths from the input
        to the code.

    tied_weights : bool or sequence of bool, default=False
        Whether each layer's decoder weights are its encoder's.
    """

    def __init__(self, layer_sizes, tied_weights=False):
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        if len(self.layer_sizes) < 2:
            raise ValueError("A deep autoencoder needs at least one layer.")
        self.shapes = [
            (n_out, n_in) for n_in, n_out in itertools.pairwise(self.layer_sizes)
        ]
        self.tied_weights = [
            bool(t) for t in np.broadcast_to(tied_weights, (len(self.shapes),))
        ]
        sizes = [n_out * n_in for n_out, n_in in self.shapes]
        self._encoder_starts = [0, *itertools.accumulate(sizes)][:-1]
        position = sum(sizes)
        self._decoder_starts = []
        for size, tied in zip(sizes, self.tied_weights, strict=True):
            self._decoder_starts.append(None if tied else position)
            position += 0 if tied else size
        self.n_weights = position
        self._encoder_bias_starts = [
            position + b for b in [0, *itertools.accumulate(self.layer_sizes[1:])]
        ][:-1]
        position += sum(self.layer_sizes[1:])
        self._decoder_bias_starts = [
            position + b for b in [0, *itertools.accumulate(self.layer_sizes[:-1])]
        ][:-1]
        self.size = position + sum(self.layer_sizes[:-1])

    @property
    def n_layers(self):
        """Number of encoder layers ``L``."""
        return len(self.shapes)

    def weight_slices(self, layer):
        """The slices of the vector holding layer ``layer``'s weights (1 or 2)."""
        size = self.shapes[layer][0] * self.shapes[layer][1]
        starts = [self._encoder_starts[layer]]
        if not self.tied_weights[layer]:
            starts.append(self._decoder_starts[layer])
        return [slice(start, start + size) for start in starts]

    def unpack(self, vector):
        """Return views ``(W, W2T, b, c)``, four lists indexed by layer.

        With tied weights ``W2T[l]`` is the same view as ``W[l]``.
        """
        W, W2T, b, c = [], [], [], []
        for layer, (h, d) in enumerate(self.shapes):
            start = self._encoder_starts[layer]
            W.append(vector[start : start + h * d].reshape(h, d))
            start = self._decoder_starts[layer]
            W2T.append(
                W[-1] if start is None else vector[start : start + h * d].reshape(h, d)
            )
            start = self._encoder_bias_starts[layer]
            b.append(vector[start : start + h])
            start = self._decoder_bias_starts[layer]
            c.append(vector[start : start + d])
        return W, W2T, b, c

    def pack(self, W, W2T, b, c, dtype=np.float64):
        """Return a new flat vector holding the arrays (``W2T[l]`` unused if tied)."""
        vector = np.empty(self.size, dtype=dtype)
        views = self.unpack(vector)
        for layer in range(self.n_layers):
            views[0][layer][...] = W[layer]
            if not self.tied_weights[layer]:
                views[1][layer][...] = W2T[layer]
            views[2][layer][...] = b[layer]
            views[3][layer][...] = c[layer]
        return vector


def deep_encode(X, W, b, *, linear_code=False):
    """The code ``a_L`` of X (dense or CSR) through the encoders, in ``W[0].dtype``."""
    A = X
    for layer, (weights, biases) in enumerate(zip(W, b, strict=True)):
        A = safe_sparse_dot(A, weights.T, dense_output=True)
        A += biases
        if not (linear_code and layer == len(W) - 1):
            sigmoid(A, out=A)
    return A


def deep_decode(H, W2T, c, *, decoders):
    """The reconstruction ``r_0`` of the codes H through the decoders."""
    R = H
    for layer in range(len(W2T) - 1, -1, -1):
        R = R @ W2T[layer]
        R += c[layer]
        if decoders[layer] == "sigmoid":
            sigmoid(R, out=R)
    return R


class DeepAutoencoderObjective:
    """Reconstruction error and weight decay of a deep autoencoder, with gradient.

    Calling the object with a float64 parameter vector (see
    :class:`DeepLayout`) returns ``(loss, gradient)``, the form
    ``scipy.optimize.minimize(..., jac=True)`` expects. The arithmetic runs in
    the dtype of ``X`` (float32 or float64); the loss is accumulated and the
    gradient returned in float64.

    Rows are split into chunks that threads take in turn, each walked in
    blocks (:mod:`sklearn_sae._rows`): results are bitwise the same for any
    number of threads, and from call to call. Memory beyond the data is a few
    blocks of rows per thread and one gradient per chunk.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        Input and target of the network, float32 or float64. Dense input
        should be C-ordered.

    layer_sizes : sequence of int
        ``(n_features, h_1, ..., h_L)``.

    alpha : float or sequence of float, default=0.0
        Weight decay of each layer's encoder and decoder weights; a single
        value applies to all.

    tied_weights : bool or sequence of bool, default=False
        Whether each layer's decoder weights are its encoder's.

    decoders : str or sequence of str, default="sigmoid"
        Output units of each layer's decoder, ``"sigmoid"`` or ``"linear"``;
        ``decoders[0]`` makes the reconstruction of the input.

    linear_code : bool, default=False
        Whether the code layer's units are linear (``f_L`` the identity).

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
        layer_sizes,
        *,
        alpha=0.0,
        tied_weights=False,
        decoders="sigmoid",
        linear_code=False,
        n_chunks=None,
        n_threads=None,
    ):
        n_features = X.shape[1]
        self.layout = DeepLayout(layer_sizes, tied_weights)
        if self.layout.layer_sizes[0] != n_features:
            raise ValueError(
                f"X has {n_features} features, but layer_sizes starts with "
                f"{self.layout.layer_sizes[0]}."
            )
        n_layers = self.layout.n_layers
        self.alpha = np.broadcast_to(
            np.asarray(alpha, dtype=np.float64), (n_layers,)
        ).copy()
        self.decoders = [str(g) for g in np.broadcast_to(decoders, (n_layers,))]
        for g in self.decoders:
            if g not in ("sigmoid", "linear"):
                raise ValueError(f"decoders must be 'sigmoid' or 'linear', got {g!r}.")
        self.linear_code = bool(linear_code)
        self.X = X
        self.dtype = X.dtype
        self._params = np.empty(self.layout.size, dtype=self.dtype)
        sizes = self.layout.layer_sizes

        def make_arrays(rows):
            def block(width):
                return np.empty((rows, width), dtype=self.dtype)

            # encoded[l] is a_{l+1}; decoded[l] is r_l, the output of decoder
            # l + 1; errors[l] and deltas[l] are the errors at r_l and at
            # a_{l+1}, before the units' slopes are applied.
            return {
                "encoded": [block(n) for n in sizes[1:]],
                "decoded": [block(n) for n in sizes[:-1]],
                "errors": [block(n) for n in sizes[:-1]],
                "deltas": [block(n) for n in sizes[1:]],
            }

        products = sum(h * d for h, d in self.layout.shapes)
        self.rows = RowChunks(
            X,
            work_per_row=6 * products + 20 * sum(sizes),
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

    @staticmethod
    def _times_sigmoid_slope(delta, s):
        """``delta *= s * (1 - s)``, overwriting the activations ``s``."""
        delta *= s
        np.subtract(1, s, out=s)
        delta *= s

    def _chunk_share(self, chunk, work, grad, W, W2T, b, c):
        """Fill ``grad`` with the chunk's unscaled gradient; return its squared error.

        With tied weights ``gW[l]`` and ``gW2T[l]`` are one view, which
        therefore receives the sum of both weight gradients.
        """
        grad.fill(0)
        gW, gW2T, gb, gc = self.layout.unpack(grad)
        sums = work.sums
        L = self.layout.n_layers
        squared_error = 0.0
        for index, (start, stop) in enumerate(chunk.blocks):
            n = stop - start
            x = chunk.dense_rows(index, work)

            # Forward through the encoders, then the decoders.
            inputs = [x]
            for layer in range(L):
                a = np.matmul(inputs[-1], W[layer].T, out=work.encoded[layer][:n])
                a += b[layer]
                if not (self.linear_code and layer == L - 1):
                    sigmoid(a, out=a)
                inputs.append(a)
            outputs = [None] * L + [inputs[-1]]  # outputs[l] is r_l
            for layer in range(L - 1, -1, -1):
                r = np.matmul(
                    outputs[layer + 1], W2T[layer], out=work.decoded[layer][:n]
                )
                r += c[layer]
                if self.decoders[layer] == "sigmoid":
                    sigmoid(r, out=r)
                outputs[layer] = r

            # The error at the output, e_0 = (r_0 - x) * g_1', built in place.
            error = np.subtract(outputs[0], x, out=work.errors[0][:n])
            squared_error += float(np.vdot(error, error))
            if self.decoders[0] == "sigmoid":
                self._times_sigmoid_slope(error, outputs[0])

            # Down the decoders: e_{l-1} gives dJ/dW2T_l, then e_l (or, at the
            # top, the error at the code).
            for layer in range(L):
                sums.add_product(outputs[layer + 1], error, gW2T[layer])
                sums.add_column_sums(error, gc[layer])
                above = work.errors[layer + 1] if layer < L - 1 else work.deltas[L - 1]
                above = np.matmul(error, W2T[layer].T, out=above[:n])
                if layer < L - 1:
                    if self.decoders[layer + 1] == "sigmoid":
                        self._times_sigmoid_slope(above, outputs[layer + 1])
                elif not self.linear_code:
                    self._times_sigmoid_slope(above, outputs[L])
                error = above

            # Down the encoders: d_l gives dJ/dW_l, then d_{l-1}.
            delta = error
            for layer in range(L - 1, -1, -1):
                sums.add_product(delta, inputs[layer], gW[layer])
                sums.add_column_sums(delta, gb[layer])
                if layer == 0:
                    break
                below = np.matmul(delta, W[layer], out=work.deltas[layer - 1][:n])
                self._times_sigmoid_slope(below, inputs[layer])
                delta = below
        return squared_error

    def __call__(self, theta):
        """Return ``(loss, gradient)`` at the float64 parameter vector ``theta``."""
        n_samples = self.X.shape[0]
        layout = self.layout
        params = self._params
        np.copyto(params, theta, casting="same_kind")
        W, W2T, b, c = layout.unpack(params)
        squared_errors, gradient = self.rows.map_gradient(
            lambda chunk, work, grad: self._chunk_share(chunk, work, grad, W, W2T, b, c)
        )
        gradient /= n_samples
        loss = sum(squared_errors) / (2 * n_samples)
        for layer, alpha in enumerate(self.alpha):
            if alpha == 0:
                continue
            for part in layout.weight_slices(layer):
                w = theta[part]
                gradient[part] += alpha * w
                loss += 0.5 * alpha * float(np.dot(w, w))
        return loss, gradient
