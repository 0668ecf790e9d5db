"""
==========================================================
Edge detectors learned from natural images
==========================================================

The UFLDL tutorial's sparse autoencoder exercise: 10,000 patches of 8x8 pixels
sampled from whitened natural images, a :class:`~sklearn_sae.SparseAutoencoder`
of 25 hidden units with the exercise's settings (``rho=0.01``, ``beta=3``,
weight decay ``alpha=1e-4``, 400 L-BFGS iterations), and the learned filters
shown as the tutorial's ``display_network`` shows them.

The tutorial samples its patches from ten images that Olshausen and Field had
whitened. Here they come from nine photographs that ship inside
scikit-image (``skimage.data``: a cameraman, an astronaut, a cup of coffee, a
cat, a rocket, the moon, and close-ups of grass, gravel and a brick wall),
whitened by the same filter (:func:`~sklearn_sae.datasets.whiten_image`).
Whitening removes the strong correlations between neighbouring pixels, so
that what is left to learn are local structures: the hidden units become
detectors of edges at different positions and orientations, like the
receptive fields of simple cells in the visual cortex.

The images matter. The two photographs that ship with scikit-learn
(:func:`~sklearn_sae.datasets.load_natural_image_patches`), a pagoda and a
flower, are dominated by regular textures: on their patches the same
autoencoder learns mostly gratings of several stripes, and so it still does
with twice the patches and 1,000 iterations. The nine scikit-image photographs
give the oriented edges at the tutorial's settings and cost.
"""

# %%
# Sample and normalise the patches
# --------------------------------
# Each image is turned to grayscale, scaled into [0, 1] and whitened; the
# patches are drawn from random images at random positions and normalised as
# in the tutorial: each loses its mean, is truncated to three standard
# deviations and is rescaled into [0.1, 0.9], the range of the sigmoid
# decoder.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import skimage.data
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import SparseAutoencoder
from sklearn_sae.datasets import whiten_image
from sklearn_sae.plotting import FilterDisplay
from sklearn_sae.preprocessing import normalize_patches

names = ["camera", "astronaut", "coffee", "chelsea", "rocket", "moon", "grass"]
names += ["gravel", "brick"]
images = []
for name in names:
    image = getattr(skimage.data, name)() / 255.0
    if image.ndim == 3:
        image = image.mean(axis=2)
    images.append(whiten_image(image))

rng = np.random.RandomState(0)
patches = np.empty((10_000, 64))
for row, index in enumerate(rng.randint(len(images), size=len(patches))):
    image = images[index]
    top = rng.randint(image.shape[0] - 7)
    left = rng.randint(image.shape[1] - 7)
    patches[row] = image[top : top + 8, left : left + 8].ravel()
patches = normalize_patches(patches)
print(f"patches: {patches.shape}, values in [{patches.min():.2f}, {patches.max():.2f}]")

# %%
# Train the sparse autoencoder
# ----------------------------
sae = SparseAutoencoder(
    n_components=25, rho=0.01, beta=3.0, alpha=1e-4, max_iter=400, random_state=0
)
with warnings.catch_warnings():
    # The tutorial's 400 iterations do not reach the gradient tolerance.
    warnings.simplefilter("ignore", ConvergenceWarning)
    sae.fit(patches)
print(f"{sae.n_iter_} L-BFGS iterations, final loss {sae.loss_:.4f}")
mean_activation = sae.transform(patches).mean(axis=0)
print(f"mean hidden activation: {mean_activation.mean():.4f} (rho = 0.01)")

# %%
# Patches and learned filters
# ---------------------------
# Left, 100 of the training patches; right, the input of unit norm that
# activates each hidden unit most, ``W_i / ||W_i||``, each tile with its own
# contrast. Most of the 25 are oriented edges and bars, at several positions
# and orientations.
fig, (ax_patches, ax_filters) = plt.subplots(1, 2, figsize=(9, 4.5))
FilterDisplay(patches[:100], image_shape=(8, 8)).plot(ax=ax_patches)
ax_patches.set_title("Whitened, normalised patches")
FilterDisplay.from_estimator(sae, image_shape=(8, 8), ax=ax_filters)
ax_filters.set_title("Learned filters")
plt.show()
