"""The objective's internals for speed and memory: in-place BLAS accumulation,
CSR blocks that share the data, and no per-block temporaries."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_sae import _rows
from sklearn_sae._objective import SparseAutoencoderObjective
from sklearn_sae._rows import BlockSums, csr_rows


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


@pytest.mark.parametrize("switches", [{}, {"k": 3}, {"decoder": "linear"}])
def test_evaluation_allocates_no_block_temporaries(monkeypatch, switches):
    """After the first call, an evaluation allocates about the gradient only."""
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 50 * 40 * 8)  # 50-row blocks
    rng = np.random.RandomState(2)
    X = rng.uniform(size=(2000, 40))
    beta = 0.0 if "k" in switches else 3.0
    with SparseAutoencoderObjective(
        X, 10, beta=beta, alpha=1e-3, n_threads=1, **switches
    ) as objective:
        assert objective.rows.block_rows == 50
        theta = objective.layout.initialize(rng)
        objective(theta)
        tracemalloc.start()
        try:
            objective(theta)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # The returned gradient and the decay term are two float64 vectors; one
    # (50, 40) block would be 16,000 bytes more. The top-k selection needs a
    # few (50, 10) index arrays (argpartition).
    allowed = 2 * 8 * objective.layout.size + 8_000
    if "k" in switches:
        allowed += 3 * 8 * 50 * 10
    assert peak < allowed
