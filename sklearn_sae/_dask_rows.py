"""Rows of a dask array on a dask.distributed cluster: the objective's chunks as tasks.

The in-memory objectives split their rows into chunks that threads take in
turn (:mod:`sklearn_sae._rows`). Here the chunks are those of a dask array
chunked by rows, persisted on the workers of a cluster, and each chunk's
share of an evaluation is one task on the worker that holds it. A task runs
the in-memory objective on its chunk alone (one chunk, one thread), so the
mathematics is that of :mod:`sklearn_sae._objective`, not a copy of it. Only
parameters go out to the workers and only per-chunk sums come back; the
driver adds the sums in chunk order, as the in-memory objective does, so the
result does not depend on the number of workers or threads, nor on which
worker ran what. When a dask array's chunks have the row bounds the
in-memory objective would use, the loss and gradient are those of the
in-memory objective bit for bit.

Each chunk's in-memory objective, with its work arrays, is built once per
fit, on the worker holding the chunk, and kept there in a
:class:`ChunkCache`, the result of a task that the chunk's tasks take as an
input; the fit releases it when it ends.

Each evaluation of the sparse autoencoder's objective takes two rounds, as
in memory, because the sparsity penalty needs the mean activation of every
unit before back-propagation can start:

1. for each chunk, a task computes the chunk's hidden activations, keeps
   them in the chunk's cache and returns their per-unit sums;
2. the driver forms the mean activations and the sparsity term's derivative,
   and for each chunk a task back-propagates from the kept activations,
   returning the chunk's squared error and its share of the gradient.

Nothing is computed twice: per evaluation the cluster runs the five matrix
products of the in-memory objective (unless a worker is lost between the
two rounds: the second round then computes the lost chunks' activations
again, from the same parameters, to the same values). The classifier's
objective (:class:`DaskClassifierObjective`, the softmax stage and the
fine-tuning) needs one round: a task per chunk returns its cross-entropy
and gradient share. The parameters travel as the result of a task, not as
scattered data, so that the scheduler can recompute them, like every other
intermediate result, when a worker is lost: the fit goes on and its result
does not change.

BLAS runs as the workers run it. Dask's nanny starts worker processes with
one BLAS thread (``distributed.nanny.pre-spawn-environ``), as training wants
it; the workers of an in-process cluster share the driver's BLAS, which
:func:`~sklearn_sae._optimize.minimize_lbfgs` limits to one thread for the
whole fit, and :func:`_persist` while it computes the data to persist (a
stack's layer input is the transform of the layer below). The tasks do not
change BLAS's threads themselves: OpenBLAS's thread count set from a
worker's thread was seen to change the rounding of later products in the
whole process.

This module imports dask; the estimators import it only when they are given
a dask array.
"""

import math
import warnings
from functools import partial

import dask.array as da
import numpy as np
from dask.sizeof import sizeof
from distributed import default_client, futures_of, wait
from sklearn.utils.validation import (
    _assert_all_finite,
    _check_feature_names,
    _check_n_features,
)

from ._finetune import ClassifierObjective
from ._objective import (
    ParameterLayout,
    SparseAutoencoderObjective,
    decode,
    encode,
    masking_noise,
)
from ._optimize import single_threaded_blas

_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def client_for(estimator):
    """The dask.distributed client fits run on, or an error saying how to get one."""
    try:
        return default_client()
    except ValueError:
        raise ValueError(
            f"{type(estimator).__name__}.fit on a dask array runs on a "
            "dask.distributed cluster, but no Client is connected: start one "
            "first, for instance `from dask.distributed import Client; "
            'client = Client("tcp://scheduler:8786")`, or `Client()` for a '
            "LocalCluster on this machine."
        ) from None


