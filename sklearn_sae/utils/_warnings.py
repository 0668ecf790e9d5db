"""Warnings that point at the user's code."""

import os
import sys
import warnings
from pathlib import Path

import joblib
import sklearn

# Frames in these folders are the libraries', not the user's: this package's,
# and scikit-learn's and joblib's, which call the estimators from a Pipeline
# or a search.
_LIBRARY_DIRS = tuple(
    os.path.join(folder, "")
    for folder in (
        str(Path(__file__).resolve().parents[1]),
        *(str(Path(module.__file__).resolve().parent) for module in (sklearn, joblib)),
    )
)


def _in_library(filename):
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return path.startswith(_LIBRARY_DIRS)


def warn_user(message, category):
    """``warnings.warn`` attributed to the first caller outside the libraries.

    The estimators of this package call each other (a stack fits its layers)
    and are called by scikit-learn (a Pipeline, a search); the warning names
    the line of user code that started the fit, whatever the depth between.
    """
    # Level 1 is this function's frame, level 2 its caller's.
    frame = sys._getframe(1)
    level = 2
    while frame is not None and _in_library(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    if frame is None:  # called from the libraries alone
        level = 2
    warnings.warn(message, category, stacklevel=level)
