"""Loaders: the MNIST handwritten digits and patches of natural images.

MNIST is read from the original IDX files of LeCun, Cortes and Burges when
they are available locally, and fetched from OpenML otherwise. Both sources give
the same layout as ``fetch_openml("mnist_784")``: the 60,000 training images
first, then the 10,000 test images.

Natural-image patches are sampled from the photographs that ship with
scikit-learn (:func:`sklearn.datasets.load_sample_images`), whitened and
normalised as the tutorial prepares its own images.
"""

import gzip
import os
import struct
import zlib
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.datasets import fetch_openml
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

__all__ = [
    "MNIST_DIR_ENV",
    "N_TEST",
    "N_TRAIN",
    "load_mnist",
    "load_natural_image_patches",
    "whiten_image",
]

#: Environment variable naming a folder that holds the four MNIST IDX files.
MNIST_DIR_ENV = "SKLEARN_SAE_MNIST_DIR"

#: Number of training images in the official MNIST files; they come first.
N_TRAIN = 60_000

#: Number of test images in the official MNIST files; they come last.
N_TEST = 10_000

_IMAGE_SHAPE = (28, 28)
_N_FEATURES = _IMAGE_SHAPE[0] * _IMAGE_SHAPE[1]
_N_CLASSES = 10

# IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte)
# and the number of dimensions, read as a big-endian 32-bit integer.
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801

# Base names of the original files, keyed by (subset, kind).
_IDX_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}

_OPENML_NAME = "mnist_784"
_OPENML_VERSION = 1

_DESCR = """\
.. _mnist_dataset:

MNIST handwritten digits dataset
--------------------------------

**Data Set Characteristics:**

=================   ================================
Classes                                           10
Samples total                                 70,000
Training samples                 60,000 (rows first)
Test samples                      10,000 (rows last)
Dimensionality                     784 (28x28 image)
Features               pixel intensities (see below)
=================   ================================

Grayscale images of handwritten digits 0-9, size-normalized and centered in a
28x28 pixel box, by Yann LeCun, Corinna Cortes and Christopher J.C. Burges.
Each row of ``data`` is an image flattened in row-major order: feature
``pixel{{28 * i + j + 1}}`` is the pixel in row ``i`` and column ``j``.
0 is the background and 255 the ink; with ``scale=True`` the intensities are
divided by 255 to lie in [0, 1].

Source of this copy: {source}
"""


