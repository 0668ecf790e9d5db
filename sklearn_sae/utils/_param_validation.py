"""Parameter constraints on top of scikit-learn's."""

import numpy as np
from sklearn.utils._param_validation import Interval


class StrictInterval(Interval):
    """An :class:`~sklearn.utils._param_validation.Interval` that rejects bools.

    Python counts ``True`` as the integer 1, so scikit-learn's ``Interval``
    accepts ``n_components=True`` or ``beta=False``. Passing a bool where a
    number is meant is almost always a mistake, so these constraints refuse it.
    """

    def is_satisfied_by(self, val):
        if isinstance(val, bool | np.bool_):
            return False
        return super().is_satisfied_by(val)
