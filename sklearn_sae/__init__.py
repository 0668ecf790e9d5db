"""Sparse autoencoders of the Stanford UFLDL tutorial as scikit-learn estimators."""

from ._k_sparse_autoencoder import KSparseAutoencoder
from ._sparse_autoencoder import SparseAutoencoder

__version__ = "0.1.0.dev0"

__all__ = ["KSparseAutoencoder", "SparseAutoencoder", "__version__"]
