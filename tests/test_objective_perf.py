"""The objective's memory: an evaluation allocates no per-block temporaries,
and a whole fit allocates less than its training data.

(The in-place block sums and the CSR blocks that share the data are tested
in test_rows.py.)"""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import SparseAutoencoder, _rows
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


def test_fit_allocates_less_than_its_training_data(monkeypatch):
    """Beyond the data, fit allocates at most the data's size (0.57 x here).

    What it allocates: the hidden activations (one float32 per sample and
    hidden unit, and a column of ones: 6.2 MB), each thread's work arrays
    (two blocks of rows of 1 MB each, and a few smaller ones), the chunks'
    partial gradients and L-BFGS-B's history (both small here). Any copy of
    the data, or a temporary of its shape, would take 24 MB more.
    """
    monkeypatch.setattr(_rows, "default_n_threads", lambda: 2)
    X = np.random.RandomState(0).uniform(size=(60_000, 100)).astype(np.float32)
    sae = SparseAutoencoder(n_components=25, max_iter=3, random_state=0)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sae.fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    hidden = X.shape[0] * (25 + 1) * X.itemsize
    assert hidden < peak <= X.nbytes, f"{peak / X.nbytes:.2f} x the data"
