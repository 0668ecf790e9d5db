"""
==========================================================
Convolved and pooled features of handwritten digits
==========================================================

The UFLDL tutorial's "Working with large images", at the size of scikit-learn's
8x8 digits: a :class:`~sklearn_sae.SparseAutoencoder` learns features of 4x4
patches, :class:`~sklearn_sae.ConvolutionalFeatures` applies it at each of
the 5x5 positions of a 4x4 window in every digit and pools each feature map
over the four quadrants (a 2x2 grid) by its maximum. LogisticRegression on
those features is compared with LogisticRegression on the raw pixels and on
the features of an autoencoder of whole digits of the same output size.

``benchmarks/bench_convolution_mnist.py`` runs the same kind of pipeline on
MNIST (28x28 digits, 8x8 patches), with every choice made on held-out
training images.
"""

# %%
# Three pipelines
# ---------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_sae import ConvolutionalFeatures, SparseAutoencoder
from sklearn_sae.plotting import FilterDisplay

X, y = load_digits(return_X_y=True)
X = X / 16.0  # into [0, 1], the range of the sigmoid decoder
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

conv = ConvolutionalFeatures(
    SparseAutoencoder(n_components=32, rho=0.05, beta=1.0, alpha=1e-4, random_state=0),
    image_shape=(8, 8),
    patch_size=4,
    pooling="max",
    pooling_grid=(2, 2),
    n_patches=20_000,
    random_state=0,
)
pipelines = {
    "raw pixels": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    "autoencoder of whole digits (128)": make_pipeline(
        SparseAutoencoder(
            n_components=128, rho=0.05, beta=1.0, alpha=1e-4, random_state=0
        ),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    ),
    "4x4 patches, max over 2x2 (4 x 32)": make_pipeline(
        conv, StandardScaler(), LogisticRegression(max_iter=2000)
    ),
}
accuracy = {}
for name, pipe in pipelines.items():
    with warnings.catch_warnings():
        # The autoencoders' default 400 iterations stop short of the tolerance.
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X_train, y_train)
    accuracy[name] = pipe.score(X_test, y_test)
    print(f"{name:<36} test accuracy {accuracy[name]:.3f}")

# %%
# Patch features and feature maps
# --------------------------------
# Left, the 32 features of 4x4 patches; right, the maps of the four most
# active on one digit, at each of the 5x5 window positions (each map with its
# own colour scale), before the pooling keeps the maximum of each quadrant.
conv = pipelines["4x4 patches, max over 2x2 (4 x 32)"][0]
sae = conv.patch_model_
digit = X_test[:1]
# The feature maps themselves: a pooling grid as fine as the maps, with the
# fitted patch model (prefit=True).
maps = ConvolutionalFeatures(
    sae, image_shape=(8, 8), patch_size=4, pooling_grid=(5, 5), prefit=True
).fit(digit)
H = maps.transform(digit).reshape(5, 5, -1)
units = np.argsort(H.max(axis=(0, 1)))[::-1][:4]  # the most active on it

fig = plt.figure(figsize=(10, 4.2), layout="constrained")
left, right = fig.subfigures(1, 2, width_ratios=[1, 1.6])
FilterDisplay.from_estimator(sae, image_shape=(4, 4), ax=left.subplots())
left.suptitle("Features of 4x4 patches")
axes = right.subplots(1, 5)
axes[0].imshow(digit.reshape(8, 8), cmap="gray_r")
axes[0].set_title("digit")
for ax, unit in zip(axes[1:], units, strict=True):
    ax.imshow(H[:, :, unit], cmap="viridis")
    ax.set_title(f"feature {unit}")
for ax in axes:
    ax.set_axis_off()
right.suptitle("Feature maps (5x5 positions)")
plt.show()
