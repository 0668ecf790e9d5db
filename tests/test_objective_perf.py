"""The objective's memory: an evaluation allocates no per-block temporaries.

(The in-place block sums and the CSR blocks that share the data are tested
in test_rows.py.)"""

import tracemalloc

import numpy as np
import pytest

from sklearn_sae import _rows
from sklearn_sae._objective import SparseAutoencoderObjective


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