def check_dask_array(estimator, X, *, reset, n_features=None, description=None):
    """Validate a dask array as ``validate_data`` validates an in-memory one.

    X must be 2-D, chunked by rows only (one chunk across the columns), with
    known chunk sizes. float32 and float64 are kept; other numeric dtypes are
    converted to float64, lazily. The number of features is checked (and
    recorded when ``reset``) as for in-memory data; with ``n_features``, X
    must have that many columns instead (the input of ``inverse_transform``,
    ``description`` saying what they are). Values are not read: see
    :func:`persist_finite`.
    """
    name = type(estimator).__name__
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D dask array, got a {X.ndim}D one of shape {X.shape}: "
            f"{name} takes X of shape (n_samples, n_features)."
        )
    if type(X._meta) is not np.ndarray:
        raise TypeError(
            f"{name} takes dask arrays whose chunks are NumPy arrays, but the "
            f"chunks of X are {type(X._meta).__module__}."
            f"{type(X._meta).__name__}. Convert them first, for instance with "
            "X.map_blocks(lambda block: block.toarray()) for sparse chunks, or "
            "fit on the array in memory."
        )
    if any(math.isnan(size) for sizes in X.chunks for size in sizes):
        raise ValueError(
            f"{name} needs the chunk sizes of the dask array X, which are "
            "unknown (as after a dask DataFrame's to_dask_array()): compute them "
            "first with X.compute_chunk_sizes()."
        )
    if len(X.chunks[1]) != 1:
        raise ValueError(
            f"{name} takes a dask array chunked by rows, each chunk holding all "
            f"{X.shape[1]} columns, but X has {len(X.chunks[1])} chunks along the "
            f"columns (chunks={X.chunksize}). Rechunk it by rows first, for "
            "instance X = X.rechunk({0: 'auto', 1: -1}) or "
            "X.rechunk((rows_per_chunk, -1))."
        )
    if X.dtype not in _FLOATS:
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"{name} needs numbers, but the dask array X has dtype {X.dtype}."
            )
        X = X.astype(np.float64)
    for size, what in ((X.shape[0], "sample"), (X.shape[1], "feature")):
        if size < 1:
            raise ValueError(
                f"Found array with {size} {what}(s) (shape={X.shape}) while a "
                f"minimum of 1 is required by {name}."
            )
    if n_features is not None:
        if X.shape[1] != n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but {name}.inverse_transform is "
                f"expecting {n_features} features ({description}) as input."
            )
        return X
    _check_n_features(estimator, X, reset=reset)
    _check_feature_names(estimator, X, reset=reset)
    return X


def _nonfinite_flags(block):
    """Whether the chunk holds a NaN, and whether it holds an infinity: (1, 2)."""
    return np.array([[np.isnan(block).any(), np.isinf(block).any()]])


def _persist(client, *collections):
    """Compute the dask ``collections`` on the cluster, keep them there, wait.

    A stack's layer input is the lazy transform of the layer below: it is
    computed here, before the fit limits BLAS to one thread, and with one
    thread, as the in-memory fit computes it.
    """
    with single_threaded_blas():
        persisted = client.persist(list(collections))
        wait(persisted)
    return persisted


def persist_finite(estimator, X):
    """Persist the validated dask array X on the cluster and check its values.

    The chunks are computed once, on the workers, and kept there for the
    fit. Any NaN or infinity raises the error ``validate_data`` raises for
    in-memory data, before any training starts.
    """
    (X,) = _persist(client_for(estimator), X)
    flags = X.map_blocks(
        _nonfinite_flags,
        chunks=((1,) * len(X.chunks[0]), (2,)),
        dtype=bool,
        meta=np.empty((0, 0), dtype=bool),
    )
    has_nan, has_inf = flags.any(axis=0).compute()
    if has_nan or has_inf:
        bad = np.array([np.nan if has_nan else np.inf], dtype=X.dtype)
        _assert_all_finite(bad, input_name="X", estimator_name=type(estimator).__name__)
    return X


def chunk_futures(X):
    """The futures of a persisted dask array's chunks, in row order."""
    by_key = {future.key: future for future in futures_of(X)}
    return [by_key[row[0]] for row in X.__dask_keys__()]


# The tasks. Each runs the in-memory objective on its chunk alone, kept on
# the worker from one evaluation to the next in the chunk's cache.


