"""The CPU's vector extensions, as the benchmarks print them."""

import subprocess


def cpu_features():
    """Name the widest of AVX-512 (with its first three flags) and AVX2."""
    flags = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split()
    avx = sorted({word for word in flags if word.startswith("avx512")})
    if avx:
        return "AVX-512 (" + " ".join(avx[:3]) + ")"
    return "AVX2" if "avx2" in flags else "no AVX2"
