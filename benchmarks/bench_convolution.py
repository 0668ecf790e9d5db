"""ConvolutionalFeatures.transform on MNIST against its floor.

The transform of the 70,000 MNIST images (float32, 28x28) by 200 filters of
8x8 at stride 1 (441 window positions per image, 30.9 million patch rows),
mean or max pooling over a 3x3 grid (``--pooling``, both by default),
against the floor: the product of all patch rows by the filters, with the
patch rows (im2col) and the result preallocated and only the matrix products
timed. The 30.9 million rows do not fit in memory at once (7.9 GB of patch
rows, 24.7 GB of products), so the floor runs the product in blocks of
images, the same preallocated block every time, which is the product's cost
alone. Small blocks keep the product's output in the caches, large ones
make fewer calls: the floor is the best over blocks of ``--floor-blocks``
images (500, 20 and 4 by default) and of the transform's batch sizes, and over
two ways of using the cores: one loop with BLAS threads, and one thread per
core sharing the blocks with single-threaded BLAS. Each pooling's transform
is timed with ``n_jobs=1`` (batches one after the other, BLAS on all cores)
and the default ``n_jobs=None`` (batches on as many threads as BLAS may use,
BLAS single-threaded), both with the default batch size. ``--batch-sizes``
adds timings with ``n_jobs=None`` and those numbers of images per batch, for
comparison.

Mean pooling needs the sigmoid at every window position, before the
pooling. For scale, the products followed by that sigmoid as the transform
computes it (NumPy's float32 ``exp``, ``+ 1`` and reciprocal, in place on
each block's products) are timed too, with one thread per core, in blocks
of the transform's default batch size and of the smallest floor block:
where mean pooling's transform, made of NumPy calls, starts from.

The floors and the transforms take turns on slices of ``--slice`` images
(5,000 by default): each round times every way of the floor and every
transform on the first slice, then on the next, and so on, and a round's
time of each is the sum over its slices, the 70,000 images. A machine that
slows down or speeds up for longer than one turn over a slice slows or
speeds all of them alike. Two ratios are printed for each pooling, with the
default batch size: the ratio of the best times, the transform's best round
(of ``2 * repeats``, with both ``n_jobs``) over the floor's best round (of
one per block size and way in each round, 6 per round by default), which
favours the floor, having more draws; and the paired ratio, the median over
the rounds of the transform's best time in the round over the floor's best
time in the same round. Run from the repository root::

    python benchmarks/bench_convolution.py

``--quick`` uses 7,000 images.
"""

import argparse
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from _cpu import cpu_features
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_sae import ConvolutionalFeatures, SparseAutoencoder
from sklearn_sae._objective import _logistic_of_negated
from sklearn_sae.datasets import load_mnist