class ChunkCache:
    """The in-memory objective on one chunk, kept on its worker during a fit.

    The result of a task per chunk, made when the fit starts and released
    when it ends; the chunk's tasks take it as an input, so that they run
    where it is, and find there the objective's work arrays and the hidden
    activations of the current evaluation. It is only a cache, checked
    before use: moved to another worker, spilled to disk or recomputed after
    its worker was lost, it arrives empty, and a task finding it empty, or
    built on other inputs (a chunk recomputed), builds the objective again.

    Parameters
    ----------
    build : callable
        ``build(*inputs)`` returns the in-memory objective on the chunk.

    *inputs : ndarray or None
        The chunk's arrays: the rows, and their mask or labels. The cache
        holds the objective built on these very objects.
    """

    def __init__(self, build=None, *inputs):
        self.objective = self._inputs = None
        # The evaluation whose hidden activations the objective holds.
        self.evaluation = None
        if build is not None:
            self.get(build, *inputs)

    def get(self, build, *inputs):
        """The objective on ``inputs``, built now if not cached."""
        if self._inputs is None or any(
            a is not b for a, b in zip(self._inputs, inputs, strict=True)
        ):
            self.objective = build(*inputs)
            self._inputs = inputs
            self.evaluation = None
        return self.objective

    def __reduce__(self):
        # Sent or spilled empty: the rows travel as the rows' own result.
        return ChunkCache, ()

    def nbytes(self):
        """Bytes held beyond the inputs (the parameter-sized arrays counted thrice)."""
        objective = self.objective
        if objective is None:
            return 0
        hidden = getattr(objective, "_hidden", None)
        return (0 if hidden is None else hidden.nbytes) + 3 * objective._params.nbytes


sizeof.register(ChunkCache)(ChunkCache.nbytes)


def _chunk_objective(block, mask, *, spec):
    return SparseAutoencoderObjective(
        block, input_mask=mask, n_chunks=1, n_threads=1, **spec
    )


def _chunk_mask(block, fraction, seed):
    return masking_noise(*block.shape, fraction, np.random.RandomState(seed))


def _params(params):
    return params


def _encode_task(block, mask, cache, params, spec, evaluation):
    """Round one: the chunk's hidden activations, kept in its cache; their sums."""
    objective = cache.get(partial(_chunk_objective, spec=spec), block, mask)
    (hidden_sums,) = objective._forward(params)
    cache.evaluation = evaluation
    return hidden_sums


def _backward_task(block, mask, cache, params, sparsity_delta, spec, evaluation):
    """Round two: the chunk's squared error and gradient share, in its dtype."""
    objective = cache.get(partial(_chunk_objective, spec=spec), block, mask)
    if cache.evaluation != evaluation:
        # The activations of round one are not here (the cache was lost or
        # moved with a worker): the same products give them again.
        objective._forward(params)
        cache.evaluation = evaluation
    (squared_error,), gradient = objective._backward(params, sparsity_delta)
    # The share was computed in the data's dtype: the cast back is exact.
    return squared_error, gradient.astype(objective.dtype)


def send_params(client, blocks, params, n_bytes_sent):
    """The parameters on every worker holding chunks; a future per chunk.

    They go out as the result of a task per worker, asked to run there: the
    chunks' tasks find them in place, round after round, and a copy lost with
    its worker is recomputed elsewhere. Returns the futures and
    ``n_bytes_sent`` plus the bytes sent.
    """
    who_has = client.who_has(blocks)
    holders = [next(iter(who_has.get(b.key) or ()), None) for b in blocks]
    params = params.copy()
    futures = {
        address: client.submit(
            _params,
            params,
            pure=False,
            **({} if address is None else {"workers": [address]}),
            allow_other_workers=address is not None,
        )
        for address in dict.fromkeys(holders)
    }
    n_bytes_sent += len(futures) * params.nbytes
    return [futures[address] for address in holders], n_bytes_sent


def add_in_chunk_order(shares):
    """The chunks' gradient shares added in chunk order, in float64."""
    gradient = shares[0].astype(np.float64)
    for share in shares[1:]:
        gradient += share
    return gradient


