"""Tests for sklearn_sae.datasets.load_mnist.

Most tests write small synthetic IDX files to a temporary folder; none of them
touches the network (fetch_openml is replaced in every test). One test reads
the real MNIST files when they are available.
"""

import doctest
import gzip
import hashlib
import struct
from urllib.error import URLError

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils import Bunch

from sklearn_sae import datasets
from sklearn_sae.datasets import MNIST_DIR_ENV, N_TRAIN, load_mnist

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
N_SMALL_TRAIN, N_SMALL_TEST = 4, 3


def idx_bytes(magic, array):
    """Serialize a uint8 array as IDX, with the given magic number."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_file(directory, name, content, gz):
    path = directory / (name + ".gz" if gz else name)
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


def make_small_mnist(directory, gz=True, seed=0):
    """Write four small IDX files; return the expected (pixels, labels)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    images, labels = {}, {}
    for subset, n in (("train", N_SMALL_TRAIN), ("test", N_SMALL_TEST)):
        images[subset] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels[subset] = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_file(
            directory,
            NAMES[subset, "images"],
            idx_bytes(IMAGES_MAGIC, images[subset]),
            gz,
        )
        write_file(
            directory,
            NAMES[subset, "labels"],
            idx_bytes(LABELS_MAGIC, labels[subset]),
            gz,
        )
    # Make sure both extremes occur, to check the scaling end points.
    images["train"][0, 0, 0] = 0
    images["train"][0, 0, 1] = 255
    write_file(
        directory,
        NAMES["train", "images"],
        idx_bytes(IMAGES_MAGIC, images["train"]),
        gz,
    )
    pixels = np.concatenate([images["train"], images["test"]]).reshape(-1, 784)
    return pixels, np.concatenate([labels["train"], labels["test"]])


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Unset the MNIST variable and make any call to fetch_openml fail."""
    monkeypatch.delenv(MNIST_DIR_ENV, raising=False)

    def forbidden(*args, **kwargs):
        pytest.fail("fetch_openml must not be called in this test")

    monkeypatch.setattr(datasets, "fetch_openml", forbidden)


@pytest.fixture
def small_mnist(tmp_path):
    directory = tmp_path / "mnist"
    pixels, labels = make_small_mnist(directory)
    return directory, pixels, labels


# Reading the IDX files


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_files(tmp_path, gz):
    pixels, labels = make_small_mnist(tmp_path, gz=gz)

    bunch = load_mnist(tmp_path)

    assert isinstance(bunch, Bunch)
    assert bunch.data.shape == (N_SMALL_TRAIN + N_SMALL_TEST, 784)
    assert bunch.data.dtype == np.float64
    assert bunch.data.flags.writeable
    assert_array_equal(bunch.data, pixels / 255.0)
    assert bunch.target.dtype == np.int64
    assert_array_equal(bunch.target, labels)
    assert bunch.feature_names == [f"pixel{i}" for i in range(1, 785)]
    assert_array_equal(bunch.target_names, np.arange(10))
    assert str(tmp_path) in bunch.DESCR


def test_row_major_pixel_order(tmp_path):
    """Pixel (row i, column j) of an image is feature 28 * i + j."""
    make_small_mnist(tmp_path)
    images = np.zeros((N_SMALL_TRAIN, 28, 28), dtype=np.uint8)
    images[0, 2, 5] = 255
    write_file(
        tmp_path, NAMES["train", "images"], idx_bytes(IMAGES_MAGIC, images), gz=True
    )

    X, _ = load_mnist(tmp_path, return_X_y=True)

    assert np.flatnonzero(X[0]).tolist() == [28 * 2 + 5]


def test_return_X_y(small_mnist):
    directory, pixels, labels = small_mnist

    result = load_mnist(directory, return_X_y=True)

    assert isinstance(result, tuple)
    X, y = result
    bunch = load_mnist(directory)
    assert_array_equal(X, bunch.data)
    assert_array_equal(y, bunch.target)
    assert_array_equal(X, pixels / 255.0)
    assert_array_equal(y, labels)


def test_data_home_accepts_str_and_user_path(tmp_path, monkeypatch):
    pixels, _ = make_small_mnist(tmp_path / "mnist")
    monkeypatch.setenv("HOME", str(tmp_path))

    X_str, _ = load_mnist(str(tmp_path / "mnist"), return_X_y=True)
    X_user, _ = load_mnist("~/mnist", return_X_y=True)

    assert_array_equal(X_str, pixels / 255.0)
    assert_array_equal(X_user, pixels / 255.0)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        ("float32", np.float32),
        (np.dtype("float64"), np.float64),
        (float, np.float64),
    ],
)
def test_dtype(small_mnist, dtype, expected):
    directory, pixels, _ = small_mnist

    X, y = load_mnist(directory, return_X_y=True, dtype=dtype)

    assert X.dtype == expected
    assert y.dtype == np.int64
    assert_array_equal(X, pixels.astype(expected) / expected(255))
    assert X.min() == 0.0
    assert X.max() == 1.0


@pytest.mark.parametrize(
    "dtype", [np.int64, np.uint8, "float16", np.complex128, None, "not a dtype"]
)
def test_invalid_dtype(small_mnist, dtype):
    directory, _, _ = small_mnist

    with pytest.raises(ValueError, match=r"dtype must be np\.float32 or np\.float64"):
        load_mnist(directory, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_scaling(small_mnist, dtype):
    directory, pixels, _ = small_mnist

    X, _ = load_mnist(directory, return_X_y=True, dtype=dtype, scale=False)

    assert X.dtype == dtype
    assert_array_equal(X, pixels)
    assert X.max() == 255.0


@pytest.mark.parametrize("param", ["return_X_y", "scale", "download_if_missing"])
def test_boolean_parameters_are_validated(small_mnist, param):
    directory, _, _ = small_mnist

    with pytest.raises(ValueError, match=param):
        load_mnist(directory, **{param: "yes"})


def test_gzipped_file_preferred_over_raw(tmp_path):
    """If both exist, the .gz file is read (here the raw one is corrupt)."""
    pixels, _ = make_small_mnist(tmp_path, gz=True)
    for name in NAMES.values():
        (tmp_path / name).write_bytes(b"garbage")

    X, _ = load_mnist(tmp_path, return_X_y=True, scale=False)

    assert_array_equal(X, pixels)


def test_raw_and_gzipped_files_can_be_mixed(tmp_path):
    pixels, labels = make_small_mnist(tmp_path, gz=False)
    raw = tmp_path / NAMES["test", "labels"]
    write_file(tmp_path, raw.name, raw.read_bytes(), gz=True)
    raw.unlink()

    X, y = load_mnist(tmp_path, return_X_y=True, scale=False)

    assert_array_equal(X, pixels)
    assert_array_equal(y, labels)


# Corrupt files


@pytest.mark.parametrize("key", list(NAMES))
@pytest.mark.parametrize("gz", [True, False])
def test_wrong_magic_number(tmp_path, key, gz):
    make_small_mnist(tmp_path, gz=gz)
    # Swap the magic numbers: an image file given as labels and vice versa.
    wrong = LABELS_MAGIC if key[1] == "images" else IMAGES_MAGIC
    write_file(tmp_path, NAMES[key], idx_bytes(wrong, np.zeros((3, 28, 28))), gz)

    with pytest.raises(ValueError, match=f"{NAMES[key]}.*magic number") as excinfo:
        load_mnist(tmp_path)
    expected = IMAGES_MAGIC if key[1] == "images" else LABELS_MAGIC
    assert f"expected 0x{expected:08X}" in str(excinfo.value)


def test_little_endian_header_is_rejected(tmp_path):
    make_small_mnist(tmp_path)
    labels = np.zeros(N_SMALL_TRAIN, dtype=np.uint8)
    content = struct.pack("<II", LABELS_MAGIC, N_SMALL_TRAIN) + labels.tobytes()
    write_file(tmp_path, NAMES["train", "labels"], content, gz=True)

    with pytest.raises(ValueError, match="magic number 0x01080000"):
        load_mnist(tmp_path)


def test_gzipped_file_without_gz_suffix(tmp_path):
    make_small_mnist(tmp_path, gz=False)
    path = tmp_path / NAMES["train", "images"]
    path.write_bytes(gzip.compress(path.read_bytes()))

    with pytest.raises(ValueError, match="looks gzip-compressed"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("key", list(NAMES))
@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("change", ["drop_last_byte", "extra_byte", "header_only"])
def test_wrong_file_length(tmp_path, key, gz, change):
    make_small_mnist(tmp_path, gz=gz)
    path = tmp_path / (NAMES[key] + (".gz" if gz else ""))
    content = path.read_bytes()
    content = gzip.decompress(content) if gz else content
    if change == "drop_last_byte":
        content = content[:-1]
    elif change == "extra_byte":
        content += b"\x00"
    else:
        content = content[:6]  # shorter than the header itself
    write_file(tmp_path, NAMES[key], content, gz)

    with pytest.raises(ValueError, match=f"{NAMES[key]}.* truncated"):
        load_mnist(tmp_path)


def test_truncated_gzip_stream(tmp_path):
    make_small_mnist(tmp_path, gz=True)
    path = tmp_path / (NAMES["train", "images"] + ".gz")
    path.write_bytes(path.read_bytes()[:-20])

    with pytest.raises(ValueError, match=f"{path.name} is not a valid gzip file"):
        load_mnist(tmp_path)


def test_empty_file(tmp_path):
    make_small_mnist(tmp_path, gz=False)
    (tmp_path / NAMES["test", "labels"]).write_bytes(b"")

    with pytest.raises(ValueError, match=f"{NAMES['test', 'labels']} is truncated"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("subset", ["train", "test"])
def test_image_and_label_counts_must_agree(tmp_path, subset):
    make_small_mnist(tmp_path)
    n = N_SMALL_TRAIN if subset == "train" else N_SMALL_TEST
    labels = np.zeros(n + 1, dtype=np.uint8)
    write_file(
        tmp_path, NAMES[subset, "labels"], idx_bytes(LABELS_MAGIC, labels), gz=True
    )

    with pytest.raises(ValueError, match=f"{subset} set has {n} images.* {n + 1}"):
        load_mnist(tmp_path)


def test_image_size_must_be_28_by_28(tmp_path):
    make_small_mnist(tmp_path)
    images = np.zeros((N_SMALL_TEST, 28, 27), dtype=np.uint8)
    write_file(
        tmp_path, NAMES["test", "images"], idx_bytes(IMAGES_MAGIC, images), gz=True
    )

    with pytest.raises(ValueError, match=r"shape \(28, 27\), expected \(28, 28\)"):
        load_mnist(tmp_path)


def test_labels_must_be_digits(tmp_path):
    make_small_mnist(tmp_path)
    labels = np.array([1, 2, 10, 3], dtype=np.uint8)
    write_file(
        tmp_path, NAMES["train", "labels"], idx_bytes(LABELS_MAGIC, labels), gz=True
    )

    with pytest.raises(ValueError, match="the label 10"):
        load_mnist(tmp_path)


# Missing files and the environment variable


def test_missing_files_with_explicit_data_home(tmp_path):
    with pytest.raises(FileNotFoundError) as excinfo:
        load_mnist(tmp_path)

    message = str(excinfo.value)
    assert "data_home" in message
    assert str(tmp_path) in message
    for name in NAMES.values():
        assert f"{name}[.gz]" in message


def test_one_missing_file_is_named(tmp_path):
    make_small_mnist(tmp_path)
    (tmp_path / (NAMES["test", "images"] + ".gz")).unlink()

    with pytest.raises(
        FileNotFoundError,
        match=r"lacks some of .* Missing: t10k-images-idx3-ubyte\[\.gz\]\.$",
    ):
        load_mnist(tmp_path)


def test_data_home_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_data_home_that_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("")

    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_mnist(path)


def test_environment_variable(small_mnist, monkeypatch):
    directory, pixels, labels = small_mnist
    monkeypatch.setenv(MNIST_DIR_ENV, str(directory))

    bunch = load_mnist()

    assert_array_equal(bunch.data, pixels / 255.0)
    assert_array_equal(bunch.target, labels)
    assert str(directory) in bunch.DESCR


def test_data_home_takes_precedence_over_environment(
    small_mnist, tmp_path, monkeypatch
):
    directory, pixels, _ = small_mnist
    empty = tmp_path / "empty"
    empty.mkdir()

    monkeypatch.setenv(MNIST_DIR_ENV, str(empty))
    X, _ = load_mnist(directory, return_X_y=True)
    assert_array_equal(X, pixels / 255.0)

    monkeypatch.setenv(MNIST_DIR_ENV, str(directory))
    with pytest.raises(FileNotFoundError, match="given by data_home"):
        load_mnist(empty)


def test_environment_variable_without_files_does_not_download(tmp_path, monkeypatch):
    monkeypatch.setenv(MNIST_DIR_ENV, str(tmp_path))

    # The autouse fixture makes the test fail if fetch_openml is called.
    with pytest.raises(FileNotFoundError, match=f"given by the {MNIST_DIR_ENV}"):
        load_mnist()


def test_no_folder_and_download_disabled():
    with pytest.raises(FileNotFoundError, match=MNIST_DIR_ENV) as excinfo:
        load_mnist(download_if_missing=False)
    assert "download_if_missing is False" in str(excinfo.value)


# Fallback to OpenML


def fake_openml(pixels, labels, calls):
    """A stand-in for fetch_openml returning data as the liac-arff parser does."""

    def fetch_openml(*args, **kwargs):
        calls.append((args, kwargs))
        X = pixels.astype(np.float64)
        y = np.array([str(label) for label in labels], dtype=object)
        return (X, y) if kwargs.get("return_X_y") else Bunch(data=X, target=y)

    return fetch_openml


@pytest.mark.parametrize("empty_env", [False, True])
def test_openml_fallback(small_mnist, monkeypatch, empty_env):
    _, pixels, labels = small_mnist  # the folder is not passed: no local files
    calls = []
    monkeypatch.setattr(datasets, "fetch_openml", fake_openml(pixels, labels, calls))
    if empty_env:  # an empty variable counts as unset
        monkeypatch.setenv(MNIST_DIR_ENV, "")

    bunch = load_mnist()

    assert len(calls) == 1
    args, kwargs = calls[0]
    assert (args[0] if args else kwargs["name"]) == "mnist_784"
    assert kwargs["version"] == 1
    assert kwargs["as_frame"] is False
    assert kwargs["parser"] == "liac-arff"
    assert "openml" in bunch.DESCR.lower()
    assert bunch.feature_names == [f"pixel{i}" for i in range(1, 785)]
    assert bunch.target.dtype == np.int64
    assert_array_equal(bunch.target, labels)
    assert_array_equal(bunch.data, pixels / 255.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [True, False])
def test_openml_and_idx_files_give_identical_results(
    small_mnist, monkeypatch, dtype, scale
):
    directory, pixels, labels = small_mnist
    X_idx, y_idx = load_mnist(directory, return_X_y=True, dtype=dtype, scale=scale)
    monkeypatch.setattr(datasets, "fetch_openml", fake_openml(pixels, labels, []))

    X_openml, y_openml = load_mnist(return_X_y=True, dtype=dtype, scale=scale)

    assert X_openml.dtype == X_idx.dtype == dtype
    assert y_openml.dtype == y_idx.dtype == np.int64
    assert_array_equal(X_openml, X_idx)
    assert_array_equal(y_openml, y_idx)


def test_openml_fallback_does_not_modify_fetched_array(monkeypatch):
    fetched = np.full((2, 784), 255.0)
    monkeypatch.setattr(
        datasets, "fetch_openml", lambda *a, **k: (fetched, np.array(["1", "2"]))
    )

    X, _ = load_mnist(return_X_y=True)

    assert X.max() == 1.0
    assert fetched.max() == 255.0


def test_openml_failure_explains_how_to_use_local_files(monkeypatch):
    original = URLError("no network")

    def failing_fetch(*args, **kwargs):
        raise original

    monkeypatch.setattr(datasets, "fetch_openml", failing_fetch)

    with pytest.raises(OSError, match=MNIST_DIR_ENV) as excinfo:
        load_mnist()

    message = str(excinfo.value)
    assert "data_home" in message
    assert "no network" in message
    for name in NAMES.values():
        assert name in message
    assert excinfo.value.__cause__ is original


def test_openml_result_with_unexpected_shape(monkeypatch):
    monkeypatch.setattr(
        datasets,
        "fetch_openml",
        lambda *a, **k: (np.zeros((2, 783)), np.array(["1", "2"], dtype=object)),
    )

    with pytest.raises(ValueError, match=r"shape \(2, 783\)"):
        load_mnist()


def test_openml_labels_must_be_digits(monkeypatch):
    monkeypatch.setattr(
        datasets,
        "fetch_openml",
        lambda *a, **k: (np.zeros((2, 784)), np.array(["1", "12"], dtype=object)),
    )

    with pytest.raises(ValueError, match="labels outside"):
        load_mnist()


def test_docstring_examples_run():
    """The Examples run without MNIST: the lines loading data are skipped."""
    result = doctest.testmod(datasets, optionflags=doctest.ELLIPSIS)

    assert result.attempted > 0
    assert result.failed == 0


# Real data


def test_real_mnist(mnist_dir):
    bunch = load_mnist(mnist_dir)
    X, y = bunch.data, bunch.target

    assert X.shape == (70_000, 784)
    assert X.dtype == np.float64
    assert y.shape == (70_000,)
    assert y.dtype == np.int64
    assert X.min() == 0.0
    assert X.max() == 1.0
    # The well-known class counts of the training and test sets, in this order.
    assert N_TRAIN == 60_000
    assert_array_equal(
        np.bincount(y[:N_TRAIN], minlength=10),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    )
    assert_array_equal(
        np.bincount(y[N_TRAIN:], minlength=10),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    )
    assert_array_equal(y[:8], [5, 0, 4, 1, 9, 2, 1, 3])
    assert_array_equal(y[N_TRAIN : N_TRAIN + 8], [7, 2, 1, 0, 4, 1, 4, 9])
    # The usual normalization constants of the scaled training set.
    assert X[:N_TRAIN].mean() == pytest.approx(0.1307, abs=1e-4)
    assert X[:N_TRAIN].std() == pytest.approx(0.3081, abs=1e-4)

    X32, y32 = load_mnist(mnist_dir, return_X_y=True, dtype=np.float32)
    assert X32.dtype == np.float32
    assert_array_equal(X32, X.astype(np.float32))
    assert_array_equal(y32, y)


def test_real_mnist_checksums(mnist_dir):
    sums = mnist_dir / "SHA256SUMS"
    if not sums.is_file():
        pytest.skip(f"no SHA256SUMS file in {mnist_dir}")

    expected = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            expected[name.lstrip("*")] = digest
    gz_names = [name + ".gz" for name in NAMES.values()]
    if not all((mnist_dir / name).is_file() for name in gz_names):
        pytest.skip(f"the .gz files are not all in {mnist_dir}")

    for name in gz_names:
        assert name in expected, f"{name} is not listed in {sums}"
        digest = hashlib.sha256((mnist_dir / name).read_bytes()).hexdigest()
        assert digest == expected[name], f"checksum mismatch for {name}"
