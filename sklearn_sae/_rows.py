"""The row machinery every objective runs on: chunks, threads, work arrays.

An objective's loss and gradient are sums over the rows of its training data.
:class:`RowChunks` splits the rows into contiguous chunks, whose number
depends on the size of the problem alone, never on the number of threads, and
runs a task on every chunk, threads taking the chunks in turn, each thread
with its own work arrays (a :class:`Workspace`). Each chunk computes its own
share of the results, and the shares are added in chunk order, so the result
is bitwise the same on one thread or on many: in GridSearchCV's worker
processes, which get fewer BLAS threads than their parent, as in the parent.
A chunk's share of the gradient is added to the total as soon as the shares
of the chunks before it are, so that only a few partial gradients exist at a
time, however many chunks there are.

A chunk is walked one block of rows at a time, so that the (rows, width)
temporaries stay in cache. Dense rows are views of the data, whatever its
memory layout or backing (a memory map is streamed); CSR rows are views of
its arrays, never copies. This module holds no mathematics.
"""

import itertools
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_info

# Bytes of one block's (rows, width) work array: small enough for cache,
# large enough for BLAS to run at full speed.
_BLOCK_BYTES = 1 << 20

# The most chunks, and so the most threads, an objective uses.
_MAX_CHUNKS = 64

# Partial gradients per thread: a thread may finish a chunk while the chunks
# before it still run, and its gradient then waits for theirs.
_GRADIENTS_PER_THREAD = 2

# A chunk, and the thread that may run it, is worth its hand-over cost only
# with at least this much work, in multiply-adds per evaluation, and at
# least this many rows.
_MIN_WORK_PER_CHUNK = 8_000_000
_MIN_ROWS_PER_CHUNK = 64


def default_n_threads():
    """Threads for the objectives: as many as BLAS may use now, at least one.

    Users limit them as they limit BLAS, with ``threadpoolctl`` or the
    ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` variables.
    """
    counts = [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]
    return max(1, min(counts) if counts else os.cpu_count() or 1)