class DaskAutoencoderObjective(SparseAutoencoderObjective):
    """:class:`SparseAutoencoderObjective` on a dask array persisted on a cluster.

    The loss and gradient of the in-memory objective on the same rows, one
    task per chunk of rows (see the module's docstring for the two rounds).
    With chunks at the in-memory objective's row bounds the results are the
    same bit for bit; with other chunks they differ by float rounding.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Training data, float32 or float64, chunked by rows and persisted
        (see :func:`persist_finite`).

    n_components : int
        Number of hidden units.

    corruption : float, default=0.0
        Fraction of each row's entries masked (the denoising autoencoder).
        The masking noise is drawn on the workers, per chunk, from seeds
        drawn from ``random_state``: it is fixed for the fit and the same for
        the same chunks, but not the noise of an in-memory fit.

    random_state : RandomState, default=None
        Draws the seeds of the masking noise.

    rho, beta, alpha, decoder, sparsity, tied_weights, k
        As for :class:`SparseAutoencoderObjective`.

    Attributes
    ----------
    n_bytes_sent, n_bytes_received : int
        Bytes of the arrays sent to the cluster and received from it, over
        all evaluations so far (the payload, without the messages' framing).
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
        corruption=0.0,
        random_state=None,
        k=None,
    ):
        self._spec = {
            "n_components": n_components,
            "rho": rho,
            "beta": beta,
            "alpha": alpha,
            "decoder": decoder,
            "sparsity": sparsity,
            "tied_weights": tied_weights,
            "k": k,
        }
        # The in-memory objective checks the options; build one on no rows.
        SparseAutoencoderObjective(np.empty((0, X.shape[1]), X.dtype), **self._spec)
        self.X = X
        self.rho, self.beta, self.alpha = float(rho), float(beta), float(alpha)
        self.decoder, self.sparsity, self.k = decoder, sparsity, k
        self.layout = ParameterLayout(X.shape[1], n_components, tied_weights)
        self.dtype = X.dtype
        self._params = np.empty(self.layout.size, dtype=self.dtype)
        self.client = default_client()
        self._blocks = chunk_futures(X)
        # In memory, so that the first evaluation knows which worker has which.
        wait(self._blocks)
        if corruption:
            seeds = random_state.randint(np.iinfo(np.int32).max, size=self.n_chunks)
            self._masks = [
                self.client.submit(_chunk_mask, block, corruption, int(seed))
                for block, seed in zip(self._blocks, seeds, strict=True)
            ]
        else:
            self._masks = [None] * self.n_chunks
        build = partial(_chunk_objective, spec=self._spec)
        self._caches = [
            self.client.submit(ChunkCache, build, block, mask, pure=False)
            for block, mask in zip(self._blocks, self._masks, strict=True)
        ]
        self._param_futures = None
        self._evaluation = 0
        self.n_bytes_sent = 0
        self.n_bytes_received = 0

    @property
    def n_chunks(self):
        """Number of chunks of rows, one task each per round."""
        return len(self._blocks)

    def __exit__(self, *exc_info):
        # Releasing the futures frees the chunks' caches on the workers.
        self._blocks = self._masks = self._caches = self._param_futures = None

    def _tasks(self, function, *args):
        """A task ``function(block, mask, cache, params, *args)`` per chunk."""
        return [
            self.client.submit(function, *inputs, *args, pure=False)
            for inputs in zip(
                self._blocks,
                self._masks,
                self._caches,
                self._param_futures,
                strict=True,
            )
        ]

    def _forward(self, params):
        self._evaluation += 1
        self._param_futures = self._send(params)
        sums = self.client.gather(
            self._tasks(_encode_task, self._spec, self._evaluation), direct=True
        )
        self.n_bytes_received += sum(s.nbytes for s in sums)
        return sums

    def _send(self, params):
        futures, self.n_bytes_sent = send_params(
            self.client, self._blocks, params, self.n_bytes_sent
        )
        return futures

    def _backward(self, params, sparsity_delta):
        shares = self.client.gather(
            self._tasks(_backward_task, sparsity_delta, self._spec, self._evaluation),
            direct=True,
        )
        self._param_futures = None
        if sparsity_delta is not None:
            self.n_bytes_sent += self.n_chunks * sparsity_delta.nbytes
        # Added in chunk order, in float64, as the in-memory objective does.
        squared_errors = [squared_error for squared_error, _ in shares]
        gradient = add_in_chunk_order([share for _, share in shares])
        self.n_bytes_received += sum(8 + share.nbytes for _, share in shares)
        return squared_errors, gradient


def _chunk_classifier_objective(block, y, *, layer_sizes):
    return ClassifierObjective(
        block, y, layer_sizes, alpha=0.0, n_chunks=1, n_threads=1
    )


def _classifier_task(block, y, cache, params, layer_sizes):
    """The chunk's cross-entropy and gradient share, in its dtype."""
    build = partial(_chunk_classifier_objective, layer_sizes=layer_sizes)
    objective = cache.get(build, block, y)
    (cross_entropy,), gradient = objective._shares(params)
    return cross_entropy, gradient.astype(objective.dtype)


