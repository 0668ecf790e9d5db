"""MNIST: Pipeline(SparseAutoencoder, LogisticRegression) against raw pixels.

The package demo (``python -m sklearn_sae --mnist``) at a fixed size:
``SparseAutoencoder(n_components=200, max_iter=100)`` with the tutorial's rho,
beta and alpha, then LogisticRegression, trained on the first 10,000 MNIST
training images and scored on the 10,000 test images in float32, beside
LogisticRegression on the raw pixels. Extra options are passed to the demo
(see ``python -m sklearn_sae --help``). Run from the repository root::

    python benchmarks/bench_mnist_pipeline.py

MNIST comes from :func:`sklearn_sae.datasets.load_mnist`: the IDX files in
the folder named by ``SKLEARN_SAE_MNIST_DIR`` (or ``--data-home``), else a
download from OpenML, cached in scikit-learn's data home.
"""

import sys

from sklearn_sae.__main__ import main

if __name__ == "__main__":
    protocol = ["--mnist", "--n-train", "10000", "--n-components", "200"]
    main([*protocol, "--max-iter", "100", *sys.argv[1:]])
