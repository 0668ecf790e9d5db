"""The row machinery of the objectives (sklearn_sae._rows).

Chunks and blocks of rows, the threads that run them and the sums they add
up: for both objectives, the autoencoder's (plain, and k-sparse with masking
noise and tied weights) and the classifier's. Blocks and chunks change a
result only by rounding, the number of threads not at all; the number of
chunks follows the size of the problem, up to 64 for every core of a large
machine, the number of threads BLAS's limit; the partial gradients in memory
are bounded by the threads, not the chunks.
"""

import itertools
import threading
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from sklearn_sae import _objective, _rows
from sklearn_sae._finetune import ClassifierObjective, NetworkLayout
from sklearn_sae._objective import (
    ParameterLayout,
    SparseAutoencoderObjective,
    masking_noise,
)
from sklearn_sae._rows import BlockSums, RowChunks, csr_rows

N_FEATURES = 6
PROBLEMS = ["autoencoder", "k-sparse-denoising", "classifier"]
OBJECTIVES = ["autoencoder", "classifier"]


def _problem(name, n_samples, *, dtype=np.float64, sparse=False, seed=0):
    """``make(**rows)``, which builds the objective on random data, and a point."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n_samples, N_FEATURES))
    X[X < 0.3] = 0.0
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
    if name == "classifier":
        sizes = (N_FEATURES, 5, 4, 3)
        y = rng.randint(3, size=n_samples)
        theta = 0.8 * rng.standard_normal(NetworkLayout(sizes).size)

        def make(**rows):
            return ClassifierObjective(X, y, sizes, alpha=1e-3, **rows)

        return make, theta
    if name == "autoencoder":
        options = {"rho": 0.1, "beta": 3.0, "alpha": 1e-3}
        layout = ParameterLayout(N_FEATURES, 5)
    else:
        mask = masking_noise(n_samples, N_FEATURES, 0.3, rng)
        options = {
            "k": 2,
            "decoder": "linear",
            "tied_weights": True,
            "input_mask": mask,
            "alpha": 1e-3,
        }
        layout = ParameterLayout(N_FEATURES, 5, tied_weights=True)
    theta = layout.initialize(rng)
    theta[layout.n_weights :] = 0.3 * rng.standard_normal(theta.size - layout.n_weights)

    def make(**rows):
        return SparseAutoencoderObjective(X, 5, **options, **rows)

    return make, theta


@pytest.fixture
def blocks_of_7_rows(monkeypatch):
    """Blocks of 7 rows of N_FEATURES float64 values."""
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 7 * N_FEATURES * 8)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("n_chunks", [1, 2, 3, 4])
def test_blocks_and_chunks_change_the_result_only_by_rounding(
    problem, n_chunks, monkeypatch
):
    make, theta = _problem(problem, 50)
    with make(n_chunks=1) as reference:
        assert reference.rows.block_rows == 50
        loss, grad = reference(theta)
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 7 * N_FEATURES * 8)
    with make(n_chunks=n_chunks) as blocked:
        assert blocked.rows.block_rows == 7
        assert blocked.rows.n_chunks == n_chunks
        loss_b, grad_b = blocked(theta)
        # Repeated calls give bitwise the same result.
        loss_c, grad_c = blocked(theta)
    assert loss_b == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(grad_b, grad, rtol=1e-12, atol=1e-15)
    assert loss_c == loss_b
    np.testing.assert_array_equal(grad_c, grad_b)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_the_number_of_threads_does_not_change_a_bit(
    problem, dtype, sparse, blocks_of_7_rows
):
    # The chunks, not the threads, fix the order of every sum: one, two or
    # five threads running the same five chunks give identical results.
    make, theta = _problem(problem, 83, dtype=dtype, sparse=sparse)
    results = []
    for n_threads in (1, 2, 5):
        with make(n_chunks=5, n_threads=n_threads) as objective:
            assert objective.rows.n_threads == n_threads
            assert objective.rows.n_chunks == 5
            results.append(objective(theta))
    for loss, grad in results[1:]:
        assert loss == results[0][0]
        np.testing.assert_array_equal(grad, results[0][1])


def _sized(objective, n_samples, n_features, n_hidden, **rows):
    """An objective on zeros of the given size."""
    X = np.zeros((n_samples, n_features))
    if objective == "classifier":
        sizes = (n_features, n_hidden, 10)
        return ClassifierObjective(X, np.zeros(n_samples), sizes, alpha=0, **rows)
    return SparseAutoencoderObjective(X, n_hidden, rho=0.1, beta=3, alpha=0, **rows)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_chunks_depend_on_the_problem_threads_on_blas(objective):
    with _sized(objective, 40, 10, 8) as small:
        assert (small.rows.n_chunks, small.rows.n_threads) == (1, 1)
    with _sized(objective, 20_000, 64, 400) as large:
        assert large.rows.n_chunks == _rows._MAX_CHUNKS
        assert large.rows.n_threads == min(_rows.default_n_threads(), _rows._MAX_CHUNKS)
    # More threads than chunks would idle: there are never more.
    with _sized(objective, 20_000, 64, 400, n_chunks=3, n_threads=16) as capped:
        assert (capped.rows.n_chunks, capped.rows.n_threads) == (3, 3)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_threads_follow_blas_limits_chunks_do_not(objective):
    with threadpool_limits(1, user_api="blas"):
        assert _rows.default_n_threads() == 1
        limited = _sized(objective, 20_000, 64, 400)
    with limited:
        assert limited.rows.n_threads == 1
        assert limited.rows.n_chunks == _rows._MAX_CHUNKS


def _bare_rows(X, *, n_chunks, n_threads, grad_size=1, make_arrays=None):
    """RowChunks over X for tasks of one's own: no products, one unit of work a row."""
    return RowChunks(
        X,
        work_per_row=1,
        width=X.shape[1],
        grad_size=grad_size,
        product_shapes=[],
        make_arrays=make_arrays or (lambda n_rows: {}),
        n_chunks=n_chunks,
        n_threads=n_threads,
    )