class DaskClassifierObjective(ClassifierObjective):
    """:class:`ClassifierObjective` on a dask array persisted on a cluster.

    One round per evaluation, a task per chunk of rows on the worker holding
    it: each chunk's forward and backward pass needs nothing from the other
    chunks. The shares are added in chunk order, as in memory.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Input of the network, float32 or float64, chunked by rows and
        persisted.

    y : dask.array.Array of shape (n_samples,)
        Class indices, chunked like the rows of X and persisted.

    layer_sizes, alpha
        As for :class:`ClassifierObjective`.
    """

    def __init__(self, X, y, layer_sizes, *, alpha):
        # The in-memory objective checks the sizes; build one on no rows.
        empty = ClassifierObjective(
            np.empty((0, X.shape[1]), X.dtype), np.empty(0), layer_sizes, alpha=alpha
        )
        self.layout, self.alpha = empty.layout, empty.alpha
        self.X = X
        self.dtype = X.dtype
        self._params = np.empty(self.layout.size, dtype=self.dtype)
        self.client = default_client()
        self._blocks = chunk_futures(X)
        by_key = {future.key: future for future in futures_of(y)}
        self._labels = [by_key[key] for key in y.__dask_keys__()]
        wait(self._blocks + self._labels)
        build = partial(_chunk_classifier_objective, layer_sizes=layer_sizes)
        self._caches = [
            self.client.submit(ChunkCache, build, block, y, pure=False)
            for block, y in zip(self._blocks, self._labels, strict=True)
        ]
        self.n_bytes_sent = 0
        self.n_bytes_received = 0

    def __exit__(self, *exc_info):
        self._blocks = self._labels = self._caches = None

    def _shares(self, params):
        client = self.client
        thetas, self.n_bytes_sent = send_params(
            client, self._blocks, params, self.n_bytes_sent
        )
        shares = client.gather(
            [
                client.submit(
                    _classifier_task,
                    block,
                    y,
                    cache,
                    theta,
                    self.layout.layer_sizes,
                    pure=False,
                )
                for block, y, cache, theta in zip(
                    self._blocks, self._labels, self._caches, thetas, strict=True
                )
            ],
            direct=True,
        )
        self.n_bytes_received += sum(8 + share.nbytes for _, share in shares)
        cross_entropies = [cross_entropy for cross_entropy, _ in shares]
        return cross_entropies, add_in_chunk_order([share for _, share in shares])


def classifier_objective(estimator, X, y_index, layer_sizes, alpha):
    """The classifier's objective on the dask array X and the class indices.

    X is persisted on the cluster, and ``y_index`` (in memory, a class index
    per row) sent there once, chunked like X's rows.
    """
    client = client_for(estimator)
    y = da.from_array(np.asarray(y_index, dtype=np.intp), chunks=(X.chunks[0],))
    X, y = _persist(client, X, y)
    return DaskClassifierObjective(X, y, layer_sizes, alpha=alpha)


