"""The row machinery on many cores: chunks, threads and partial gradients."""

import tracemalloc

import numpy as np
import pytest

from sklearn_sae import _rows
from sklearn_sae._finetune import ClassifierObjective
from sklearn_sae._objective import ParameterLayout, SparseAutoencoderObjective

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


def _problem(seed, n_samples=640, n_features=6, n_components=5):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n_samples, n_features))
    layout = ParameterLayout(n_features, n_components)
    theta = rng.uniform(-0.5, 0.5, layout.size)
    return X, theta


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_64_chunks_give_the_same_bits_on_any_number_of_threads(dtype):
    X, theta = _problem(0)
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
    X, theta = _problem(1, n_samples=6400, n_features=50, n_components=40)
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
    # A call allocates the float64 total and a few temporaries of its size,
    # not a gradient per chunk.
    assert peak < 8 * theta.nbytes


def test_a_failing_chunk_raises_and_leaves_the_objective_usable():
    X, theta = _problem(2)
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
