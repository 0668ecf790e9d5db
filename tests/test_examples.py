"""Every script in examples/ runs to the end without a warning (needs matplotlib).

The examples take about a minute each, and the documentation build, which CI
runs, executes all of them through sphinx-gallery; here they run only with
``python -m pytest --run-examples``.
"""

import runpy
import warnings
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, monkeypatch, request):
    if not request.config.getoption("--run-examples"):
        pytest.skip("examples run in the docs build; pass --run-examples to run them")
    matplotlib = pytest.importorskip("matplotlib", reason="examples plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "import skimage" in path.read_text():
        pytest.importorskip("skimage", reason="the example's images (docs extra)")

    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # examples must run without warnings
        runpy.run_path(str(path), run_name="__main__")
    assert plt.get_fignums(), f"{path.name} drew no figure"
    plt.close("all")


def test_there_are_examples():
    assert EXAMPLES
    assert all(path.name.startswith("plot_") for path in EXAMPLES), (
        "sphinx-gallery runs only examples/plot_*.py"
    )