# The forward pass, lazily, chunk by chunk.


def _rows_of_chunk(block, function, args, name):
    _assert_all_finite(block, input_name="X", estimator_name=name)
    return function(block, *args)


def map_rows(estimator, X, function, *args, width=None):
    """``function(chunk, *args)`` of each chunk of X, as a lazy dask array.

    The result is chunked like X's rows, in X's dtype: ``width`` columns, or
    one value per row when ``width`` is None. ``function`` is the in-memory
    code, and each of its rows is a row of X's: nothing is read when this is
    called, and a NaN or infinity raises the in-memory error when its chunk
    is computed. Give ``function`` and ``args`` the fitted values, not the
    estimator, so that a later fit does not change what the result computes.
    """
    if width is None:
        chunks, layout = (X.chunks[0],), {"drop_axis": 1}
    else:
        chunks, layout = (X.chunks[0], (width,)), {}
    return X.map_blocks(
        _rows_of_chunk,
        function,
        args,
        type(estimator).__name__,
        chunks=chunks,
        dtype=X.dtype,
        meta=np.empty((0,) * len(chunks), dtype=X.dtype),
        **layout,
    )


def encode_lazily(estimator, X, W1, b1, k):
    """``encode`` of each chunk of X, as a dask array chunked like X's rows."""
    return map_rows(estimator, X, partial(encode, k=k), W1, b1, width=W1.shape[0])


def decode_lazily(estimator, H, W2T, b2, linear):
    """``decode`` of each chunk of H, as a dask array chunked like H's rows."""
    return map_rows(
        estimator, H, partial(decode, linear=linear), W2T, b2, width=W2T.shape[1]
    )


def _same(block):
    return block


def _negative_half_squared_errors(x_hat, x):
    x_hat = x_hat - x
    errors = np.einsum("ij,ij->i", x_hat, x_hat)
    errors *= -0.5
    return errors


def score_samples_lazily(estimator, X):
    """``score_samples`` of the dask array X, lazily: a value per row.

    Each row's score is computed as in memory, minus half its squared
    reconstruction error ``inverse_transform(transform(x)) - x``, in X's
    dtype; the result is chunked like X's rows. X is validated now (its
    width, dtype and chunks), its values when a chunk is computed.
    """
    X = check_dask_array(estimator, X, reset=False)
    # The values checked first, so that the error names this estimator.
    X = map_rows(estimator, X, _same, width=X.shape[1])
    with warnings.catch_warnings():
        # X was checked for feature names just now: once is enough.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        X_hat = estimator.inverse_transform(estimator.transform(X))
    return da.map_blocks(
        _negative_half_squared_errors,
        X_hat,
        X,
        drop_axis=1,
        chunks=(X.chunks[0],),
        dtype=X.dtype,
        meta=np.empty((0,), dtype=X.dtype),
    )


def _float64_sum(values):
    return np.array([np.sum(values, dtype=np.float64)])


def mean_of_rows(values):
    """The mean of the lazy 1-D dask array ``values``, as a float.

    Each chunk is summed in float64 where it is computed, and the sums are
    added on the driver in chunk order: with one chunk, this is
    ``np.mean(values, dtype=np.float64)`` of the values in memory, bit for
    bit; with more, it differs by float64 rounding.
    """
    sums = values.map_blocks(
        _float64_sum,
        chunks=((1,) * values.numblocks[0],),
        dtype=np.float64,
        meta=np.empty((0,), dtype=np.float64),
    ).compute()
    total = 0.0
    for chunk_sum in sums:
        total += float(chunk_sum)
    return total / values.shape[0]


def _classes_of_rows(scores, classes):
    return classes[np.argmax(scores, axis=1)]


def predict_lazily(scores, classes):
    """The class of each row of the lazy class scores: ``classes[argmax]``."""
    return scores.map_blocks(
        _classes_of_rows,
        classes,
        drop_axis=1,
        dtype=classes.dtype,
        meta=np.empty((0,), dtype=classes.dtype),
    )