@pytest.mark.parametrize("n_threads", [1, 3])
def test_chunks_split_the_rows_in_order_and_map_keeps_it(n_threads):
    X = np.arange(50 * 4, dtype=np.float64).reshape(50, 4)
    rows = _bare_rows(
        X,
        n_chunks=6,
        n_threads=n_threads,
        grad_size=2,
        make_arrays=lambda n_rows: {"buffer": np.empty(n_rows)},
    )
    try:
        assert rows.n_threads == n_threads
        spans = [(chunk.start, chunk.stop) for chunk in rows.chunks]
        # Contiguous, in order, covering every row once, of near-equal sizes.
        assert spans[0][0] == 0
        assert spans[-1][1] == 50
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
        assert {stop - start for start, stop in spans} <= {8, 9}
        names = set()

        def task(chunk, work):
            names.add(threading.current_thread().name)
            assert work.buffer.shape == (rows.block_rows,)
            return chunk.start

        # Results in chunk order whichever thread ran which chunk.
        assert rows.map(task) == [start for start, _ in spans]
        assert len(names) <= n_threads
    finally:
        rows.close()


def test_chunks_are_never_more_than_the_rows():
    X = np.zeros((3, 2))
    rows = _bare_rows(X, n_chunks=8, n_threads=8)
    try:
        assert (rows.n_chunks, rows.n_threads) == (3, 3)
        assert [(c.start, c.stop) for c in rows.chunks] == [(0, 1), (1, 2), (2, 3)]
    finally:
        rows.close()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_sums_accumulate_in_place(dtype):
    rng = np.random.RandomState(0)
    sums = BlockSums(dtype, 6, [(5, 7)])
    left = rng.uniform(size=(6, 5)).astype(dtype)
    right = rng.uniform(size=(6, 7)).astype(dtype)
    total = rng.uniform(size=(5, 7)).astype(dtype)
    expected = total + left.T @ right
    sums.add_product(left, right, total)
    np.testing.assert_allclose(total, expected, rtol=1e-6)

    column_total = rng.uniform(size=7).astype(dtype)
    expected = column_total + right.sum(axis=0)
    sums.add_column_sums(right, column_total)
    np.testing.assert_allclose(column_total, expected, rtol=1e-6)


def test_csr_rows_share_the_data():
    rng = np.random.RandomState(1)
    dense = rng.uniform(size=(9, 6))
    dense[dense < 0.5] = 0
    X = sp.csr_matrix(dense)
    for start, stop in [(0, 4), (4, 9), (3, 3), (8, 9)]:
        block = csr_rows(X, start, stop)
        np.testing.assert_array_equal(block.toarray(), dense[start:stop])
        if block.nnz:
            assert np.shares_memory(block.data, X.data)
            assert np.shares_memory(block.indices, X.indices)


# MNIST's shape with 200 hidden units; the arrays are never written, so they
# cost address space only.
MNIST_SHAPE = (60_000, 784)


@pytest.mark.parametrize("n_cores", [2, 16, 32, 64, 128])
def test_every_core_up_to_64_gets_a_chunk(monkeypatch, n_cores):
    monkeypatch.setattr(_rows, "default_n_threads", lambda: n_cores)
    X = np.empty(MNIST_SHAPE, dtype=np.float32)
    with SparseAutoencoderObjective(X, 200) as objective:
        # The chunks depend on the problem alone, the threads on the cores.
        assert objective.rows.n_chunks == 64
        assert objective.rows.n_threads == min(n_cores, 64)
    with ClassifierObjective(X, np.zeros(len(X)), (784, 200, 10), alpha=0) as net:
        assert net.rows.n_chunks == 64
        assert net.rows.n_threads == min(n_cores, 64)
    # Small problems keep few chunks, however many cores there are.
    small = np.empty((1797, 64))
    with SparseAutoencoderObjective(small, 25) as objective:
        assert objective.rows.n_chunks == 1
        assert objective.rows.n_threads == 1


