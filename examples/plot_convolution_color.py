"""
==========================================================
Colour features convolved over whole images and pooled
==========================================================

The UFLDL tutorial's "Convolution and Pooling" exercise: colour features
learned from ZCA-whitened 8x8 patches by an autoencoder with a linear decoder
(as in :ref:`sphx_glr_auto_examples_plot_linear_decoder_color.py`) are
convolved over whole images, and each feature map is pooled over a 3x3 grid
of regions.

:class:`~sklearn_sae.ConvolutionalFeatures` does both steps. Its patch model
is the pipeline ``ZCAWhitener -> SparseAutoencoder(decoder="linear")``, which
it fits on 10,000 random patches of the images; at transform time the
whitening is folded into the autoencoder's weights, ``W Z (x - mean) + b``,
so that the convolution of an image is one matrix product of its 420 x 633
patch rows by the filters. The tutorial trains 400 features on STL-10; here
36 features learned from the two photographs that ship with scikit-learn, in
150 iterations, keep the example short.
"""

# %%
# Learn the patch features and convolve them
# ------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.datasets import load_sample_images
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sklearn_sae import ConvolutionalFeatures, SparseAutoencoder, ZCAWhitener
from sklearn_sae.plotting import FilterDisplay

images = np.array(load_sample_images().images, dtype=np.float32) / 255
n_images, height, width, channels = images.shape
X = images.reshape(n_images, -1)  # one image per row, channels last
print(f"{n_images} images of {height}x{width}x{channels}")

patch_model = make_pipeline(
    ZCAWhitener(epsilon=0.1),
    SparseAutoencoder(
        n_components=36,
        decoder="linear",
        rho=0.035,
        beta=5.0,
        alpha=3e-3,
        max_iter=150,
        random_state=0,
    ),
)
conv = ConvolutionalFeatures(
    patch_model,
    image_shape=(height, width, channels),
    patch_size=8,
    pooling="mean",
    pooling_grid=(3, 3),
    n_patches=10_000,
    random_state=0,
)
with warnings.catch_warnings():
    # 150 iterations keep the example short; they do not converge.
    warnings.simplefilter("ignore", ConvergenceWarning)
    conv.fit(X)
pooled = conv.transform(X)
print(f"feature maps of {conv.feature_map_shape_} positions per image")
print(f"pooled features: {pooled.shape} (9 regions x 36 features per image)")

# %%
# Feature maps
# ------------
# The maps of four features over the first image: at each window position
# (every fourth, for the figure), the feature's activation on the patch
# there, computed by the fitted patch model itself.
zca, sae = conv.patch_model_.steps[0][1], conv.patch_model_.steps[1][1]
windows = sliding_window_view(images[0], (8, 8), axis=(0, 1))[::4, ::4]
patches = windows.transpose(0, 1, 3, 4, 2).reshape(-1, 8 * 8 * 3)  # rows, cols, RGB
feature_maps = conv.patch_model_.transform(patches).reshape(*windows.shape[:2], -1)
units = [0, 1, 2, 3]

fig, axes = plt.subplots(2, 3, figsize=(11, 5.5), layout="constrained")
axes[0, 0].imshow(images[0])
axes[0, 0].set_title("image")
FilterDisplay.from_estimator(sae, image_shape=(8, 8, 3), whitening=zca, ax=axes[1, 0])
axes[1, 0].set_title("36 features (in image space)")
for ax, unit in zip(axes[:, 1:].ravel(), units, strict=True):
    ax.imshow(feature_maps[:, :, unit], cmap="magma")
    ax.set_title(f"map of feature {unit}")
for ax in axes.ravel():
    ax.set_axis_off()

# %%
# Pooled features
# ---------------
# Each of the 36 maps of each image, averaged over the 3x3 grid of regions:
# the 324 values that describe the image. Regions differ: in the first
# photograph the top row of regions, mostly sky, activates two features far
# more than the rest of the image does.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), layout="constrained")
for ax, features, title in zip(axes, pooled, ["china", "flower"], strict=True):
    shown = ax.imshow(features.reshape(9, 36), aspect="auto", cmap="magma")
    ax.set_xlabel("feature")
    ax.set_ylabel("region (row by row)")
    ax.set_title(title)
fig.colorbar(shown, ax=axes)
plt.show()