def floor(n_images, W, block, n_threads, sigmoid=False):
    """Seconds of the products of every patch row by the filters.

    With ``n_threads`` None, one loop over blocks with BLAS on all cores;
    else that many threads share the blocks, each with its own preallocated
    arrays and single-threaded BLAS. With ``sigmoid``, each block's products
    then go through the sigmoid as mean pooling computes it, in place.
    """
    positions = 21 * 21
    WT = np.ascontiguousarray(W.T)
    starts = list(range(0, n_images, block))

    def run(my_starts):
        rng = np.random.RandomState(0)
        cols = rng.uniform(size=(block * positions, W.shape[1])).astype(W.dtype)
        out = np.empty((block * positions, W.shape[0]), dtype=W.dtype)
        begin = time.perf_counter()
        for first in my_starts:
            rows = (min(first + block, n_images) - first) * positions
            np.matmul(cols[:rows], WT, out=out[:rows])
            if sigmoid:
                _logistic_of_negated(out[:rows])
        return begin, time.perf_counter()

    if n_threads is None:
        begin, end = run(starts)
        return end - begin
    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(n_threads) as executor,
    ):
        spans = list(
            executor.map(run, [starts[i::n_threads] for i in range(n_threads)])
        )
    return max(end for _, end in spans) - min(begin for begin, _ in spans)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="MNIST IDX directory")
    parser.add_argument("--quick", action="store_true", help="7,000 images")
    parser.add_argument("--n-components", type=int, default=200)
    parser.add_argument(
        "--floor-blocks", type=int, nargs="+", default=[500, 20, 4], help="images"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slice", type=int, default=5000, help="images")
    parser.add_argument(
        "--pooling", nargs="+", choices=["mean", "max"], default=["mean", "max"]
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="*",
        default=[],
        help="images per batch to compare with the default, n_jobs=None",
    )
    args = parser.parse_args(argv)

    X, _ = load_mnist(args.data_home, return_X_y=True, dtype=np.float32)
    if args.quick:
        X = X[:7000]
    blas = {(m["internal_api"], m["num_threads"]) for m in threadpool_info()}
    print(
        f"MNIST {X.shape[0]} images of 28x28, float32; {args.n_components} "
        f"filters of 8x8, stride 1, pooling over a 3x3 grid"
    )
    print(
        f"CPU: {cpu_features()}, {os.cpu_count()} cores, BLAS {sorted(blas)}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    conv = ConvolutionalFeatures(
        SparseAutoencoder(n_components=args.n_components, max_iter=10),
        image_shape=(28, 28),
        patch_size=8,
        pooling_grid=(3, 3),
        n_patches=10_000,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        conv.fit(X[:10_000])
    W = conv.patch_model_.components_
    assert conv._encoder is not None  # the matrix-product path

    default = conv._batch_shape(4)[0]
    blocks = sorted({*args.floor_blocks, default, *args.batch_sizes}, reverse=True)
    ways = (None, os.cpu_count())  # BLAS threads, or threads
    floors = {(n_threads, block): [] for block in blocks for n_threads in ways}
    # The products and mean pooling's sigmoid, the way the transform runs.
    sigmoids = {block: [] for block in sorted({default, min(blocks)}, reverse=True)}
    # (n_jobs, batch_size) of each timing; None is the default.
    variants = [(1, None), (None, None)] + [(None, b) for b in args.batch_sizes]
    times = {(pooling, *v): [] for pooling in args.pooling for v in variants}
    for _ in range(args.repeats):
        for seconds in (*floors.values(), *sigmoids.values(), *times.values()):
            seconds.append(0.0)
        for first in range(0, X.shape[0], args.slice):
            X_slice = X[first : first + args.slice]
            for (n_threads, block), seconds in floors.items():
                seconds[-1] += floor(X_slice.shape[0], W, block, n_threads)
            for block, seconds in sigmoids.items():
                seconds[-1] += floor(
                    X_slice.shape[0], W, block, os.cpu_count(), sigmoid=True
                )
            for pooling, n_jobs, batch_size in times:
                conv.set_params(pooling=pooling, n_jobs=n_jobs, batch_size=batch_size)
                start = time.perf_counter()
                conv.transform(X_slice)
                times[pooling, n_jobs, batch_size][-1] += time.perf_counter() - start
    for (n_threads, block), seconds in floors.items():
        way = "BLAS threads" if n_threads is None else "threads"
        way = f"{way}, blocks of {block} images"
        print(f"floor, products only, {way:<39} {min(seconds):7.2f} s")
    t_floor = min(min(seconds) for seconds in floors.values())
    round_floors = np.min(list(floors.values()), axis=0)
    for block, seconds in sigmoids.items():
        way = f"threads, blocks of {block} images"
        print(
            f"products and the sigmoid, {way:<32} {min(seconds):7.2f} s   "
            f"{min(seconds) / t_floor:.2f}x the floor"
        )
    round_sigmoids = np.min(list(sigmoids.values()), axis=0)
    for pooling in args.pooling:
        for n_jobs, batch_size in variants:
            seconds = min(times[pooling, n_jobs, batch_size])
            size = f"{default} (default)" if batch_size is None else batch_size
            print(
                f"transform, {pooling:<4} pooling, n_jobs={n_jobs!s:<4} batch_size "
                f"{size!s:<13} {seconds:7.2f} s   {seconds / t_floor:.2f}x the floor"
            )
        rounds = np.min([times[pooling, n_jobs, None] for n_jobs in (1, None)], axis=0)
        paired = rounds / round_floors
        print(
            f"{pooling} pooling, default batch size, each round's best transform "
            f"/ its best floor: {', '.join(f'{r:.2f}' for r in paired)}"
        )
        print(
            f"transform / floor, {pooling} pooling, default batch size "
            f"(target 1.5, moonshot 1.3): best times {rounds.min() / t_floor:.2f}, "
            f"paired {np.median(paired):.2f}"
        )
        if pooling == "mean":
            print(
                "products and the sigmoid / floor, paired "
                f"{np.median(round_sigmoids / round_floors):.2f}; transform, mean "
                "pooling / products and the sigmoid, paired "
                f"{np.median(rounds / round_sigmoids):.2f}"
            )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
