"""Shared fixtures and options.

Where the MNIST IDX files are, when they are at hand, and ``--run-examples``,
which runs the gallery's scripts (the documentation build runs them anyway).
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
