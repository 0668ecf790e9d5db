"""Parameter constraints on top of scikit-learn's."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval


class StrictInterval(Interval):
    """An :class:`~sklearn.utils._param_validation.Interval` for finite numbers only.

    Python counts ``True`` as the integer 1, so scikit-learn's ``Interval``
    accepts ``n_components=True`` or ``beta=False``. Passing a bool where a
    number is meant is almost always a mistake, so these constraints refuse it.
    They also refuse NaN and infinities, even where a bound is None (which
    scikit-learn's ``Interval`` reads as an infinite bound that a closed
    interval includes): no parameter of this package has a meaning at
    infinity.
    """

    def is_satisfied_by(self, val):
        if isinstance(val, bool | np.bool_):
            return False
        if (
            isinstance(val, Real)
            and not isinstance(val, Integral)
            and not math.isfinite(val)
        ):
            return False
        return super().is_satisfied_by(val)
