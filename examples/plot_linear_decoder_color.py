"""
==========================================================
Linear decoder on ZCA-whitened colour patches
==========================================================

The UFLDL tutorial's "Linear Decoders" exercise. ZCA whitening
(:class:`~sklearn_sae.ZCAWhitener`) decorrelates the pixels of colour image
patches, which leaves them real-valued, with no fixed range: a sigmoid decoder
could not reconstruct them, so the autoencoder uses the linear decoder
(``decoder="linear"``), ``x_hat = W2 a + b2``, with the exercise's sparsity
settings (``rho=0.035``, ``beta=5``, ``alpha=3e-3``) and whitening
regulariser (``epsilon=0.1``).

The tutorial trains 400 features on 100,000 patches of the STL-10 images for
400 iterations. To run in about half a minute this example trains 49 features
on 20,000 patches of the two photographs that ship with scikit-learn, for 300
iterations, in float32.
"""

# %%
# Sample and whiten colour patches
# --------------------------------
# The patches keep their raw values in [0, 1]; ZCA removes the mean of each
# pixel and whitens.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import SparseAutoencoder, ZCAWhitener
from sklearn_sae.datasets import load_natural_image_patches
from sklearn_sae.plotting import FilterDisplay

patches = load_natural_image_patches(
    20_000, patch_size=8, color=True, whiten=False, normalize=False, random_state=0
)
zca = ZCAWhitener(epsilon=0.1).fit(patches)
white = zca.transform(patches).astype(np.float32)
print(f"{len(patches)} patches of {patches.shape[1]} values")
print(f"whitened values from {white.min():.1f} to {white.max():.1f}")

# %%
# Train the autoencoder with a linear decoder
# -------------------------------------------
sae = SparseAutoencoder(
    n_components=49,
    decoder="linear",
    rho=0.035,
    beta=5.0,
    alpha=3e-3,
    max_iter=300,
    random_state=0,
)
with warnings.catch_warnings():
    # 300 iterations keep the example short; they do not converge.
    warnings.simplefilter("ignore", ConvergenceWarning)
    sae.fit(white)
print(f"{sae.n_iter_} L-BFGS iterations, final loss {sae.loss_:.3f}")

# %%
# Whitened patches and features
# -----------------------------
# The features live in whitened space; as in the tutorial, they are shown in
# the space of the images by multiplying the weights by the whitening matrix,
# ``W @ zca.whitening_`` (``whitening=zca``). Each tile is stretched to its
# own range, the whitened patches on the left too. Some units become blobs of
# opposing colours (blue against orange, green against magenta); the others
# are grey, oriented, fine edges and gratings, the colour version of the edge
# detectors of the grayscale exercise.
fig, axes = plt.subplots(1, 2, figsize=(9, 4.8), layout="constrained")
FilterDisplay(white[:49], image_shape=(8, 8, 3)).plot(ax=axes[0])
axes[0].set_title("ZCA-whitened patches")
FilterDisplay.from_estimator(sae, image_shape=(8, 8, 3), whitening=zca, ax=axes[1])
axes[1].set_title("Learned features")
plt.show()
