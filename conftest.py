"""Collection settings for the package's doctests.

``sklearn_sae/_dask_rows.py`` imports dask at the top and is imported only
when an estimator meets a dask array; without the optional ``dask`` extra its
doctests cannot be collected. The example of ``set_callbacks`` needs
scikit-learn's callback API (scikit-learn 1.9 or later).
"""

import importlib.util

import pytest

collect_ignore = []
if not all(importlib.util.find_spec(name) for name in ("dask", "distributed")):
    collect_ignore.append("sklearn_sae/_dask_rows.py")


def _has_callback_api():
    try:
        return importlib.util.find_spec("sklearn.callback") is not None
    except ModuleNotFoundError:
        return False


def pytest_collection_modifyitems(config, items):
    if _has_callback_api():
        return
    skip = pytest.mark.skip(reason="needs sklearn.callback (scikit-learn 1.9+)")
    for item in items:
        if item.name.endswith(".set_callbacks"):
            item.add_marker(skip)
