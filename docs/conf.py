"""Sphinx configuration for the sklearn-sae documentation.

Build from the repository root with::

    sphinx-build -W -b html docs <output-folder>
"""

import re
import sys
from pathlib import Path

from docutils import nodes

# Document the package of this source tree, even when another copy of
# sklearn_sae is installed (an editable install elsewhere, for instance).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sklearn_sae

# -- Project information -----------------------------------------------------

project = "sklearn-sae"
author = "sklearn-sae developers"
copyright = "sklearn-sae developers"
version = sklearn_sae.__version__
release = sklearn_sae.__version__

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"

# autosummary writes one page per public name into generated/ (see api.rst);
# _templates/autosummary/class.rst lists a class's methods on its page.
autosummary_generate = True

# The class template lists the methods; numpydoc only renders the docstring
# sections, not a second members table.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Gallery ------------------------------------------------------------------
#
# sphinx-gallery runs every examples/plot_*.py during the build and fails it
# when one raises. MNIST examples read the folder in SKLEARN_SAE_MNIST_DIR, as
# .ci/run sets it.

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_sae",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_sae": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
}

# -- References to scikit-learn's documentation ------------------------------
#
# There is no intersphinx: the build must pass offline, where no inventory can
# be fetched. Cross-references to numpy, scipy and scikit-learn objects (such
# as :class:`~sklearn.preprocessing.MinMaxScaler`) then render as plain code
# text; they do not warn because the build is not nitpicky.
#
# Two kinds of references would warn, and are resolved here instead:
#
# - :term: roles, which the package's docstrings use, as scikit-learn's do, for
#   scikit-learn's glossary (:term:`fit`, :term:`Glossary <random_state>`).
#   This documentation has no glossary, so they link to scikit-learn's.
# - :ref: roles in the docstrings of methods inherited from scikit-learn
#   (set_output, get_metadata_routing, a classifier's score), which name labels
#   of scikit-learn's user guide, in the docstring itself or in the summary
#   line autosummary copies into a class's table of methods. They are rendered
#   as plain text.
#
# The handler runs after any other resolver (priority 900), so a glossary or
# intersphinx added later takes precedence.

SKLEARN_GLOSSARY_URL = "https://scikit-learn.org/stable/glossary.html#term-{}"


def _resolve_sklearn_references(app, env, node, contnode):
    if node.get("refdomain") != "std":
        return None
    reftype = node.get("reftype")
    if reftype == "term":
        # The anchor Sphinx gives a glossary term: runs of characters other
        # than letters, digits, "." and "_" become "-" (random_state ->
        # term-random_state, sample weight -> term-sample-weight).
        target = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(node["reftarget"].split()))
        reference = nodes.reference(
            "",
            "",
            internal=False,
            refuri=SKLEARN_GLOSSARY_URL.format(target),
            reftitle="scikit-learn glossary",
        )
        reference += contnode
        return reference
    source = node.source or ""
    if reftype == "ref" and (
        "docstring of sklearn." in source or source.endswith("<autosummary>")
    ):
        return contnode
    return None


def setup(app):
    app.connect("missing-reference", _resolve_sklearn_references, priority=900)


# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-sae {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
}