def _read_idx(path, magic):
    """Read one IDX file holding unsigned bytes.

    Parameters
    ----------
    path : pathlib.Path
        File to read; it is decompressed when its name ends with ``.gz``.

    magic : int
        Expected magic number, e.g. ``0x00000803`` for a 3-D array of bytes.

    Returns
    -------
    array : ndarray of dtype uint8
        Read-only array whose shape is given by the file header.

    Raises
    ------
    ValueError
        If the file is not valid gzip, has a different magic number, or its
        length does not match the dimensions in its header.
    """
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{path} is not a valid gzip file (truncated or corrupt): {exc}"
            ) from exc

    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{path} is truncated: {len(data)} bytes is shorter than the "
            f"{header_size}-byte IDX header."
        )
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        hint = ""
        if data[:2] == b"\x1f\x8b":
            hint = " The file looks gzip-compressed; its name should end in '.gz'."
        raise ValueError(
            f"{path} is not a valid IDX file: magic number 0x{found:08X}, "
            f"expected 0x{magic:08X}.{hint}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    expected_size = header_size + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected_size:
        raise ValueError(
            f"{path} is truncated or corrupt: it holds {len(data)} bytes but "
            f"its header declares an array of shape {shape}, which needs "
            f"{expected_size} bytes."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def _find_idx_files(directory, origin):
    """Return the paths of the four IDX files in `directory`, keyed like _IDX_FILES.

    A gzipped file ``<name>.gz`` is preferred over a raw ``<name>``, since the
    compressed files are the ones distributed (and checksummed) originally.
    """
    if not directory.is_dir():
        raise FileNotFoundError(
            f"The MNIST folder {str(directory)!r} given by {origin} does not "
            "exist or is not a directory."
        )
    paths, missing = {}, []
    for key, name in _IDX_FILES.items():
        for candidate in (directory / f"{name}.gz", directory / name):
            if candidate.is_file():
                paths[key] = candidate
                break
        else:
            missing.append(f"{name}[.gz]")
    if missing:
        lacks = "all of" if len(missing) == len(_IDX_FILES) else "some of"
        raise FileNotFoundError(
            f"The MNIST folder {str(directory)!r} given by {origin} lacks "
            f"{lacks} the four original IDX files, each raw or gzipped (.gz). "
            f"Missing: {', '.join(missing)}."
        )
    return paths


def _load_idx_dir(directory, origin):
    """Read the MNIST IDX files in `directory` into uint8 (X, y), train first."""
    paths = _find_idx_files(directory, origin)
    images, labels = [], []
    for subset in ("train", "test"):
        image_path = paths[subset, "images"]
        label_path = paths[subset, "labels"]
        subset_images = _read_idx(image_path, _IMAGES_MAGIC)
        subset_labels = _read_idx(label_path, _LABELS_MAGIC)
        if subset_images.shape[1:] != _IMAGE_SHAPE:
            raise ValueError(
                f"{image_path} holds images of shape {subset_images.shape[1:]}, "
                f"expected {_IMAGE_SHAPE}."
            )
        if subset_images.shape[0] != subset_labels.shape[0]:
            raise ValueError(
                f"The {subset} set has {subset_images.shape[0]} images in "
                f"{image_path} but {subset_labels.shape[0]} labels in "
                f"{label_path}."
            )
        if subset_labels.size and subset_labels.max() >= _N_CLASSES:
            raise ValueError(
                f"{label_path} holds the label {subset_labels.max()}; MNIST "
                f"labels are 0 to {_N_CLASSES - 1}."
            )
        images.append(subset_images.reshape(-1, _N_FEATURES))
        labels.append(subset_labels)
    return images, labels


def _fetch_openml_mnist():
    """Fetch MNIST from OpenML as float64 pixels in [0, 255] and string labels."""
    # parser="liac-arff" is required: the default "auto" picks the pandas parser
    # for this dense dataset, which fails when pandas is not installed, and with
    # as_frame=False it returns ordinally encoded numeric data as float64.
    try:
        X, y = fetch_openml(
            _OPENML_NAME,
            version=_OPENML_VERSION,
            as_frame=False,
            parser="liac-arff",
            return_X_y=True,
        )
    except Exception as exc:
        raise OSError(
            f"MNIST was not found locally and could not be fetched from OpenML "
            f"({type(exc).__name__}: {exc}). Set the {MNIST_DIR_ENV} environment "
            "variable, or pass data_home, to a folder holding the four original "
            "IDX files (raw or .gz): "
            f"{', '.join(_IDX_FILES.values())}."
        ) from exc

    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != _N_FEATURES or y.shape != (X.shape[0],):
        raise ValueError(
            f"OpenML returned data of shape {X.shape} and target of shape "
            f"{y.shape}; expected (n_samples, {_N_FEATURES}) and (n_samples,)."
        )
    # liac-arff returns the nominal class as strings "0".."9".
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= _N_CLASSES):
        raise ValueError(f"OpenML returned labels outside 0..{_N_CLASSES - 1}.")
    return X, y


def _check_dtype(dtype):
    # np.dtype(None) is float64, so None is refused explicitly; comparing the
    # scalar types avoids dtype.__eq__, which also coerces its argument.
    try:
        checked = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        checked = None
    if checked is None or checked.type not in (np.float32, np.float64):
        raise ValueError(
            f"dtype must be np.float32 or np.float64, got {dtype!r} instead."
        )
    return checked


@validate_params(
    {
        "data_home": [str, os.PathLike, None],
        "return_X_y": ["boolean"],
        "dtype": "no_validation",  # checked by _check_dtype
        "scale": ["boolean"],
        "download_if_missing": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_mnist(
    data_home=None,
    *,
    return_X_y=False,
    dtype=np.float64,
    scale=True,
    download_if_missing=True,
):
    """Load the MNIST handwritten digits dataset (classification).

    =================   ================================
    Classes                                           10
    Samples total                                 70,000
    Training samples                 60,000 (rows first)
    Test samples                      10,000 (rows last)
    Dimensionality                     784 (28x28 image)
    Features                            floats in [0, 1]
    =================   ================================

    The original IDX files are read from a local folder when one is
    configured; otherwise the dataset is downloaded from OpenML with
    :func:`sklearn.datasets.fetch_openml` (``"mnist_784"``, version 1). Both
    sources give the same rows in the same order as ``fetch_openml``, so
    ``X[:N_TRAIN]`` is the training set and ``X[N_TRAIN:]`` the test set.

    The folder is searched for ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte``, each either raw or gzipped with a ``.gz``
    suffix (the gzipped file is used if both exist). It is, in order:

    1. `data_home` when given;
    2. else the folder in the environment variable ``SKLEARN_SAE_MNIST_DIR``
       when it is set and not empty.

    A folder configured either way must hold all four files: a missing file
    raises an error instead of silently downloading. Only when neither is set
    is the data fetched from OpenML (and cached in scikit-learn's data home,
    see :func:`sklearn.datasets.get_data_home`).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding the four MNIST IDX files. Unlike the `data_home` of
        scikit-learn's fetchers, it is never written to. If None, the folder
        in ``SKLEARN_SAE_MNIST_DIR`` is used, or OpenML when that is unset.

    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object.

    dtype : {np.float32, np.float64}, default=np.float64
        Floating point type of `data`.

    scale : bool, default=True
        If True, the pixel intensities are divided by 255 so that they lie in
        [0, 1]. If False, they are the original integers 0 to 255 stored as
        `dtype`.

    download_if_missing : bool, default=True
        If False, raise an error instead of downloading the data from OpenML
        when no local folder is configured.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (70000, 784)
            The flattened images, one per row, of type `dtype`. The first
            60,000 rows are the training set, the last 10,000 the test set.
        target : ndarray of shape (70000,) and dtype int64
            The digit shown in each image, 0 to 9.
        feature_names : list of str
            The names of the columns, ``"pixel1"`` to ``"pixel784"`` as in
            ``fetch_openml("mnist_784")``, in row-major order.
        target_names : ndarray of shape (10,)
            The classes, 0 to 9.
        DESCR : str
            A description of the dataset, including where it was loaded from.

    (data, target) : tuple if ``return_X_y`` is True
        The arrays described above.

    Raises
    ------
    FileNotFoundError
        If the folder given by `data_home` or ``SKLEARN_SAE_MNIST_DIR`` does
        not exist or lacks one of the four files, or if no folder is
        configured and `download_if_missing` is False.

    ValueError
        If an IDX file is corrupt or truncated (the message names the file), if
        the numbers of images and labels of a set disagree, or if `dtype` is
        not float32 or float64.

    OSError
        If no folder is configured and the download from OpenML fails, e.g.
        without network access. The original exception is chained.

    Notes
    -----
    Reading the local files takes about a second. The OpenML download is
    parsed with ``parser="liac-arff"``, which works without pandas but is
    slow; the parsed labels, strings there, are converted to int64 so that
    both sources return identical types.

    Examples
    --------
    >>> from sklearn_sae.datasets import N_TRAIN, load_mnist

    The next lines need the MNIST files locally or network access, so they
    are skipped when the examples are run as doctests:

    >>> X, y = load_mnist(return_X_y=True, dtype="float32")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.dtype  # doctest: +SKIP
    ((70000, 784), dtype('float32'), dtype('int64'))
    >>> float(X.min()), float(X.max())  # doctest: +SKIP
    (0.0, 1.0)
    >>> X_train, X_test = X[:N_TRAIN], X[N_TRAIN:]  # doctest: +SKIP
    >>> y[:10]  # doctest: +SKIP
    array([5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    """
    dtype = _check_dtype(dtype)

    if data_home is not None:
        directory, origin = data_home, "data_home"
    else:
        directory = os.environ.get(MNIST_DIR_ENV) or None
        origin = f"the {MNIST_DIR_ENV} environment variable"

    if directory is not None:
        directory = Path(directory).expanduser()
        images, labels = _load_idx_dir(directory, origin)
        n_samples = sum(len(subset) for subset in images)
        X = np.empty((n_samples, _N_FEATURES), dtype=dtype)
        np.concatenate(images, axis=0, out=X, casting="safe")
        y = np.concatenate(labels).astype(np.int64)
        source = f"IDX files in {directory}"
    elif not download_if_missing:
        raise FileNotFoundError(
            f"No MNIST folder is configured and download_if_missing is False. "
            f"Set the {MNIST_DIR_ENV} environment variable, or pass data_home, "
            "to a folder holding the four original IDX files (raw or .gz): "
            f"{', '.join(_IDX_FILES.values())}."
        )
    else:
        X, y = _fetch_openml_mnist()
        # Copy when scaling in place below, not to modify fetch_openml's array.
        X = X.astype(dtype, copy=scale)
        source = (
            f"OpenML dataset {_OPENML_NAME!r}, version {_OPENML_VERSION} "
            "(https://www.openml.org/d/554)"
        )

    if scale:
        # Dividing, rather than multiplying by 1/255, maps 255 to exactly 1.0.
        X /= dtype.type(255)

    if return_X_y:
        return X, y

    return Bunch(
        data=X,
        target=y,
        feature_names=[f"pixel{i}" for i in range(1, _N_FEATURES + 1)],
        target_names=np.arange(_N_CLASSES),
        DESCR=_DESCR.format(source=source),
    )


def whiten_image(image, *, cutoff=0.4):
    """Flatten the power spectrum of an image, as the tutorial's images were.

    The tutorial's natural images (``IMAGES.mat``, from Olshausen and Field)
    were whitened by the filter :math:`R(f) = f \\exp(-(f / f_0)^4)` in the
    Fourier domain: the factor :math:`f` undoes the :math:`1/f` fall-off of
    the amplitude spectrum of natural images, the exponential removes the
    highest frequencies, where noise and aliasing dominate. The result is
    scaled to unit standard deviation.

    Parameters
    ----------
    image : array-like of shape (height, width) or (height, width, channels)
        The image; each channel is filtered on its own.

    cutoff : float, default=0.4
        The cut-off frequency :math:`f_0`, in cycles per pixel (the Nyquist
        frequency is 0.5).

    Returns
    -------
    whitened : ndarray of the shape of `image`, float64
        The whitened image, with mean 0 and standard deviation 1.

    References
    ----------
    B. A. Olshausen and D. J. Field, "Sparse coding with an overcomplete basis
    set: a strategy employed by V1?", Vision Research 37(23), 1997.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sae.datasets import whiten_image
    >>> image = np.random.RandomState(0).uniform(size=(32, 48))
    >>> whitened = whiten_image(image)
    >>> whitened.shape, round(float(whitened.std()), 6)
    ((32, 48), 1.0)
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 2:
        raise ValueError(
            "image must be of shape (height, width) or (height, width, channels) "
            f"with at least 2 rows and 2 columns, got shape {image.shape}."
        )
    if not np.all(np.isfinite(image)):
        raise ValueError("image must not contain NaN or infinity.")
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff!r}.")
    height, width = image.shape[:2]
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    f = np.hypot(fx, fy)
    response = f * np.exp(-((f / cutoff) ** 4))
    if image.ndim == 3:
        response = response[:, :, None]
    spectrum = np.fft.rfft2(image, axes=(0, 1)) * response
    whitened = np.fft.irfft2(spectrum, s=(height, width), axes=(0, 1))
    std = whitened.std()
    if std > 0:
        whitened /= std
    return whitened


@validate_params(
    {
        "n_patches": [Interval(Integral, 1, None, closed="left")],
        "patch_size": [Interval(Integral, 1, None, closed="left")],
        "color": ["boolean"],
        "whiten": ["boolean"],
        "normalize": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def load_natural_image_patches(
    n_patches=10_000,
    *,
    patch_size=8,
    color=False,
    whiten=True,
    normalize=True,
    random_state=None,
):
    """Sample square patches of natural images, prepared as in the tutorial.

    The images are the two photographs of
    :func:`sklearn.datasets.load_sample_images`, which need no download. Each
    patch is taken from an image and a position drawn uniformly at random, as
    the tutorial's ``sampleIMAGES.m`` does. The pixels are scaled into [0, 1]
    first (divided by 255); then, by default:

    1. each image is whitened (:func:`whiten_image`), which turns the
       photographs into images like the tutorial's ``IMAGES.mat``;
    2. the patches are normalised for the sigmoid decoder
       (:func:`sklearn_sae.preprocessing.normalize_patches`: each patch's
       mean removed, truncated to 3 standard deviations, rescaled into
       [0.1, 0.9]).

    With ``whiten=False, normalize=False`` the patches keep their raw values
    in [0, 1], the input of the tutorial's linear-decoder exercise, which
    whitens the patches themselves
    (:class:`~sklearn_sae.preprocessing.ZCAWhitener`).

    Parameters
    ----------
    n_patches : int, default=10000
        Number of patches.

    patch_size : int, default=8
        Height and width of the patches, in pixels.

    color : bool, default=False
        If False, the images are turned to grayscale (the mean of the three
        channels) and each patch has ``patch_size ** 2`` features; if True,
        each patch keeps its three channels, ``3 * patch_size ** 2`` features
        in the order of a ``(patch_size, patch_size, 3)`` image flattened in C
        order.

    whiten : bool, default=True
        Whiten each image (each channel on its own) before sampling.

    normalize : bool, default=True
        Apply the tutorial's patch normalisation after sampling.

    random_state : int, RandomState instance or None, default=None
        Draws the images and positions. Pass an int for reproducible output.

    Returns
    -------
    patches : ndarray of shape (n_patches, n_features), float64
        One patch per row; ``n_features`` is ``patch_size ** 2``, times 3 when
        ``color`` is True.

    See Also
    --------
    sklearn.feature_extraction.image.extract_patches_2d : All or random
        patches of one image.
    sklearn_sae.plotting.FilterDisplay : Shows filters learned from patches.

    Examples
    --------
    >>> from sklearn_sae.datasets import load_natural_image_patches
    >>> X = load_natural_image_patches(1000, random_state=0)
    >>> X.shape
    (1000, 64)
    >>> bool(X.min() >= 0.1 and X.max() <= 0.9)
    True
    """
    from sklearn.datasets import load_sample_images
    from sklearn.utils import check_random_state

    from .preprocessing import normalize_patches

    random_state = check_random_state(random_state)
    images = [image / 255.0 for image in load_sample_images().images]
    if not color:
        images = [image.mean(axis=2) for image in images]
    if whiten:
        images = [whiten_image(image) for image in images]
    smallest = min(min(image.shape[:2]) for image in images)
    if patch_size > smallest:
        raise ValueError(
            f"patch_size={patch_size} is larger than the smallest image side "
            f"({smallest} pixels)."
        )

    n_features = patch_size * patch_size * (3 if color else 1)
    patches = np.empty((n_patches, n_features))
    which = random_state.randint(len(images), size=n_patches)
    for index, image_index in enumerate(which):
        image = images[image_index]
        top = random_state.randint(image.shape[0] - patch_size + 1)
        left = random_state.randint(image.shape[1] - patch_size + 1)
        patches[index] = image[top : top + patch_size, left : left + patch_size].ravel()
    if normalize:
        patches = normalize_patches(patches, copy=False)
    return patches
