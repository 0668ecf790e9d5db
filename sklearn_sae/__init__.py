"""Sparse autoencoders of the Stanford UFLDL tutorial as scikit-learn estimators."""

from ._convolution import ConvolutionalFeatures
from ._k_sparse_autoencoder import KSparseAutoencoder
from ._sparse_autoencoder import SparseAutoencoder
from ._stacked import StackedSparseAutoencoder, StackedSparseAutoencoderClassifier
from .preprocessing import ZCAWhitener

__version__ = "0.1.0.dev0"

__all__ = [
    "ConvolutionalFeatures",
    "KSparseAutoencoder",
    "SparseAutoencoder",
    "StackedSparseAutoencoder",
    "StackedSparseAutoencoderClassifier",
    "ZCAWhitener",
    "__version__",
]
