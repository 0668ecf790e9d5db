"""Sparse autoencoders of the Stanford UFLDL tutorial as scikit-learn estimators."""

from ._sparse_autoencoder import SparseAutoencoder

__version__ = "0.1.0.dev0"

__all__ = ["SparseAutoencoder", "__version__"]
