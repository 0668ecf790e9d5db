"""Shared fixtures and options, and a map of the test files.

Each concern has one home:

- test_validation.py: bad input, invalid parameters and unfitted models,
  refused with errors that name the problem (every estimator, method and
  parameter; normalize_patches).
- test_persistence.py: pickle, joblib and skops.io round trips; memory over
  repeated fits.
- test_determinism.py: a fixed random_state gives bitwise-identical models
  (refits, clones, any number of BLAS threads, parallel searches), another
  seed another model; fitted models are safe to share between threads.
- test_common.py: scikit-learn's estimator checks.
- test_properties.py: hypothesis-generated shapes, dtypes, memory layouts and
  parameters of every estimator.
- test_extremes.py: extreme parameters and degenerate data give finite
  models; estimators whose line search fails or whose objective overflows.
- test_optimize.py: the L-BFGS driver (its result, its back-off from
  non-finite points) and its ConvergenceWarning, which names the caller's
  line.
- test_objective.py, test_objective_variants.py, test_finetune.py: the
  autoencoder's objective, its switches, and the classifier's objective
  (gradients against finite differences, losses against references);
  test_objective_perf.py: their memory per evaluation.
- test_rows.py: the row machinery both objectives share (chunks, blocks,
  threads, up to 64 cores, partial gradients).
- test_sparse_autoencoder.py, test_variants.py, test_stacked.py,
  test_preprocessing.py: what each estimator learns and computes
  (SparseAutoencoder; its options and KSparseAutoencoder; the stacks;
  ZCAWhitener and normalize_patches).
- test_patches.py, test_datasets.py, test_mnist.py, test_plotting.py,
  test_main.py, test_scale_out.py: natural-image patches, the MNIST loader,
  features on MNIST, the filter plots, the demo, dask and memmaps.
- test_examples.py, test_readme.py: the gallery's scripts and the README.

Shared by the files: _data.py (the digits and MNIST) and _models.py (every
estimator, bitwise comparison, quiet fits, losses recomputed at the fitted
weights). Below: where the MNIST IDX files are, when they are at hand, the
digits, and ``--run-examples``, which runs the gallery's scripts (the
documentation build runs them anyway).
"""

import os
from pathlib import Path

import pytest
from _data import digits as _digits

from sklearn_sae.datasets import _IDX_FILES, MNIST_DIR_ENV

# Read at import, before any test's monkeypatch can touch the environment:
# SKLEARN_SAE_MNIST_DIR, else ../shared/data/mnist beside the repository, where
# CI keeps the files.
MNIST_DIR = Path(
    os.environ.get(MNIST_DIR_ENV)
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
)


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder of the four MNIST IDX files; skips the test when absent."""
    missing = [
        name
        for name in _IDX_FILES.values()
        if not (MNIST_DIR / name).is_file() and not (MNIST_DIR / f"{name}.gz").is_file()
    ]
    if missing:
        pytest.skip(
            f"MNIST IDX files not found in {MNIST_DIR} (missing {', '.join(missing)}); "
            f"set {MNIST_DIR_ENV} to a folder holding them to run this test"
        )
    return MNIST_DIR


@pytest.fixture(scope="session")
def digits():
    """(X, y) of load_digits, X / 16 in [0, 1] (see _data.digits); not to modify."""
    return _digits()


def pytest_addoption(parser):
    parser.addoption(
        "--run-examples",
        action="store_true",
        help="also run every script in examples/ (the docs build runs them in CI)",
    )
