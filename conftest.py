"""Collection settings for the package's doctests.

``sklearn_sae/_dask_rows.py`` imports dask at the top and is imported only
when an estimator meets a dask array; without the optional ``dask`` extra its
doctests cannot be collected.
"""

import importlib.util

collect_ignore = []
if not all(importlib.util.find_spec(name) for name in ("dask", "distributed")):
    collect_ignore.append("sklearn_sae/_dask_rows.py")