def _small_problem(seed, n_samples=640, n_features=6, n_components=5):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n_samples, n_features))
    layout = ParameterLayout(n_features, n_components)
    theta = rng.uniform(-0.5, 0.5, layout.size)
    return X, theta


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_64_chunks_give_the_same_bits_on_any_number_of_threads(dtype):
    X, theta = _small_problem(0)
    X = X.astype(dtype)
    results = []
    for n_threads in (1, 2, 16, 64):
        with SparseAutoencoderObjective(
            X, 5, beta=3.0, alpha=1e-3, n_chunks=64, n_threads=n_threads
        ) as objective:
            assert objective.rows.n_threads == n_threads
            results.append(objective(theta))
    for loss, grad in results[1:]:
        assert loss == results[0][0]
        np.testing.assert_array_equal(grad, results[0][1])


@pytest.mark.parametrize("n_threads", [1, 2, 8])
def test_partial_gradients_are_bounded_by_the_threads(n_threads):
    X, theta = _small_problem(1, n_samples=6400, n_features=50, n_components=40)
    with SparseAutoencoderObjective(
        X, 40, n_chunks=64, n_threads=n_threads
    ) as objective:
        assert objective.rows._gradients.qsize() == 2 * n_threads
        objective(theta)  # the first call may make lasting arrays
        tracemalloc.start()
        try:
            objective(theta)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # All partial gradients are back in the pool after the call.
        assert objective.rows._gradients.qsize() == 2 * n_threads
    # A call allocates the float64 total and a few temporaries of its size
    # (8.7 of them on 8 threads with NumPy 1.22), not a gradient per chunk
    # (64 of them).
    assert peak < 16 * theta.nbytes


def test_a_failing_chunk_raises_and_leaves_the_objective_usable():
    X, theta = _small_problem(2)
    with SparseAutoencoderObjective(X, 5, n_chunks=16, n_threads=4) as objective:
        expected = objective(theta)

        def fail_on_chunk_5(chunk, work, grad):
            if chunk is objective.rows.chunks[5]:
                raise RuntimeError("chunk 5 failed")
            grad.fill(0)

        with pytest.raises(RuntimeError, match="chunk 5 failed"):
            objective.rows.map_gradient(fail_on_chunk_5)
        assert objective.rows._gradients.qsize() == 8
        loss, grad = objective(theta)
    assert loss == expected[0]
    np.testing.assert_array_equal(grad, expected[1])


@pytest.mark.parametrize("problem", ["autoencoder", "k-sparse-denoising"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("panel_blocks", [1, 3, 8])
def test_panels_of_blocks_change_the_result_only_by_rounding(
    problem, sparse, panel_blocks, monkeypatch
):
    # The weight gradients of a panel of blocks are one product each: the
    # first panel of a chunk writes them, the others add to them. Two chunks
    # of 100 rows make 15 blocks of 7 rows (the last of 2) each: panels of 1,
    # 3 and 8 blocks, the last one of a chunk shorter.
    make, theta = _problem(problem, 200, sparse=sparse)
    with make(n_chunks=1) as reference:
        assert reference.rows.block_rows == 200
        loss, grad = reference(theta)
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 7 * N_FEATURES * 8)
    monkeypatch.setattr(_objective, "_PANEL_BLOCKS", panel_blocks)
    with make(n_chunks=2, n_threads=2) as paneled:
        assert paneled._panel_blocks == panel_blocks
        loss_p, grad_p = paneled(theta)
    assert loss_p == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(grad_p, grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("gradient", [False, True])
def test_the_calling_thread_does_not_wait_for_a_thread_without_chunks(gradient):
    # The other thread is busy (asleep, in practice) until released: the
    # calling thread takes every chunk and returns without waiting for it.
    X = np.arange(40 * 2, dtype=np.float64).reshape(40, 2)
    rows = _bare_rows(X, n_chunks=4, n_threads=2, grad_size=3)
    released = threading.Event()
    safety = threading.Timer(60, released.set)  # never hang the test suite
    try:
        rows._executor.submit(released.wait)
        safety.start()
        names = set()

        def task(chunk, work, grad=None):
            names.add(threading.current_thread().name)
            if grad is not None:
                grad.fill(chunk.start)
            return chunk.start

        if gradient:
            results, total = rows.map_gradient(task)
            np.testing.assert_array_equal(total, np.full(3, 0 + 10 + 20 + 30))
        else:
            results = rows.map(task)
        assert not released.is_set()
        assert results == [0, 10, 20, 30]
        assert names == {threading.current_thread().name}
    finally:
        released.set()
        safety.cancel()
        rows.close()