def block_rows(n_samples, width, itemsize):
    """Rows per block: a (rows, width) array of ``itemsize`` bytes fills a block."""
    return int(max(1, min(n_samples, _BLOCK_BYTES // (itemsize * width))))


def csr_rows(X, start, stop):
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


class BlockSums:
    """Sums over blocks of rows by NumPy's BLAS, with nothing allocated per block.

    Each block's product and per-column sums are written by ``np.matmul`` into
    a work array made once, then added to the chunk's total. NumPy releases
    the GIL inside BLAS, so the threads of an objective run these calls side
    by side (SciPy's BLAS wrappers hold it).

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


class Workspace:
    """One thread's work arrays, each one block of rows long.

    ``sums`` is the thread's :class:`BlockSums`; ``dense_rows`` receives the
    dense form of a block of sparse rows (None for dense data). The arrays an
    objective asks for are attributes of the same names.
    """

    def __init__(self, X, rows, product_shapes, arrays):
        self.sums = BlockSums(X.dtype, rows, product_shapes)
        self.dense_rows = (
            np.empty((rows, X.shape[1]), dtype=X.dtype) if sp.issparse(X) else None
        )
        vars(self).update(arrays)


class Chunk:
    """A contiguous range of rows of X and its blocks.

    Attributes
    ----------
    start, stop : int
        The chunk's rows of X.

    blocks : list of tuple
        ``(start, stop)`` of each of its blocks of rows, in order.
    """

    def __init__(self, X, start, stop, block_rows):
        self.X = X
        self.start, self.stop = start, stop
        self.blocks = [
            (first, min(first + block_rows, stop))
            for first in range(start, stop, block_rows)
        ]
        # Views of the CSR arrays, made once: slicing X would copy them.
        self._sparse_blocks = (
            [csr_rows(X, first, last) for first, last in self.blocks]
            if sp.issparse(X)
            else None
        )

    def stored_rows(self, index):
        """Rows of block ``index`` as X stores them: a dense view or a CSR view."""
        if self._sparse_blocks is not None:
            return self._sparse_blocks[index]
        start, stop = self.blocks[index]
        return self.X[start:stop]

    def dense_rows(self, index, work):
        """Rows of block ``index`` as a dense array; sparse rows go into ``work``."""
        rows = self.stored_rows(index)
        if self._sparse_blocks is None:
            return rows
        return rows.toarray(out=work.dense_rows[: rows.shape[0]])


class RowChunks:
    """The rows of X split into chunks, and the threads that run them.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        The data, float32 or float64. Dense data should be C-ordered.

    work_per_row : int
        What one row costs an evaluation, in multiply-adds; it decides how
        many chunks are worth their hand-over cost.

    width : int
        The widest row of the work arrays; with the dtype of X it sets the
        rows per block (see ``_BLOCK_BYTES``).

    grad_size : int
        Length of the gradient that :meth:`map_gradient` sums.

    product_shapes : list of tuple
        Shapes of the products each thread's :class:`BlockSums` adds up.

    make_arrays : callable
        ``make_arrays(rows)`` returns a dict of the objective's work arrays
        for one thread, each ``rows`` long.

    n_chunks : int, default=None
        Number of chunks. None picks it from the size of the problem: one for
        small problems, at most ``_MAX_CHUNKS``.

    n_threads : int, default=None
        Threads running the chunks. None means as many as BLAS may use now;
        never more than there are chunks.
    """

    def __init__(
        self,
        X,
        *,
        work_per_row,
        width,
        grad_size,
        product_shapes,
        make_arrays,
        n_chunks=None,
        n_threads=None,
    ):
        n_samples = X.shape[0]
        if n_chunks is None:
            n_chunks = min(
                _MAX_CHUNKS,
                n_samples * work_per_row // _MIN_WORK_PER_CHUNK,
                n_samples // _MIN_ROWS_PER_CHUNK,
            )
        n_chunks = max(1, min(n_chunks, n_samples))
        if n_threads is None:
            n_threads = default_n_threads()
        self.n_threads = max(1, min(n_threads, n_chunks))
        self.block_rows = block_rows(n_samples, width, X.dtype.itemsize)
        bounds = [n_samples * i // n_chunks for i in range(n_chunks + 1)]
        self.chunks = [
            Chunk(X, start, stop, self.block_rows)
            for start, stop in itertools.pairwise(bounds)
        ]
        rows = min(self.block_rows, max(n_samples, 1))
        self._workspaces = queue.SimpleQueue()
        for _ in range(self.n_threads):
            self._workspaces.put(Workspace(X, rows, product_shapes, make_arrays(rows)))
        self._gradients = queue.SimpleQueue()
        for _ in range(min(self.n_chunks, _GRADIENTS_PER_THREAD * self.n_threads)):
            self._gradients.put(np.empty(grad_size, dtype=X.dtype))
        # The calling thread is one of the threads. The others start now: a
        # call would otherwise start them as it found none idle, one call
        # after another.
        self._executor = None
        if self.n_threads > 1:
            self._executor = ThreadPoolExecutor(self.n_threads - 1)
            started = threading.Barrier(self.n_threads)
            for _ in range(self.n_threads - 1):
                self._executor.submit(started.wait)
            started.wait()

    @property
    def n_chunks(self):
        """Number of chunks the rows are split into."""
        return len(self.chunks)

    def map(self, task):
        """``[task(chunk, workspace) for chunk in chunks]``, in chunk order.

        Threads take the chunks in turn, each with its own workspace.
        """
        return self._run(lambda chunk, work, _: task(chunk, work), gradient=False)[0]

    def map_gradient(self, task):
        """Run ``task(chunk, workspace, grad)`` on every chunk; sum the ``grad``.

        ``grad`` is a work array of ``grad_size`` in the dtype of X, for the
        task to fill with the chunk's share of the gradient. Returns the
        task's results in chunk order, and the shares added in chunk order,
        in float64.
        """
        return self._run(task, gradient=True)

    def _run(self, task, *, gradient):
        chunks = self.chunks
        results = [None] * len(chunks)
        # The next chunk to hand out, the chunks finished, the next whose
        # gradient is to be added; the gradients done but waiting for those
        # of earlier chunks.
        state = {"next": 0, "done": 0, "added": 0, "total": None, "error": None}
        waiting = {}
        hand_out, add_up = threading.Lock(), threading.Lock()
        finished = threading.Condition()

        def add(index, grad):
            with add_up:
                waiting[index] = grad
                while state["added"] in waiting:
                    done = waiting.pop(state["added"])
                    if state["total"] is None:
                        state["total"] = done.astype(np.float64)
                    else:
                        state["total"] += done
                    self._gradients.put(done)
                    state["added"] += 1

        def run(index, work, grad):
            try:
                results[index] = task(chunks[index], work, grad)
                if gradient:
                    add(index, grad)
            except BaseException as error:
                if gradient and index not in waiting:
                    self._gradients.put(grad)
                if state["error"] is None:
                    state["error"] = error  # no chunk is handed out from now
            finally:
                with finished:
                    state["done"] += 1
                    finished.notify_all()

        def worker():
            # Chunks are claimed from a shared counter, so a thread that wakes
            # late takes what is left, possibly nothing, and the calling
            # thread never waits for one that has no chunk: only for the
            # chunks taken. The workspace is taken with the first chunk.
            work = None
            try:
                while True:
                    with hand_out:
                        index = state["next"]
                        if index == len(chunks) or state["error"] is not None:
                            return
                        state["next"] += 1
                        # Taken in chunk order, so that the earliest unfinished
                        # chunk always holds one and no thread waits forever.
                        grad = self._gradients.get() if gradient else None
                    if work is None:
                        work = self._workspaces.get()
                    run(index, work, grad)
            finally:
                if work is not None:
                    self._workspaces.put(work)

        # The calling thread runs a worker too: one hand-over less.
        executor = self._executor  # None on one thread, or once closed
        if executor is not None:
            for _ in range(self.n_threads - 1):
                executor.submit(worker)
        worker()
        # No chunk is handed out any more: wait for those being run.
        with hand_out:
            taken = state["next"]
        with finished:
            finished.wait_for(lambda: state["done"] == taken)
        for grad in waiting.values():  # left over after a failure
            self._gradients.put(grad)
        if state["error"] is not None:
            raise state["error"]
        return results, state["total"]

    def close(self):
        """Stop the threads."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
