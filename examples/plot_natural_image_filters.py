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
whitened; here they come from the two photographs that ship with scikit-learn,
whitened by the same filter
(:func:`~sklearn_sae.datasets.load_natural_image_patches`). Whitening removes
the strong correlations between neighbouring pixels, so that what is left to
learn are local structures: many hidden units become detectors of edges at
different positions and orientations, like the receptive fields of simple
cells in the visual cortex.
"""

# %%
# Sample and normalise the patches
# --------------------------------
# The patches are normalised as in the tutorial: each loses its mean, is
# truncated to three standard deviations and is rescaled into [0.1, 0.9], the
# range of the sigmoid decoder.
import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import SparseAutoencoder
from sklearn_sae.datasets import load_natural_image_patches
from sklearn_sae.plotting import FilterDisplay

patches = load_natural_image_patches(10_000, patch_size=8, random_state=0)
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
# contrast. Most of the 25 are oriented edges or short gratings (the
# photographs hold many regular textures). The few noisy tiles are units the
# strong sparsity target (``rho=0.01``) is switching off: trained to
# convergence, about a thousand iterations, they become flat, and the others
# keep their shape.
fig, (ax_patches, ax_filters) = plt.subplots(1, 2, figsize=(9, 4.5))
FilterDisplay(patches[:100], image_shape=(8, 8)).plot(ax=ax_patches)
ax_patches.set_title("Whitened, normalised patches")
FilterDisplay.from_estimator(sae, image_shape=(8, 8), ax=ax_filters)
ax_filters.set_title("Learned filters")
plt.show()
