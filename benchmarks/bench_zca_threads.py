"""What single-threaded BLAS costs ZCAWhitener.

``ZCAWhitener`` runs its covariance products, its eigendecomposition and its
whitening products with BLAS limited to one thread (``single_threaded_blas``),
so that its results do not depend on the number of BLAS threads. This script
times, in one run, on the same data:

- ``package``: ``ZCAWhitener`` as it is;
- ``baseline``: the same code with BLAS left at its default thread count
  (``single_threaded_blas`` replaced by a context that does nothing).

For each shape it prints the seconds of ``fit`` and of ``transform``
(float64, a copy of the input each time), each the smaller of two medians of
``--repeats`` runs (the two configurations alternate, so that a change of
load on the machine affects both), and the ratio package / baseline (above 1:
the limit costs that factor). The small shapes show the fixed cost of
limiting the thread pools once per call.

Run from the repository root::

    python benchmarks/bench_zca_threads.py
"""

import argparse
import contextlib
import platform
import re
import time

import numpy as np
from threadpoolctl import threadpool_info

import sklearn_sae.preprocessing as preprocessing
from sklearn_sae.preprocessing import ZCAWhitener

# (n_samples, n_features): one row and a small batch of 8x8 patches, the
# digits' size, 8x8 colour patches (the tutorial's linear decoder exercise
# whitens 100000 of them) and MNIST's training set.
SHAPES = [(1, 64), (100, 64), (7188, 64), (100000, 192), (60000, 784)]


def _cpu():
    """The CPU's name and its first AVX-512 features (else AVX2), as lscpu's."""
    name, flags = platform.processor() or "unknown CPU", ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        text = f.read()
        match = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
        name = match.group(1) if match else name
        match = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
        flags = match.group(1) if match else ""
    avx512 = re.findall(r"\bavx512[a-z]*", flags)[:3]
    if avx512:
        return name, " ".join(avx512)
    return name, "avx2" if re.search(r"\bavx2\b", flags) else "no AVX2"


def _median_time(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _measure(X, repeats):
    """Median seconds of fit and of transform, with the module as it stands."""
    zca = ZCAWhitener().fit(X)
    fit = _median_time(lambda: ZCAWhitener().fit(X), repeats)
    transform = _median_time(lambda: zca.transform(X), repeats)
    return fit, transform


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    name, features = _cpu()
    print(f"CPU: {name} ({features})")
    for pool in threadpool_info():
        if pool["user_api"] == "blas":
            print(
                f"BLAS: {pool['internal_api']} {pool.get('version')} "
                f"({pool.get('architecture')}), {pool['num_threads']} threads, "
                f"{pool['filepath']}"
            )
    print(
        f"seconds, the smaller of two medians of {args.repeats} runs; "
        "ratio = package / baseline"
    )
    print(
        f"{'shape':>14} {'fit pkg':>9} {'fit base':>9} {'ratio':>6} "
        f"{'tr pkg':>9} {'tr base':>9} {'ratio':>6}"
    )
    rng = np.random.RandomState(0)
    limit = preprocessing.single_threaded_blas
    for n_samples, n_features in SHAPES:
        X = rng.rand(n_samples, n_features)
        results = {}
        for which in ("package", "baseline", "package", "baseline"):
            preprocessing.single_threaded_blas = (
                limit if which == "package" else contextlib.nullcontext
            )
            try:
                fit, transform = _measure(X, args.repeats)
            finally:
                preprocessing.single_threaded_blas = limit
            results.setdefault(which, []).append((fit, transform))
        pkg = np.min(results["package"], axis=0)
        base = np.min(results["baseline"], axis=0)
        print(
            f"{f'{n_samples}x{n_features}':>14} {pkg[0]:9.2e} {base[0]:9.2e} "
            f"{pkg[0] / base[0]:6.2f} {pkg[1]:9.2e} {base[1]:9.2e} "
            f"{pkg[1] / base[1]:6.2f}"
        )


if __name__ == "__main__":
    main()
